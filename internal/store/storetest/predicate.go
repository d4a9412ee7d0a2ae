package storetest

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// worldNow is the fixed clock of the random world: grant validity and
// days_back cutoffs are computed against it.
var worldNow = time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)

// world is a random model and the records written to a store, as written.
type world struct {
	accounts []access.Account
	users    []access.User
	records  map[access.Ref]*access.Record
	types    []string
}

// buildWorld fills s with a random world drawn from seed: 20 accounts in a
// tree (one with inherit false, most with the switch on), 30 external users
// of every status plus staff, custom and account groups with members,
// grants of random roles, scopes, access, days_back and validity, and
// ~300 records of several types with owners, owner fields, dates (some
// instants whose UTC day differs from their local one, some on days_back
// boundaries), parents (some dangling), teams and creators.
func buildWorld(t *testing.T, s *instance, seed uint64) *world {
	return buildShapedWorld(t, s, seed, 20, 4)
}

// buildShapedWorld is buildWorld with nAccounts accounts under nRoots
// roots. A wide world (nAccounts > 100) also gives some users and a group
// grants on the first root, so that their predicates name more accounts
// than a backend may seek one by one (sqlstore switches to another query
// plan above 100 accounts on PostgreSQL and 1,000 on SQLite).
func buildShapedWorld(t *testing.T, s *instance, seed uint64, nAccounts, nRoots int) *world {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed*7+1))
	w := &world{records: map[access.Ref]*access.Record{}}
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	chance := func(p float64) bool { return rng.Float64() < p }

	// Accounts: the first four are roots, the rest hang below an earlier
	// one. a05 breaks the chain; a few have the switch off.
	var acctIDs []string
	for i := range nAccounts {
		a := access.Account{ID: fmt.Sprintf("a%02d", i), Name: fmt.Sprintf("Account %d", i), Kind: "customer",
			Inherit: true, ExternalAccess: !chance(0.2)}
		if i >= nRoots {
			a.Parent = acctIDs[rng.IntN(len(acctIDs))]
		}
		// Chain breaks: in a wide world only at accounts with small
		// subtrees, so that a grant on the root covers most of the tree.
		if (nAccounts <= 100 && (i == 5 || i == 13)) || (nAccounts > 100 && i > 0 && i%300 == 0) {
			a.Inherit = false
		}
		mustPutAccount(t, s, a)
		w.accounts = append(w.accounts, a)
		acctIDs = append(acctIDs, a.ID)
	}
	// The tree is deep enough that a05's subtree has something below it.
	mustPutAccount(t, s, access.Account{ID: "a05x", Name: "Below a05", Kind: "site", Parent: "a05", Inherit: true, ExternalAccess: true})
	acctIDs = append(acctIDs, "a05x")

	// Users.
	var userIDs []string
	for i := range 30 {
		u := external(fmt.Sprintf("u%02d", i), pick(acctIDs))
		switch {
		case i == 28:
			u.Status = access.StatusDisabled
		case i == 29:
			u.Status = access.StatusInvited
		}
		mustPutUser(t, s, u)
		w.users = append(w.users, u)
		userIDs = append(userIDs, u.ID)
	}
	for _, st := range []access.User{internal("admin", access.StaffAdmin), internal("auditor", access.StaffAuditor)} {
		mustPutUser(t, s, st)
		w.users = append(w.users, st)
	}

	// Groups: four custom ones and the account groups the switches made.
	groups := []string{}
	for i := range 4 {
		id := fmt.Sprintf("team%d", i)
		mustPutGroup(t, s, access.Group{ID: id, Name: "Team " + id})
		groups = append(groups, id)
	}
	var acctGroups []string
	for _, a := range w.accounts {
		if a.ExternalAccess {
			acctGroups = append(acctGroups, access.AccountGroupID(a.ID))
		}
	}
	for _, u := range userIDs {
		for range rng.IntN(3) {
			g := pick(groups)
			if chance(0.6) {
				g = pick(acctGroups)
			}
			mustAddMember(t, s, g, u)
		}
	}

	// Grants.
	roles := []string{"L10", "L20", "L30", "L40", "L80", "L90"}
	used := map[[2]string]bool{}
	for _, g := range acctGroups {
		used[[2]string{"group:" + g, g[len("acct:"):]}] = true
	}
	if nAccounts > 100 {
		for _, g := range []access.Grant{
			grant("user:u00", "a00", "L40"),
			func() access.Grant { g := grant("user:u01", "a00", "L20"); g.DaysBack = ptr(30); return g }(),
			grant("group:team0", "a00", "L20"),
			func() access.Grant { g := grant("user:u02", "a00", "L80"); g.Access = access.AccessRead; return g }(),
			func() access.Grant { g := grant("user:u03", "a00", "L20"); g.Scope = access.ScopeAccount; return g }(),
		} {
			mustCreateGrant(t, s, g)
			used[[2]string{g.Principal, g.Account}] = true
		}
		mustAddMember(t, s, "team0", "u04")
		mustAddMember(t, s, "team0", "u05")
	}
	for len(used) < len(acctGroups)+45+5*min(1, nAccounts/100) {
		principal := "user:" + pick(userIDs)
		if chance(0.25) {
			principal = "group:" + pick(groups)
		}
		acct := pick(acctIDs)
		if used[[2]string{principal, acct}] {
			continue
		}
		used[[2]string{principal, acct}] = true
		g := grant(principal, acct, pick(roles))
		if chance(0.2) {
			g.Scope = access.ScopeAccount
		}
		if chance(0.25) {
			g.Access = access.AccessRead
		}
		if chance(0.4) {
			g.DaysBack = ptr([]int{0, 7, 30, 90, 365}[rng.IntN(5)])
		}
		switch rng.IntN(10) {
		case 0: // expired
			g.ValidUntil = ptr(worldNow.Add(-time.Duration(rng.IntN(1000)+1) * time.Hour))
		case 1: // not yet valid
			g.ValidFrom = ptr(worldNow.Add(time.Duration(rng.IntN(1000)+1) * time.Hour))
		case 2: // inside its window
			g.ValidFrom = ptr(worldNow.Add(-48 * time.Hour))
			g.ValidUntil = ptr(worldNow.Add(48 * time.Hour))
		case 3: // the window ends right now: inactive, validity is [from, until)
			g.ValidUntil = ptr(worldNow)
		case 4: // the window starts right now: active
			g.ValidFrom = ptr(worldNow)
		}
		mustCreateGrant(t, s, g)
	}

	// Records.
	offsets := []int{0, 1, 6, 7, 8, 29, 30, 31, 89, 90, 91, 364, 365, 366, 500}
	today := time.Date(worldNow.Year(), worldNow.Month(), worldNow.Day(), 0, 0, 0, 0, time.UTC)
	date := func() string {
		d := today.AddDate(0, 0, -offsets[rng.IntN(len(offsets))])
		if chance(0.3) {
			d = today.AddDate(0, 0, -rng.IntN(400))
		}
		switch rng.IntN(10) {
		case 0:
			return ""
		case 1: // the next UTC day
			return d.Format(time.DateOnly) + "T22:00:00-05:00"
		case 2: // the previous UTC day
			return d.Format(time.DateOnly) + "T01:00:00+03:00"
		case 3:
			return d.Add(13 * time.Hour).Format(time.RFC3339)
		}
		return d.Format(time.DateOnly)
	}
	owner := func() string {
		if chance(0.1) {
			return ""
		}
		return pick(acctIDs)
	}
	teams := func() []access.TeamEntry {
		var out []access.TeamEntry
		seen := map[string]bool{}
		for range rng.IntN(3) {
			var p string
			switch rng.IntN(5) {
			case 0, 1:
				p = "user:" + pick(userIDs)
			case 2, 3:
				p = "account:" + pick(acctIDs)
			default:
				p = "account:ghost"
			}
			if seen[p] {
				continue
			}
			seen[p] = true
			acc := access.AccessRead
			if chance(0.5) {
				acc = access.AccessReadWrite
			}
			out = append(out, access.TeamEntry{Principal: p, Access: acc})
		}
		return out
	}
	creator := func() string {
		if chance(0.3) {
			return ""
		}
		return pick(userIDs)
	}
	var batch store.RecordBatch
	add := func(r *access.Record, explicitOwner, explicitDate bool) {
		if err := s.Engine().FillRecord(r, explicitOwner, explicitDate); err != nil {
			t.Fatalf("FillRecord(%s/%s): %v", r.Type, r.ID, err)
		}
		if err := s.Engine().ValidateRecord(r); err != nil {
			t.Fatalf("ValidateRecord(%s/%s): %v", r.Type, r.ID, err)
		}
		w.records[access.Ref{Type: r.Type, ID: r.ID}] = r
		batch.Upsert = append(batch.Upsert, cloneRecord(r))
	}
	var orders, invoices []string
	for i := range 70 {
		id := fmt.Sprintf("SO-%03d", i)
		r := &access.Record{Type: "sales_order", ID: id, Teams: teams(), Creator: creator(),
			Attributes: map[string]any{"number": id, "price": float64(rng.IntN(1000))}}
		// Half take their owner and date from the owner and date fields.
		explicit := chance(0.5)
		if explicit {
			r.Owner, r.Date = owner(), date()
		} else {
			r.Attributes["customer"] = pick(append(acctIDs, "not-an-account"))
			if d := date(); d != "" {
				r.Attributes["order_date"] = d
			}
		}
		add(r, explicit, explicit)
		orders = append(orders, id)
	}
	for i := range 60 {
		id := fmt.Sprintf("SH-%03d", i)
		r := &access.Record{Type: "shipment", ID: id, Owner: owner(), Date: date(), Teams: teams(), Creator: creator(),
			Attributes: map[string]any{"number": id}}
		if chance(0.3) {
			r.Owner = ""
		}
		if chance(0.85) {
			parent := pick(orders)
			if chance(0.1) {
				parent = "SO-404"
			}
			r.Parent = &access.Ref{Type: "sales_order", ID: parent}
		}
		add(r, true, true)
	}
	for i := range 40 {
		id := fmt.Sprintf("IN-%03d", i)
		r := &access.Record{Type: "invoice", ID: id, Owner: owner(), Date: date(), Teams: teams(), Creator: creator(),
			Attributes: map[string]any{"number": id}}
		add(r, true, true)
		invoices = append(invoices, id)
	}
	for i := range 30 {
		id := fmt.Sprintf("PA-%03d", i)
		r := &access.Record{Type: "payment", ID: id, Owner: owner(), Date: date(), Creator: creator(),
			Parent: &access.Ref{Type: "invoice", ID: pick(invoices)}, Attributes: map[string]any{}}
		if chance(0.5) {
			r.Owner = ""
		}
		add(r, true, true)
	}
	for i := range 70 {
		id := fmt.Sprintf("TK-%03d", i)
		r := &access.Record{Type: "ticket", ID: id, Owner: owner(), Date: date(), Teams: teams(), Creator: creator(),
			Attributes: map[string]any{"subject": "help " + id, "status": "new"}}
		add(r, true, true)
	}
	for i := range 40 {
		id := fmt.Sprintf("IV-%03d", i)
		r := &access.Record{Type: "inventory", ID: id, Owner: owner(), Teams: teams(),
			Attributes: map[string]any{"sku": id, "quantity": float64(rng.IntN(100))}}
		if d := date(); d != "" {
			r.Attributes["updated"] = d
		}
		add(r, true, false)
	}
	if _, err := s.Batch(ctx(t), by, batch); err != nil {
		t.Fatalf("Batch of the world's records: %v", err)
	}
	w.types = []string{"sales_order", "shipment", "invoice", "payment", "ticket", "inventory", "balance"}
	return w
}

// testPredicate checks that the engine's row predicate, rendered by the
// store as a query, selects exactly the records the engine allows, record
// for record, for every user and type of a random world, through every
// page. It also checks the in-memory Predicate.Matches against Allowed so
// that a disagreement is pinned on the engine or on the store.
func testPredicate(t *testing.T, b Backend) {
	t.Run("Boundaries", func(t *testing.T) { testBoundaries(t, b) })
	t.Run("WideTree", func(t *testing.T) {
		s, _ := b.open(t, Options{Clock: func() time.Time { return worldNow }})
		w := buildShapedWorld(t, s, 3, 1200, 1)
		for _, u := range []string{"u00", "u01", "u04"} {
			p, err := s.Engine().Predicate(u, "sales_order", policy.Read)
			if err != nil {
				t.Fatal(err)
			}
			if n := countPredicateAccounts(p); n <= 1000 {
				t.Errorf("test world too weak: %s's predicate names only %d accounts", u, n)
			}
		}
		checkWorld(t, s, w)
	})
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprintf("Seed%d", seed), func(t *testing.T) {
			s, _ := b.open(t, Options{Clock: func() time.Time { return worldNow }})
			if now := s.Engine().Now(); !now.Equal(worldNow) {
				t.Fatalf("the store's engine ignores the injected clock: Now() = %v", now)
			}
			w := buildWorld(t, s, seed)
			checkCoverage(t, s, w)
			checkWorld(t, s, w)

			// Change the world and check again: a move, a chain break
			// lifted, a switch flipped, memberships and grants changed.
			t.Run("AfterChanges", func(t *testing.T) {
				for _, a := range w.accounts {
					switch a.ID {
					case "a05":
						a.Inherit = true
					case "a07":
						a.Parent = "a01"
						if isBelow(w.accounts, "a01", "a07") {
							continue
						}
					case "a02", "a09":
						a.ExternalAccess = !a.ExternalAccess
					default:
						continue
					}
					mustPutAccount(t, s, a)
				}
				gs, _, err := s.ListGrants(ctx(t), store.GrantFilter{Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				for i, g := range gs {
					if g.Role == "L90" {
						continue // protected: the store may refuse
					}
					switch i % 3 {
					case 0:
						if _, err := s.DeleteGrant(ctx(t), by, g.ID); err != nil {
							t.Fatal(err)
						}
					case 1:
						g.Role, g.DaysBack = "L40", ptr(30)
						if _, _, err := s.UpdateGrant(ctx(t), by, g); err != nil {
							t.Fatal(err)
						}
					}
				}
				mustAddMember(t, s, "team0", "u01")
				mustAddMember(t, s, "team1", "u02")
				checkWorld(t, s, w)
			})
		})
	}
}

// isBelow reports whether acct is in the subtree of root (in accounts as
// first written).
func isBelow(accounts []access.Account, acct, root string) bool {
	parent := map[string]string{}
	for _, a := range accounts {
		parent[a.ID] = a.Parent
	}
	for x := acct; x != ""; x = parent[x] {
		if x == root {
			return true
		}
	}
	return false
}

// checkWorld compares, for every user, type and action (read, update),
// the records ListRecords returns for the engine's predicate with the
// records the engine allows.
func checkWorld(t *testing.T, s *instance, w *world) {
	t.Helper()
	src := access.RecordMap(w.records)
	e := s.Engine()
	mismatches, allowedPairs, nonEmpty := 0, 0, 0
	for _, u := range w.users {
		for _, typ := range w.types {
			for _, action := range []policy.Actions{policy.Read, policy.Update} {
				p, err := e.Predicate(u.ID, typ, action)
				if err != nil {
					t.Fatalf("Predicate(%s, %s): %v", u.ID, typ, err)
				}
				var want, matches []string
				for ref, r := range w.records {
					if ref.Type != typ {
						continue
					}
					a := e.Allowed(u.ID, r, action, src)
					if a {
						want = append(want, r.ID)
					}
					if p.Matches(r, src) {
						matches = append(matches, r.ID)
					}
				}
				sort.Strings(want)
				sort.Strings(matches)
				allowedPairs += len(want)
				if len(want) > 0 {
					nonEmpty++
				}
				if diff := cmp.Diff(want, matches); diff != "" {
					t.Errorf("ENGINE: Predicate(%s, %s, %v).Matches disagrees with Allowed (-allowed +matches):\n%s",
						u.ID, typ, action.Names(), diff)
				}
				sorts := []string{"-date", "date", "id", "-id"}
				q := store.RecordQuery{Type: typ, Predicate: p, Limit: 13, Sort: sorts[len(u.ID)%2*2+len(typ)%2]}
				if action == policy.Update {
					q.Sort, q.Limit = "id", 500
				}
				var got []string
				for _, r := range listAll(t, s, q) {
					got = append(got, r.ID)
				}
				sort.Strings(got)
				if diff := cmp.Diff(want, got, cmpEmpty); diff != "" {
					mismatches++
					if mismatches <= 15 {
						t.Errorf("ListRecords(%s, %s) with the predicate for %s disagrees with Allowed (-allowed +listed):\n%s\npredicate: %s",
							typ, action.Names(), u.ID, diff, describePredicate(p))
					}
				}
			}
		}
	}
	if mismatches > 15 {
		t.Errorf("... %d (user, type, action) combinations disagree in all", mismatches)
	}
	checkOwnerPaths(t, s, w)
	checkParentFilter(t, s, w)
	t.Logf("%d records; %d allowed (user, record, action) triples; %d of %d (user, type, action) lists non-empty",
		len(w.records), allowedPairs, nonEmpty, len(w.users)*len(w.types)*2)

	// Filters combine with the predicate (AND): an account subtree and a
	// date range, for every user, on sales orders.
	accts := []string{"a00", "a01", "a04", "a05", "a05x", "a08", "a12", "a16"}
	inAccts := map[string]bool{}
	for _, a := range accts {
		inAccts[a] = true
	}
	from, to := worldNow.AddDate(0, 0, -95).Format(time.DateOnly), worldNow.AddDate(0, 0, -5).Format(time.DateOnly)
	for _, u := range w.users {
		p, err := e.Predicate(u.ID, "sales_order", policy.Read)
		if err != nil {
			t.Fatal(err)
		}
		var want, got []string
		for ref, r := range w.records {
			d, _ := access.Day(r.Date)
			if ref.Type == "sales_order" && inAccts[r.Owner] && d != "" && d >= from && d <= to && e.Allowed(u.ID, r, policy.Read, src) {
				want = append(want, r.ID)
			}
		}
		q := store.RecordQuery{Type: "sales_order", Predicate: p, Accounts: accts, DateFrom: from, DateTo: to, Sort: "date", Limit: 5}
		for _, r := range listAll(t, s, q) {
			got = append(got, r.ID)
		}
		sort.Strings(want)
		sort.Strings(got)
		if diff := cmp.Diff(want, got, cmpEmpty); diff != "" {
			t.Errorf("ListRecords(sales_order, accounts %v, %s..%s) for %s (-allowed and filtered +listed):\n%s", accts, from, to, u.ID, diff)
		}
	}
}

var cmpEmpty = cmp.Transformer("nilToEmpty", func(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
})

// describePredicate renders a predicate for a failure message.
func describePredicate(p *access.Predicate) string {
	if p == nil {
		return "<nil>"
	}
	out := fmt.Sprintf("{type %s all %v user %s teamWrite %v", p.Type, p.All, p.User, p.TeamWrite)
	for _, ac := range p.Accounts {
		out += fmt.Sprintf(" accounts%v(cutoff %q own %v)", ac.Accounts, ac.Cutoff, ac.CreatorOnly)
	}
	if p.TeamUser != nil {
		out += fmt.Sprintf(" teamUser(cutoff %q own %v)", p.TeamUser.Cutoff, p.TeamUser.CreatorOnly)
	}
	for _, sc := range p.Shared {
		out += fmt.Sprintf(" shared(own %v parent %s)", sc.CreatorOnly, describePredicate(sc.Parent))
	}
	return out + "}"
}

// checkCoverage makes sure the random world exercises what the predicate
// must render: records reachable only through one kind of path, and
// denials for each reason a clause condition encodes. It fails when a seed
// makes the world too weak to be a test.
func checkCoverage(t *testing.T, s *instance, w *world) {
	t.Helper()
	src := access.RecordMap(w.records)
	sole := map[string]int{}
	reasons := map[string]int{}
	for _, u := range w.users {
		if u.Kind != access.KindExternal {
			continue
		}
		for _, r := range w.records {
			ex, err := s.Engine().Explain(u.ID, r, policy.Read, src)
			if err != nil {
				t.Fatalf("Explain: %v", err)
			}
			if ex.Allowed {
				kinds := map[string]bool{}
				for _, p := range ex.Paths {
					kinds[p.Kind] = true
				}
				if len(kinds) == 1 {
					for k := range kinds {
						sole[k]++
					}
				}
				continue
			}
			for _, rs := range ex.Reasons {
				reasons[rs.Code]++
			}
		}
	}
	t.Logf("allowed through one kind of path only: %v; deny reasons: %v", sole, reasons)
	for _, k := range []string{access.PathOwner, access.PathTeamAccount, access.PathTeamUser, access.PathSharing} {
		if sole[k] == 0 {
			t.Errorf("test world too weak: no record is readable only through a %s path", k)
		}
	}
	for _, c := range []string{access.ReasonOutsideDaysBack, access.ReasonOwnScopeNotCreator, access.ReasonChainBroken,
		access.ReasonExternalAccessOff, access.ReasonGrantInactive, access.ReasonUserDisabled, access.ReasonUserInvited} {
		if reasons[c] == 0 {
			t.Errorf("test world too weak: no denial for %s", c)
		}
	}
}

// testBoundaries pins the edges a rendering of the predicate gets wrong
// most easily, with explicit expectations: days_back against the UTC
// calendar day of an instant (not its local date), the inclusive cutoff,
// undated records, scope own, team entries' access for writes, and a
// sharing rule following a parent.
func testBoundaries(t *testing.T, b Backend) {
	s, _ := b.open(t, Options{Clock: func() time.Time { return worldNow }})
	a := account("A", "")
	a.ExternalAccess = true
	mustPutAccount(t, s, a)
	mustPutAccount(t, s, account("B", "")) // switch off
	mustPutUser(t, s, external("u", "A"))
	mustPutUser(t, s, external("t", "A"))
	g := grant("user:u", "A", "L20")
	g.DaysBack = ptr(30)
	mustCreateGrant(t, s, g)
	mustAddMember(t, s, "acct:A", "t") // L10 on A: tickets of its own only
	// worldNow is 2025-03-15, so the cutoff for days_back 30 is 2025-02-13.
	type rec struct {
		r                     *access.Record
		uRead, uUpdate, tRead bool
	}
	so := func(id, date string) *access.Record {
		return &access.Record{Type: "sales_order", ID: id, Owner: "A", Date: date, Attributes: map[string]any{}}
	}
	cases := []rec{
		{r: so("on-cutoff", "2025-02-13"), uRead: true},
		{r: so("before-cutoff", "2025-02-12"), uRead: false},
		{r: so("today", "2025-03-15"), uRead: true},
		{r: so("undated", ""), uRead: true},
		// 01:00 at +03:00 on the 13th is the 12th in UTC: hidden.
		{r: so("instant-prev-utc-day", "2025-02-13T01:00:00+03:00"), uRead: false},
		// 22:00 at -05:00 on the 12th is the 13th in UTC: visible.
		{r: so("instant-next-utc-day", "2025-02-12T22:00:00-05:00"), uRead: true},
		{r: so("instant-midnight", "2025-02-13T00:00:00Z"), uRead: true},
		{r: so("instant-last-ns", "2025-02-12T23:59:59.999999999Z"), uRead: false},
		// Owned by an account with the switch off, shared with u's by a
		// team entry: reachable through team_account, days_back applies.
		{r: &access.Record{Type: "sales_order", ID: "team-acct", Owner: "B", Date: "2025-03-01",
			Teams: []access.TeamEntry{{Principal: "account:A", Access: access.AccessRead}}, Attributes: map[string]any{}}, uRead: true},
		{r: &access.Record{Type: "sales_order", ID: "team-acct-old", Owner: "B", Date: "2025-01-01",
			Teams: []access.TeamEntry{{Principal: "account:A", Access: access.AccessRead}}, Attributes: map[string]any{}}, uRead: false},
		// A team user entry ignores days_back.
		{r: &access.Record{Type: "sales_order", ID: "team-user-old", Owner: "B", Date: "2020-01-01",
			Teams: []access.TeamEntry{{Principal: "user:u", Access: access.AccessRead}}, Attributes: map[string]any{}}, uRead: true},
		// Shipments follow their parent whatever their own date.
		{r: &access.Record{Type: "shipment", ID: "ship-of-visible", Date: "2019-01-01",
			Parent: &access.Ref{Type: "sales_order", ID: "on-cutoff"}, Attributes: map[string]any{}}, uRead: true},
		{r: &access.Record{Type: "shipment", ID: "ship-of-hidden", Date: "2025-03-15",
			Parent: &access.Ref{Type: "sales_order", ID: "before-cutoff"}, Attributes: map[string]any{}}, uRead: false},
		// Tickets: u (L20) sees and updates every ticket of A in range; t
		// (L10, scope own) only the ones it created.
		{r: &access.Record{Type: "ticket", ID: "tk-by-t", Owner: "A", Date: "2025-03-01", Creator: "t", Attributes: map[string]any{}},
			uRead: true, uUpdate: true, tRead: true},
		{r: &access.Record{Type: "ticket", ID: "tk-by-u", Owner: "A", Date: "2025-03-01", Creator: "u", Attributes: map[string]any{}},
			uRead: true, uUpdate: true, tRead: false},
		{r: &access.Record{Type: "ticket", ID: "tk-old-by-t", Owner: "A", Date: "2024-01-01", Creator: "t", Attributes: map[string]any{}},
			uRead: false, uUpdate: false, tRead: true},
		// A read-only team entry lets u read, not update.
		{r: &access.Record{Type: "ticket", ID: "tk-team-read", Owner: "B", Creator: "x",
			Teams: []access.TeamEntry{{Principal: "user:u", Access: access.AccessRead}}, Attributes: map[string]any{}},
			uRead: true, uUpdate: false},
		{r: &access.Record{Type: "ticket", ID: "tk-team-rw", Owner: "B", Creator: "x",
			Teams: []access.TeamEntry{{Principal: "user:u", Access: access.AccessReadWrite}}, Attributes: map[string]any{}},
			uRead: true, uUpdate: true},
	}
	src := access.RecordMap{}
	var batch store.RecordBatch
	for _, c := range cases {
		src[access.Ref{Type: c.r.Type, ID: c.r.ID}] = c.r
		batch.Upsert = append(batch.Upsert, cloneRecord(c.r))
	}
	if _, err := s.Batch(ctx(t), by, batch); err != nil {
		t.Fatalf("Batch: %v", err)
	}
	for _, check := range []struct {
		user   string
		action policy.Actions
		want   func(rec) bool
	}{
		{"u", policy.Read, func(c rec) bool { return c.uRead }},
		{"u", policy.Update, func(c rec) bool { return c.uUpdate }},
		{"t", policy.Read, func(c rec) bool { return c.tRead }},
	} {
		for _, typ := range []string{"sales_order", "shipment", "ticket"} {
			var want []string
			for _, c := range cases {
				if c.r.Type != typ {
					continue
				}
				if check.want(c) {
					want = append(want, c.r.ID)
				}
				if got := s.Engine().Allowed(check.user, c.r, check.action, src); got != check.want(c) {
					t.Errorf("ENGINE: Allowed(%s, %s, %v) = %v, want %v", check.user, c.r.ID, check.action.Names(), got, check.want(c))
				}
			}
			p, err := s.Engine().Predicate(check.user, typ, check.action)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range listAll(t, s, store.RecordQuery{Type: typ, Predicate: p, Limit: 2}) {
				got = append(got, r.ID)
			}
			sort.Strings(want)
			sort.Strings(got)
			if diff := cmp.Diff(want, got, cmpEmpty); diff != "" {
				t.Errorf("ListRecords(%s, %v) for %s (-want +got):\n%s\npredicate: %s", typ, check.action.Names(), check.user, diff, describePredicate(p))
			}
		}
	}
	// The owner inference of issue 12 (records.md §5): u sees B's orders
	// team-acct and team-user-old through teams, but a list filtered on
	// owner B (the app runs it with the owner-path predicate) must not
	// list them, else u learns that their owner is B.
	p, err := s.Engine().Predicate("u", "sales_order", policy.Read)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		accounts []string
		want     []string
	}{
		{[]string{"B"}, nil},
		{[]string{"A", "B"}, []string{"instant-midnight", "instant-next-utc-day", "on-cutoff", "today", "undated"}},
	} {
		var got []string
		for _, r := range listAll(t, s, store.RecordQuery{Type: "sales_order", Predicate: p.OwnerPaths(), Accounts: tc.accounts, Limit: 2}) {
			got = append(got, r.ID)
		}
		sort.Strings(got)
		if diff := cmp.Diff(tc.want, got, cmpEmpty); diff != "" {
			t.Errorf("ListRecords(sales_order, accounts %v) with u's owner paths (-want +got):\n%s", tc.accounts, diff)
		}
	}
}

// countPredicateAccounts counts the account entries of p's clauses.
func countPredicateAccounts(p *access.Predicate) int {
	n := 0
	for _, ac := range p.Accounts {
		n += len(ac.Accounts)
	}
	return n
}

// checkOwnerPaths holds the predicate limited to owner paths (what a list
// filtered or sorted on the owner runs with, records.md §5) to the engine:
// in memory and rendered by the backend, it selects exactly the records
// some owner path of the user allows reading, never one seen only through
// teams or sharing, also combined with an account filter.
func checkOwnerPaths(t *testing.T, s *instance, w *world) {
	t.Helper()
	src := access.RecordMap(w.records)
	e := s.Engine()
	accts := []string{"a00", "a01", "a04", "a05", "a05x", "a08", "a12", "a16"}
	inAccts := map[string]bool{}
	for _, a := range accts {
		inAccts[a] = true
	}
	bad := 0
	for _, u := range w.users {
		for _, typ := range w.types {
			p, err := e.Predicate(u.ID, typ, policy.Read)
			if err != nil {
				t.Fatal(err)
			}
			op := p.OwnerPaths()
			var want, wantIn, matches []string
			for ref, r := range w.records {
				if ref.Type != typ {
					continue
				}
				x, err := e.Explain(u.ID, r, policy.Read, src)
				if err != nil {
					t.Fatal(err)
				}
				owner := false
				for _, pi := range x.Paths {
					owner = owner || (x.Allowed && pi.Kind == "owner")
				}
				if u.Kind == access.KindInternal {
					owner = x.Allowed
				}
				if owner {
					want = append(want, r.ID)
					if inAccts[r.Owner] {
						wantIn = append(wantIn, r.ID)
					}
				}
				if op.Matches(r, src) {
					matches = append(matches, r.ID)
				}
			}
			sort.Strings(want)
			sort.Strings(wantIn)
			sort.Strings(matches)
			if diff := cmp.Diff(want, matches, cmpEmpty); diff != "" {
				t.Errorf("ENGINE: OwnerPaths(%s, %s).Matches disagrees with the owner paths of Explain (-explain +matches):\n%s", u.ID, typ, diff)
			}
			for _, q := range []store.RecordQuery{
				{Type: typ, Predicate: op, Sort: "id", Limit: 7},
				{Type: typ, Predicate: op, Sort: "-date", Limit: 500, Accounts: accts},
			} {
				wantQ := want
				if q.Accounts != nil {
					wantQ = wantIn
				}
				var got []string
				for _, r := range listAll(t, s, q) {
					got = append(got, r.ID)
				}
				sort.Strings(got)
				if diff := cmp.Diff(wantQ, got, cmpEmpty); diff != "" {
					if bad++; bad <= 10 {
						t.Errorf("ListRecords(%s, accounts %v) with the owner-path predicate of %s disagrees (-owner paths +listed):\n%s\npredicate: %s",
							typ, q.Accounts, u.ID, diff, describePredicate(op))
					}
				}
			}
		}
	}
}
