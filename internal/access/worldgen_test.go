package access_test

// This file generates the benchmark world of shared/BENCHMARKS.md in memory:
// the access model as an access.Snapshot and the record metadata the
// decision benchmarks draw their questions from. Nothing here runs during
// plain `go test`: the worlds are built lazily, on first use by a benchmark
// (or, for a reduced small world, by TestGenWorld).

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// worldSize is one column of the dataset table of BENCHMARKS.md.
type worldSize struct {
	Name         string
	Customers    int
	Distributors int
	// Users counts the external users; the named benchmark users and two
	// staff users come on top.
	Users int
	// DirectGrants is the number of direct user grants; the account groups'
	// default grants come on top.
	DirectGrants int
	// Records is the size of the full dataset; see maxInProcessRecords.
	Records int
}

var (
	sizeSmall  = worldSize{Name: "small", Customers: 200, Distributors: 10, Users: 1_000, DirectGrants: 2_500, Records: 100_000}
	sizeMedium = worldSize{Name: "medium", Customers: 2_000, Distributors: 100, Users: 10_000, DirectGrants: 25_000, Records: 1_000_000}
	sizeLarge  = worldSize{Name: "large", Customers: 20_000, Distributors: 500, Users: 100_000, DirectGrants: 250_000, Records: 10_000_000}
)

// maxInProcessRecords caps the records generated in memory. The engine keeps
// no records: Allowed and Check are handed the record (and a RecordSource
// for its parent), so the cost of one decision does not depend on how many
// records the store holds. A million records is enough for the drawn records
// and their parents to miss the CPU caches as they would in a server.
const maxInProcessRecords = 1_000_000

// worldSeed is the default seed, as for `portcullis bench gen`.
const worldSeed = 1

// Named accounts, users and groups the benchmarks address directly. They
// exist in every size.
const (
	keyAccount = "KEY" // the key account: 2% of the records
	benchTeam  = "bench-team"

	// userSingle holds L30 on one customer (and is in its account group).
	userSingle = "bench-single"
	// userDistributor holds L30 on distributor D0001, which has 100 stores.
	userDistributor = "bench-distributor"
	// userMulti50 holds L30 on 50 customers, a third of them with days_back.
	userMulti50 = "bench-multi50"
	// userWide holds L20 on enough customers (then distributors) for its
	// active grants to reach at least wideReach accounts.
	userWide  = "bench-wide"
	wideReach = 1_000
	teamSize  = 1_000
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

// gen is the state of one generation.
type gen struct {
	rng  *rand.Rand
	w    *benchWorld
	pol  *policy.Policy
	ext  map[string]bool // account id → external access on
	acct map[string]int  // account id → index in snap.Accounts

	customers, soldTos, sites, distributors, stores []string
	keyTree                                         []string
	// ordinary are the indexes in snap.Users of the generated (not named,
	// not staff) users.
	ordinary []int
	pairs    map[[2]string]bool // (principal, account) pairs with a grant
	grantSeq int
	days     []string // "YYYY-MM-DD" of benchEpoch minus i days
}

// genWorld builds the world of the given size from seed, with nRecords
// records. Equal arguments give equal worlds.
func genWorld(size worldSize, seed uint64, nRecords int) *benchWorld {
	g := &gen{
		rng: rand.New(rand.NewPCG(seed, 0x5eed_0f_90_27c0)),
		w: &benchWorld{size: size, children: map[string][]string{}, byOwner: map[string][]int32{},
			reach: map[string][]reach{}},
		pol:   policy.Default(),
		ext:   map[string]bool{},
		acct:  map[string]int{},
		pairs: map[[2]string]bool{},
	}
	for i := range 3*366 + 1 {
		g.days = append(g.days, benchEpoch.AddDate(0, 0, -i).Format(time.DateOnly))
	}
	g.genAccounts()
	g.genUsers()
	g.genGrants()
	g.genRecords(nRecords)
	return g.w
}

// chance reports true with probability p.
func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

func (g *gen) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// addAccount adds an account and, when its switch is on, the account group
// with its default grant, as switching external access on does.
func (g *gen) addAccount(id, kind, parent string, ext, inherit bool) {
	w := g.w
	g.acct[id] = len(w.snap.Accounts)
	w.snap.Accounts = append(w.snap.Accounts, access.Account{ID: id, Name: kind + " " + id, Kind: kind,
		Parent: parent, ExternalAccess: ext, Inherit: inherit})
	if parent != "" {
		w.children[parent] = append(w.children[parent], id)
	}
	g.ext[id] = ext
	if !ext {
		return
	}
	gid := access.AccountGroupID(id)
	w.snap.Groups = append(w.snap.Groups, access.Group{ID: gid, Name: kind + " " + id + " external users", Account: id})
	w.snap.Grants = append(w.snap.Grants, access.Grant{ID: "ga:" + id, Principal: "group:" + gid, Account: id,
		Role: g.pol.DefaultGroupRole.Name, Scope: access.ScopeSubtree, Access: access.AccessReadWrite,
		CreatedAt: benchEpoch, UpdatedAt: benchEpoch})
	w.groupGrants++
}

// genAccounts builds the tree: customers with sold-tos and sites, the key
// account, distributors with stores. About 10% of the accounts have their
// switch off; 5% of the stores break the chain.
func (g *gen) genAccounts() {
	ext := func() bool { return !g.chance(0.10) }
	customer := func(id string, soldTos, sites int, on bool) {
		g.addAccount(id, "customer", "", on, true)
		for j := 1; j <= soldTos; j++ {
			s := id + "-S" + strconv.Itoa(j)
			g.addAccount(s, "sold_to", id, ext(), true)
			g.soldTos = append(g.soldTos, s)
		}
		for j := 1; j <= sites; j++ {
			s := id + "-W" + strconv.Itoa(j)
			g.addAccount(s, "site", id, ext(), true)
			g.sites = append(g.sites, s)
		}
	}
	for i := 1; i <= g.w.size.Customers; i++ {
		id := fmt.Sprintf("C%06d", i)
		// The first customers serve the named users: keep their switch on.
		customer(id, 1+g.rng.IntN(5), g.rng.IntN(4), i <= 3 || ext())
		g.customers = append(g.customers, id)
	}
	customer(keyAccount, 5, 3, true)
	g.keyTree = append([]string{keyAccount}, g.w.children[keyAccount]...)
	for i := 1; i <= g.w.size.Distributors; i++ {
		id := fmt.Sprintf("D%04d", i)
		n := 10 + g.rng.IntN(91)
		if i == 1 {
			n = 100
		}
		g.addAccount(id, "distributor", "", i <= 2 || ext(), true)
		g.distributors = append(g.distributors, id)
		for j := 1; j <= n; j++ {
			s := fmt.Sprintf("%s-T%03d", id, j)
			g.addAccount(s, "store", id, ext(), !g.chance(0.05))
			g.stores = append(g.stores, s)
		}
	}
}

// genUsers adds the external users (1% at the key account, the rest homed in
// customers, sold-tos and distributors; 96% active), the named users, two
// staff users, account group memberships and the 1,000-member team.
func (g *gen) genUsers() {
	w := g.w
	add := func(id, home, status string) int {
		w.snap.Users = append(w.snap.Users, access.User{ID: id, Kind: access.KindExternal, Name: "User " + id,
			Email: id + "@example.com", HomeAccount: home, Status: status})
		w.external = append(w.external, id)
		return len(w.snap.Users) - 1
	}
	nKey := max(w.size.Users/100, 10)
	for i := 1; i <= w.size.Users; i++ {
		var home string
		switch x := g.rng.Float64(); {
		case i <= nKey:
			home = g.pick(g.keyTree[:6]) // the key customer and its sold-tos
		case x < 0.55:
			home = g.pick(g.customers)
		case x < 0.80:
			home = g.pick(g.soldTos)
		default:
			home = g.pick(g.distributors)
		}
		status := access.StatusActive
		switch x := g.rng.Float64(); {
		case x < 0.02:
			status = access.StatusInvited
		case x < 0.04:
			status = access.StatusDisabled
		}
		id := fmt.Sprintf("U%06d", i)
		g.ordinary = append(g.ordinary, add(id, home, status))
		if g.ext[home] && (i <= nKey || g.chance(0.6)) {
			g.member(access.AccountGroupID(home), id)
		}
	}
	for _, u := range [][2]string{{userSingle, "C000001"}, {userDistributor, "D0001"},
		{userMulti50, "D0002"}, {userWide, "C000003"}} {
		add(u[0], u[1], access.StatusActive)
		g.member(access.AccountGroupID(u[1]), u[0])
	}
	w.snap.Users = append(w.snap.Users,
		access.User{ID: "staff-admin", Kind: access.KindInternal, Name: "Admin", Email: "admin@supplier.example",
			Status: access.StatusActive, StaffRole: access.StaffAdmin},
		access.User{ID: "staff-auditor", Kind: access.KindInternal, Name: "Auditor", Email: "auditor@supplier.example",
			Status: access.StatusActive, StaffRole: access.StaffAuditor})

	w.snap.Groups = append(w.snap.Groups, access.Group{ID: benchTeam, Name: "Benchmark team"})
	for _, i := range g.rng.Perm(w.size.Users)[:min(teamSize, w.size.Users)] {
		g.member(benchTeam, w.snap.Users[g.ordinary[i]].ID)
	}
}

func (g *gen) member(group, user string) {
	g.w.snap.Members = append(g.w.snap.Members, [2]string{group, user})
}

// roleWeights are the ladder's roles with the weights direct grants draw
// them by.
var roleWeights = []struct {
	name   string
	weight float64
}{{"L10", 0.15}, {"L20", 0.25}, {"L30", 0.25}, {"L40", 0.20}, {"L80", 0.12}, {"L90", 0.03}}

// role draws a role; the protected Owner (L90) only when allowOwner.
func (g *gen) role(allowOwner bool) string {
	for {
		x := g.rng.Float64()
		for _, r := range roleWeights {
			if x < r.weight {
				if r.name == "L90" && !allowOwner {
					break // draw again
				}
				return r.name
			}
			x -= r.weight
		}
	}
}

// addGrant adds a direct grant of user on acct unless the user has one
// there. Unless it is the protected L90, 15% are scope account, 15% read
// only, 30% have days_back between 30 and 730 and 5% expired before now.
// It reports whether it added one.
func (g *gen) addGrant(user, acct, role string, opts grantOpts) bool {
	principal := "user:" + user
	if g.pairs[[2]string{principal, acct}] {
		return false
	}
	g.pairs[[2]string{principal, acct}] = true
	g.grantSeq++
	gr := access.Grant{ID: fmt.Sprintf("gr%07d", g.grantSeq), Principal: principal, Account: acct, Role: role,
		Scope: access.ScopeSubtree, Access: access.AccessReadWrite, CreatedBy: "staff-admin",
		CreatedAt: benchEpoch, UpdatedAt: benchEpoch}
	if role != "L90" && !opts.plain {
		if g.chance(0.15) {
			gr.Scope = access.ScopeAccount
		}
		if g.chance(0.15) {
			gr.Access = access.AccessRead
		}
		if g.chance(0.30) {
			db := 30 + g.rng.IntN(701)
			gr.DaysBack = &db
		}
		if g.chance(0.05) {
			until := benchEpoch.AddDate(0, 0, -1-g.rng.IntN(365))
			gr.ValidUntil = &until
		}
	}
	if opts.daysBack > 0 {
		db := opts.daysBack
		gr.DaysBack = &db
	}
	g.w.snap.Grants = append(g.w.snap.Grants, gr)
	g.w.reach[user] = append(g.w.reach[user], reach{acct, gr.Scope == access.ScopeSubtree})
	return true
}

type grantOpts struct {
	plain    bool // subtree, read_write, unlimited, valid
	daysBack int  // when > 0, set days_back
}

// genGrants gives every ordinary user a grant on its home account, 1% of
// them grants on 5–50 customers, the named users theirs, and then extra
// grants in the users' own trees (10% on another customer) until the
// direct grants reach the size's count. Account group grants reach the
// members through reach too.
func (g *gen) genGrants() {
	w := g.w
	nMulti := w.size.Users / 100
	multi := map[int]bool{}
	for _, i := range g.rng.Perm(len(g.ordinary))[:nMulti] {
		multi[i] = true
	}
	for i, ui := range g.ordinary {
		u := w.snap.Users[ui]
		if !multi[i] {
			g.addGrant(u.ID, u.HomeAccount, g.role(true), grantOpts{})
			continue
		}
		for n := 5 + g.rng.IntN(46); n > 0; {
			if g.addGrant(u.ID, g.pick(g.customers), g.role(false), grantOpts{}) {
				n--
			}
		}
	}

	// The named users.
	g.addGrant(userSingle, "C000001", "L30", grantOpts{plain: true})
	g.addGrant(userDistributor, "D0001", "L30", grantOpts{plain: true})
	for n := 0; n < 50; {
		c := g.pick(g.customers)
		if !g.ext[c] {
			continue
		}
		opts := grantOpts{plain: true}
		if n%3 == 0 {
			opts.daysBack = 365
		}
		if g.addGrant(userMulti50, c, "L30", opts) {
			n++
		}
	}
	var wide []string
	for _, i := range g.rng.Perm(len(g.customers)) {
		wide = append(wide, g.customers[i])
	}
	for _, i := range g.rng.Perm(len(g.distributors)) {
		wide = append(wide, g.distributors[i])
	}
	for reached, i := 0, 0; reached < wideReach && i < len(wide); i++ {
		if a := wide[i]; g.ext[a] && g.addGrant(userWide, a, "L20", grantOpts{plain: true}) {
			reached += 1 + g.subtreeSize(a)
		}
	}

	// Extra grants in the users' own trees.
	for tries := 0; len(w.snap.Grants)-w.groupGrants < w.size.DirectGrants && tries < 10*w.size.DirectGrants; tries++ {
		i := g.rng.IntN(len(g.ordinary))
		if multi[i] {
			continue
		}
		u := w.snap.Users[g.ordinary[i]]
		acct := g.pick(g.customers)
		if !g.chance(0.10) {
			tree := u.HomeAccount
			if p := w.snap.Accounts[g.acct[tree]].Parent; p != "" {
				tree = p
			}
			candidates := append([]string{tree}, w.children[tree]...)
			acct = g.pick(candidates)
		}
		g.addGrant(u.ID, acct, g.role(false), grantOpts{})
	}

	// What account groups' grants reach, per member.
	for _, m := range w.snap.Members {
		if m[0] != benchTeam {
			w.reach[m[1]] = append(w.reach[m[1]], reach{m[0][len("acct:"):], true})
		}
	}
}

// subtreeSize counts the descendants of acct a subtree grant reaches.
func (g *gen) subtreeSize(acct string) int {
	n := 0
	for _, c := range g.w.children[acct] {
		if g.w.snap.Accounts[g.acct[c]].Inherit {
			n += 1 + g.subtreeSize(c)
		}
	}
	return n
}

// Record types with the weights they are drawn by, and the prefixes of
// their ids.
var recordKinds = []struct {
	typ, prefix string
	weight      float64
}{
	{"sales_order", "SO", 0.30}, {"shipment", "SH", 0.20}, {"invoice", "IN", 0.20},
	{"payment", "PA", 0.08}, {"inventory", "IV", 0.07}, {"ticket", "TK", 0.15},
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
			return g.pick(g.keyTree)
		case x < 0.60:
			return g.pick(g.soldTos)
		case x < 0.75:
			return g.pick(g.customers)
		case x < 0.95:
			return g.pick(g.stores)
		default:
			return g.pick(g.distributors)
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
		kind, x := len(recordKinds)-1, g.rng.Float64()
		for k, rk := range recordKinds {
			if x < rk.weight {
				kind = k
				break
			}
			x -= rk.weight
		}
		typ := recordKinds[kind].typ
		if (typ == "shipment" && len(orders) == 0) || (typ == "payment" && len(invoices) == 0) {
			kind, typ = 0, "sales_order"
		}
		ids = fmt.Appendf(ids, "%s%08d", recordKinds[kind].prefix, i)
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
			by = g.pick(g.sites) // stock held at a customer's site
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
			lines[j] = map[string]any{"sku": skus[rng.IntN(len(skus))], "quantity": float64(1 + rng.IntN(50)),
				"price": p, "discount": d, "amount": p * (1 - d/100)}
		}
		return map[string]any{"number": r.ID, "status": orderStatus[rng.IntN(len(orderStatus))], "customer": customer,
			"order_date": day, "price": total, "discount": 0.0, "amount": total, "currency": "EUR", "lines": lines}
	case "invoice":
		return map[string]any{"number": r.ID, "status": invoiceStatus[rng.IntN(len(invoiceStatus))], "customer": customer,
			"invoice_date": day, "amount": money(), "currency": "EUR"}
	case "shipment":
		return map[string]any{"number": r.ID, "status": "shipped", "ship_date": day, "carrier": "DHL"}
	case "payment":
		return map[string]any{"number": r.ID, "payment_date": day, "amount": money(), "method": "transfer"}
	case "inventory":
		return map[string]any{"sku": skus[rng.IntN(len(skus))], "warehouse": "WH1", "quantity": float64(rng.IntN(1000)), "updated": day}
	default: // ticket
		return map[string]any{"number": r.ID, "subject": "Ticket " + r.ID, "type": ticketType[rng.IntN(len(ticketType))],
			"status": ticketStatus[rng.IntN(len(ticketStatus))], "priority": "normal", "created": day}
	}
}

var (
	orderStatus   = []string{"open", "confirmed", "shipped", "invoiced", "closed", "cancelled"}
	invoiceStatus = []string{"open", "paid", "overdue", "cancelled"}
	ticketStatus  = []string{"new", "in_progress", "waiting", "resolved", "closed"}
	ticketType    = []string{"incident", "question", "request", "complaint"}
	skus          = func() []string {
		out := make([]string, 500)
		for i := range out {
			out[i] = fmt.Sprintf("SKU-%04d", i)
		}
		return out
	}()
)

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
