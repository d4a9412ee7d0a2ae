package access_test

// This file builds the benchmark world of docs/benchmarks.md in memory: the
// model of internal/worldgen (the one `portcullis bench gen` writes) as an
// access.Snapshot, and the record metadata the decision benchmarks draw
// their questions from. Nothing here runs during plain `go test`: the
// worlds are built lazily, on first use by a benchmark (or, for a reduced
// small world, by TestGenWorld).

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/worldgen"
)

// worldSize is one column of the dataset table of docs/benchmarks.md.
type worldSize = worldgen.Size

var (
	sizeSmall  = worldgen.Small
	sizeMedium = worldgen.Medium
	sizeLarge  = worldgen.Large
)

// maxInProcessRecords caps the records generated in memory. The engine keeps
// no records: Allowed and Check are handed the record (and a RecordSource
// for its parent), so the cost of one decision does not depend on how many
// records the store holds. A million records is enough for the drawn records
// and their parents to miss the CPU caches as they would in a server.
const maxInProcessRecords = 1_000_000

// worldSeed is the default seed, as for `portcullis bench gen`.
const worldSeed = 1

// Named users and groups the benchmarks address directly, besides the
// named users of worldgen (userSingle, userDistributor, userMulti50). They
// exist in every size.
const (
	userSingle      = worldgen.UserSingle
	userDistributor = worldgen.UserDistributor
	userMulti50     = worldgen.UserMulti50

	benchTeam = "bench-team" // a group of teamSize ordinary users
	teamSize  = 1_000

	// userWide holds L20 on enough customers (then distributors) for its
	// active grants to reach at least wideReach accounts.
	userWide  = "bench-wide"
	wideReach = 1_000
)

// benchEpoch is "now" for the generated world: record dates span the three
// years before it, days_back and validity are relative to it. Engines run
// on a clock that starts there and then ticks in real time (see newEngine).
var benchEpoch = time.Date(2026, time.January, 15, 12, 0, 0, 0, time.UTC)

// benchWorld is a generated world: the model, the records, and the indexes
// used to draw realistic questions.
type benchWorld struct {
	size worldSize
	snap access.Snapshot
	// records are the generated records; src looks them up by reference.
	records []access.Record
	src     access.RecordMap
	// children lists each account's child ids.
	children map[string][]string
	// byOwner lists, per account, the indexes of the records it owns, owns
	// through a parent (shipments, payments) or holds a team entry on.
	byOwner map[string][]int32
	// reach lists, per user, the accounts its grants name (direct or
	// through a group), active or not.
	reach map[string][]reach
	// external lists the external user ids, named users included.
	external []string
	// groupGrants counts the account groups' default grants.
	groupGrants int
}

type reach struct {
	account string
	subtree bool
}

// question is one (user, record) pair of a decision benchmark.
type question struct {
	user string
	rec  *access.Record
}

// gen is the state of one generation: the model of worldgen, which
// `portcullis bench gen` writes to a database, turned into an engine
// snapshot, plus what only the engine benchmarks need (userWide, the team,
// two staff users) and the records.
type gen struct {
	rng  *rand.Rand
	m    *worldgen.Model
	w    *benchWorld
	pol  *policy.Policy
	acct map[string]int // account id → index in snap.Accounts

	grantSeq int
	days     []string // "YYYY-MM-DD" of benchEpoch minus i days
}

// genWorld builds the world of the given size from seed, with nRecords
// records. Equal arguments give equal worlds.
func genWorld(size worldSize, seed uint64, nRecords int) *benchWorld {
	g := &gen{
		rng: rand.New(rand.NewPCG(seed, 0x5eed_0f_90_27c0)),
		m:   worldgen.NewModel(size, seed, benchEpoch),
		w: &benchWorld{size: size, byOwner: map[string][]int32{},
			reach: map[string][]reach{}},
		pol:  policy.Default(),
		acct: map[string]int{},
		days: worldgen.Days(benchEpoch),
	}
	g.load()
	g.genExtras()
	g.genRecords(nRecords)
	return g.w
}

// chance reports true with probability p.
func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

func (g *gen) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// load turns the model into the snapshot: the accounts, the account group
// and default grant of every account whose switch is on (as switching
// external access on creates them), the users, memberships and direct
// grants, with ids and timestamps as a store would give them.
func (g *gen) load() {
	w, m := g.w, g.m
	w.children = m.Children
	for _, a := range m.Accounts {
		g.acct[a.ID] = len(w.snap.Accounts)
		w.snap.Accounts = append(w.snap.Accounts, a)
		if !a.ExternalAccess {
			continue
		}
		gid := access.AccountGroupID(a.ID)
		w.snap.Groups = append(w.snap.Groups, access.Group{ID: gid, Name: a.Name + " external users", Account: a.ID})
		w.snap.Grants = append(w.snap.Grants, access.Grant{ID: "ga:" + a.ID, Principal: "group:" + gid, Account: a.ID,
			Role: g.pol.DefaultGroupRole.Name, Scope: access.ScopeSubtree, Access: access.AccessReadWrite,
			CreatedAt: benchEpoch, UpdatedAt: benchEpoch})
		w.groupGrants++
	}
	for _, u := range m.Users {
		w.snap.Users = append(w.snap.Users, u)
		w.external = append(w.external, u.ID)
	}
	w.snap.Members = append(w.snap.Members, m.Members...)
	for _, gr := range m.Grants {
		g.addGrant(gr)
	}
	// What account groups' grants reach, per member.
	for _, mb := range m.Members {
		w.reach[mb[1]] = append(w.reach[mb[1]], reach{mb[0][len("acct:"):], true})
	}
}

// addGrant adds a direct user grant with the next id.
func (g *gen) addGrant(gr access.Grant) {
	g.grantSeq++
	gr.ID = fmt.Sprintf("gr%07d", g.grantSeq)
	gr.CreatedBy, gr.CreatedAt, gr.UpdatedAt = "staff-admin", benchEpoch, benchEpoch
	g.w.snap.Grants = append(g.w.snap.Grants, gr)
	user := gr.Principal[len("user:"):]
	g.w.reach[user] = append(g.w.reach[user], reach{gr.Account, gr.Scope == access.ScopeSubtree})
}

// genExtras adds what only the engine benchmarks use: userWide with L20
// grants on customers, then distributors, until they reach wideReach
// accounts; the team of teamSize ordinary users; two staff users.
func (g *gen) genExtras() {
	w, m := g.w, g.m
	home := m.Customers[2]
	w.snap.Users = append(w.snap.Users, access.User{ID: userWide, Kind: access.KindExternal, Name: "User " + userWide,
		Email: userWide + "@bench.example", HomeAccount: home, Status: access.StatusActive})
	w.external = append(w.external, userWide)
	var wide []string
	for _, i := range g.rng.Perm(len(m.Customers)) {
		wide = append(wide, m.Customers[i])
	}
	for _, i := range g.rng.Perm(len(m.Distributors)) {
		wide = append(wide, m.Distributors[i])
	}
	for reached, i := 0, 0; reached < wideReach && i < len(wide); i++ {
		if a := wide[i]; m.Account(a).ExternalAccess {
			g.addGrant(access.Grant{Principal: "user:" + userWide, Account: a, Role: "L20",
				Scope: access.ScopeSubtree, Access: access.AccessReadWrite})
			reached += 1 + g.subtreeSize(a)
		}
	}

	w.snap.Groups = append(w.snap.Groups, access.Group{ID: benchTeam, Name: "Benchmark team"})
	for _, i := range g.rng.Perm(len(m.Ordinary))[:min(teamSize, len(m.Ordinary))] {
		w.snap.Members = append(w.snap.Members, [2]string{benchTeam, m.Users[m.Ordinary[i]].ID})
	}

	w.snap.Users = append(w.snap.Users,
		access.User{ID: "staff-admin", Kind: access.KindInternal, Name: "Admin", Email: "admin@supplier.example",
			Status: access.StatusActive, StaffRole: access.StaffAdmin},
		access.User{ID: "staff-auditor", Kind: access.KindInternal, Name: "Auditor", Email: "auditor@supplier.example",
			Status: access.StatusActive, StaffRole: access.StaffAuditor})
}

// subtreeSize counts the descendants of acct a subtree grant reaches.
func (g *gen) subtreeSize(acct string) int {
	n := 0
	for _, c := range g.w.children[acct] {
		if g.m.Account(c).Inherit {
			n += 1 + g.subtreeSize(c)
		}
	}
	return n
}

// recordIDWidth is the length of every record id: a prefix and 8 digits.
const recordIDWidth = 10

// genRecords generates n records dated over the three years before
// benchEpoch: sales orders, shipments and payments under an earlier order
// or invoice (owner-less: they are reached through the sharing rules),
// invoices, inventory and tickets opened by users (dated by an RFC 3339
// instant). 2% of the records with an owner are held by the key account's
// tree; another 2% have no owner and are on behalf of an account (and
// sometimes a user) through teams.
//
// Only the metadata the engine decides on is kept: the records live in one
// slice and their ids are slices of one string, so that a million of them
// add little for the garbage collector to scan and the decision benchmarks
// measure the engine, not the collector walking records a server keeps in
// its database. attributes builds a record's attributes on demand.
func (g *gen) genRecords(n int) {
	w := g.w
	w.records = make([]access.Record, n)
	homes := map[string][]string{}
	for _, u := range w.snap.Users {
		if u.Kind == access.KindExternal {
			homes[u.HomeAccount] = append(homes[u.HomeAccount], u.ID)
		}
	}
	owner := func() string {
		switch x := g.rng.Float64(); {
		case x < 0.02:
			return g.pick(g.m.KeyTree)
		case x < 0.60:
			return g.pick(g.m.SoldTos)
		case x < 0.75:
			return g.pick(g.m.Customers)
		case x < 0.95:
			return g.pick(g.m.Stores)
		default:
			return g.pick(g.m.Distributors)
		}
	}
	var (
		orders, invoices []int32
		parentOf         = map[int32]int32{}
		ages             = make([]uint16, n)
		ids              = make([]byte, 0, n*recordIDWidth)
		instants         []byte
	)
	for i := range n {
		kind := worldgen.DrawKind(g.rng.Float64())
		typ := worldgen.RecordKinds[kind].Type
		if (typ == "shipment" && len(orders) == 0) || (typ == "payment" && len(invoices) == 0) {
			kind, typ = 0, "sales_order"
		}
		ids = fmt.Appendf(ids, "%s%08d", worldgen.RecordKinds[kind].Prefix, i)
		r := &w.records[i]
		*r = access.Record{Type: typ, Revision: int64(i + 1), UpdatedAt: benchEpoch}
		age := g.rng.IntN(len(g.days))
		var by string // the account the record is for
		switch typ {
		case "sales_order":
			orders = append(orders, int32(i))
		case "invoice":
			invoices = append(invoices, int32(i))
		case "shipment", "payment":
			list, lag := orders, 10
			if typ == "payment" {
				list, lag = invoices, 60
			}
			pi := list[g.rng.IntN(len(list))]
			parentOf[int32(i)] = pi
			age = max(int(ages[pi])-g.rng.IntN(lag+1), 0)
			p := &w.records[pi]
			if by = p.Owner; by == "" {
				by = p.Teams[0].Principal[len("account:"):]
			}
		}
		switch {
		case by != "":
		case typ == "inventory" && g.chance(0.5):
			by = g.pick(g.m.Sites) // stock held at a customer's site
		default:
			by = owner()
		}
		ages[i] = uint16(age)
		r.Date = g.days[age]
		if typ == "ticket" {
			if us := homes[by]; len(us) > 0 {
				r.Creator = g.pick(us)
			} else {
				r.Creator = g.pick(w.external)
			}
			t := benchEpoch.AddDate(0, 0, -age).Add(-time.Duration(g.rng.IntN(86400)) * time.Second)
			instants = t.AppendFormat(instants, time.RFC3339) // 20 bytes
		}
		if _, child := parentOf[int32(i)]; !child {
			if g.chance(0.02) {
				r.Teams = []access.TeamEntry{{Principal: "account:" + by, Access: access.AccessRead}}
				if us := homes[by]; len(us) > 0 && g.chance(0.5) {
					r.Teams = append(r.Teams, access.TeamEntry{Principal: "user:" + g.pick(us), Access: access.AccessReadWrite})
				}
			} else {
				r.Owner = by
			}
			if typ == "sales_order" && g.chance(0.10) {
				if us := homes[by]; len(us) > 0 {
					r.Creator = g.pick(us) // ordered in the portal
				}
			}
		}
		w.byOwner[by] = append(w.byOwner[by], int32(i))
	}

	all, inst := string(ids), string(instants)
	refs := make([]access.Ref, 0, len(parentOf))
	w.src = make(access.RecordMap, n)
	for i := range w.records {
		r := &w.records[i]
		r.ID = all[i*recordIDWidth : (i+1)*recordIDWidth]
		if r.Type == "ticket" {
			r.Date, inst = inst[:20], inst[20:]
		}
		w.src[access.Ref{Type: r.Type, ID: r.ID}] = r
	}
	for i := range w.records {
		if pi, ok := parentOf[int32(i)]; ok {
			p := &w.records[pi]
			refs = append(refs, access.Ref{Type: p.Type, ID: p.ID})
			w.records[i].Parent = &refs[len(refs)-1]
		}
	}
}

// attributes builds the attributes of record i deterministically: sales
// orders carry three lines with their price fields, the restricted fields
// of the default policy.
func (w *benchWorld) attributes(i int) map[string]any {
	r := &w.records[i]
	rng := rand.New(rand.NewPCG(worldSeed, uint64(i)))
	money := func() float64 { return float64(rng.IntN(1_000_000)) / 100 }
	customer := r.Owner
	if customer == "" && len(r.Teams) > 0 {
		customer = r.Teams[0].Principal[len("account:"):]
	}
	day := r.Date[:10]
	switch r.Type {
	case "sales_order":
		lines := make([]any, 3)
		total := 0.0
		for j := range lines {
			p, d := money(), float64(rng.IntN(20))
			total += p * (1 - d/100)
			lines[j] = map[string]any{"sku": worldgen.SKUs[rng.IntN(len(worldgen.SKUs))], "quantity": float64(1 + rng.IntN(50)),
				"price": p, "discount": d, "amount": p * (1 - d/100)}
		}
		return map[string]any{"number": r.ID, "status": worldgen.OrderStatus[rng.IntN(len(worldgen.OrderStatus))], "customer": customer,
			"order_date": day, "price": total, "discount": 0.0, "amount": total, "currency": "EUR", "lines": lines}
	case "invoice":
		return map[string]any{"number": r.ID, "status": worldgen.InvoiceStatus[rng.IntN(len(worldgen.InvoiceStatus))], "customer": customer,
			"invoice_date": day, "amount": money(), "currency": "EUR"}
	case "shipment":
		return map[string]any{"number": r.ID, "status": "shipped", "ship_date": day, "carrier": "DHL"}
	case "payment":
		return map[string]any{"number": r.ID, "payment_date": day, "amount": money(), "method": "transfer"}
	case "inventory":
		return map[string]any{"sku": worldgen.SKUs[rng.IntN(len(worldgen.SKUs))], "warehouse": "WH1", "quantity": float64(rng.IntN(1000)), "updated": day}
	default: // ticket
		return map[string]any{"number": r.ID, "subject": "Ticket " + r.ID, "type": worldgen.TicketType[rng.IntN(len(worldgen.TicketType))],
			"status": worldgen.TicketStatus[rng.IntN(len(worldgen.TicketStatus))], "priority": "normal", "created": day}
	}
}

// questions draws n (user, record) pairs of which half are allowed to read:
// users uniformly among the external users; records half the time owned
// (directly, through a parent or a team) by an account one of the user's
// grants names or a child of it, else uniformly. Candidates are sorted into
// allowed and denied by e until both halves are full, then shuffled.
func (w *benchWorld) questions(e *access.Engine, n int, seed uint64) ([]question, error) {
	rng := rand.New(rand.NewPCG(seed, 0x9e57))
	var yes, no []question
	for tries := 0; len(yes) < n/2 || len(no) < n-n/2; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("questions: %d allowed and %d denied after %d tries", len(yes), len(no), tries)
		}
		u := w.external[rng.IntN(len(w.external))]
		rec := &w.records[rng.IntN(len(w.records))]
		if rs := w.reach[u]; len(rs) > 0 && rng.IntN(2) == 0 {
			r := rs[rng.IntN(len(rs))]
			acct := r.account
			if cs := w.children[acct]; r.subtree && len(cs) > 0 && rng.IntN(2) == 0 {
				acct = cs[rng.IntN(len(cs))]
			}
			if idx := w.byOwner[acct]; len(idx) > 0 {
				rec = &w.records[idx[rng.IntN(len(idx))]]
			}
		}
		q := question{u, rec}
		if e.Allowed(u, rec, policy.Read, w.src) {
			if len(yes) < n/2 {
				yes = append(yes, q)
			}
		} else if len(no) < n-n/2 {
			no = append(no, q)
		}
	}
	qs := append(yes, no...)
	rng.Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })
	return qs, nil
}

// newEngine returns an empty engine with the default policy on a clock
// that reads benchEpoch at the call and then advances in real time, so a
// decision pays for reading the clock as it does in a server while the
// world's dates keep their meaning.
func newEngine() *access.Engine {
	skew := time.Until(benchEpoch)
	return access.NewEngine(policy.Default(), func() time.Time { return time.Now().Add(skew) })
}

// benchEnv is a generated world loaded into an engine, with the decision
// questions drawn from it; benchmarks share it and must leave the engine
// as they found it.
type benchEnv struct {
	w         *benchWorld
	e         *access.Engine
	questions []question
}

// numQuestions is how many pairs the decision benchmarks cycle through:
// enough that users, grants and records do not stay in the CPU caches.
const numQuestions = 1 << 18

// worldSizes are the sizes by name.
var worldSizes = map[string]worldSize{sizeSmall.Name: sizeSmall, sizeMedium.Name: sizeMedium, sizeLarge.Name: sizeLarge}

// benchEnvs builds each size's environment once per test binary, on first
// use, so that every benchmark shares it.
var benchEnvs = func() map[string]func() (*benchEnv, error) {
	out := map[string]func() (*benchEnv, error){}
	for name, size := range worldSizes {
		out[name] = sync.OnceValues(func() (*benchEnv, error) { return buildEnv(size) })
	}
	return out
}()

func buildEnv(size worldSize) (*benchEnv, error) {
	start := time.Now()
	w := genWorld(size, worldSeed, min(size.Records, maxInProcessRecords))
	genTime := time.Since(start)
	e := newEngine()
	if err := e.Load(w.snap); err != nil {
		return nil, fmt.Errorf("load %s world: %w", size.Name, err)
	}
	qs, err := w.questions(e, numQuestions, worldSeed)
	if err != nil {
		return nil, fmt.Errorf("%s world: %w", size.Name, err)
	}
	env := &benchEnv{w: w, e: e, questions: qs}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("# world %s: %d accounts, %d users, %d groups, %d members, %d grants (%d direct), %d records; generated in %.1fs; heap %d MB\n",
		size.Name, len(w.snap.Accounts), len(w.snap.Users), len(w.snap.Groups), len(w.snap.Members),
		len(w.snap.Grants), len(w.snap.Grants)-w.groupGrants, len(w.records), genTime.Seconds(), ms.HeapAlloc>>20)
	return env, nil
}

// loadEnv returns the shared environment of size, generating it on first
// use. In -short mode every size is the small one.
func loadEnv(tb testing.TB, size worldSize) *benchEnv {
	tb.Helper()
	if testing.Short() {
		size = sizeSmall
	}
	env, err := benchEnvs[size.Name]()
	if err != nil {
		tb.Fatal(err)
	}
	return env
}

// TestGenWorld checks, on a small world with few records, that generation
// is deterministic, loads, and has the named users the benchmarks rely on.
func TestGenWorld(t *testing.T) {
	const nRecords = 20_000
	w := genWorld(sizeSmall, worldSeed, nRecords)
	w2 := genWorld(sizeSmall, worldSeed, nRecords)
	if !reflect.DeepEqual(w.snap, w2.snap) || !reflect.DeepEqual(w.records, w2.records) {
		t.Fatal("two generations with the same seed differ")
	}
	if direct := len(w.snap.Grants) - w.groupGrants; direct < sizeSmall.DirectGrants*9/10 || direct > sizeSmall.DirectGrants*11/10 {
		t.Errorf("direct grants = %d, want about %d", direct, sizeSmall.DirectGrants)
	}
	if len(w.records) != nRecords {
		t.Errorf("records = %d, want %d", len(w.records), nRecords)
	}
	so := slices.IndexFunc(w.records, func(r access.Record) bool { return r.Type == "sales_order" })
	attrs := w.attributes(so)
	if lines, _ := attrs["lines"].([]any); len(lines) != 3 || lines[2].(map[string]any)["price"] == nil {
		t.Errorf("sales order attributes %v: want 3 lines with prices", attrs)
	}
	access.Mask(policy.Default().Type("sales_order"), 0, attrs)
	if lines := attrs["lines"].([]any); lines[0].(map[string]any)["price"] != nil || attrs["amount"] != nil {
		t.Errorf("masked sales order attributes %v still hold prices", attrs)
	}
	e := newEngine()
	if err := e.Load(w.snap); err != nil {
		t.Fatal(err)
	}
	accounts := func(user string) int {
		p, err := e.Predicate(user, "sales_order", policy.Read)
		if err != nil {
			t.Fatal(err)
		}
		return predicateAccounts(p)
	}
	if n := accounts(userDistributor); n < 90 || n > 101 {
		t.Errorf("%s reaches %d accounts, want about 100", userDistributor, n)
	}
	if n := accounts(userWide); n < wideReach {
		t.Errorf("%s reaches %d accounts, want at least %d", userWide, n, wideReach)
	}
	if n := len(w.reach[userMulti50]); n != 51 { // 50 grants and its account group
		t.Errorf("%s has %d grants, want 50 and its account group", userMulti50, n)
	}
	qs, err := w.questions(e, 2_000, worldSeed)
	if err != nil {
		t.Fatal(err)
	}
	allowed := 0
	for _, q := range qs {
		if e.Allowed(q.user, q.rec, policy.Read, w.src) {
			allowed++
		}
	}
	if allowed != 1_000 {
		t.Errorf("%d of %d questions allowed, want half", allowed, len(qs))
	}
}

// predicateAccounts counts the accounts listed in p's account clauses.
func predicateAccounts(p *access.Predicate) int {
	n := 0
	for _, c := range p.Accounts {
		n += len(c.Accounts)
	}
	return n
}
