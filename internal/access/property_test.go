package access_test

// Property test: on random small worlds, the engine answers every question
// exactly as the reference model of reference_test.go does.
//
// The normal `go test ./internal/access/` run checks propDefaultChecks random
// worlds (a fifth of that with -short). -rapid.checks=N or RAPID_CHECKS=N,
// when given, win; -rapid.seed / -rapid.failfile reproduce a failure.

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// propDefaultChecks is the number of random worlds a plain `go test` run
// checks.
const propDefaultChecks = 10000

func TestPropertyEngineMatchesReference(t *testing.T) {
	defer propSetChecks(propDefaultChecks)()
	start := time.Now()
	rapid.Check(t, propCheckWorld)
	t.Logf("checked %s random worlds in %v", flag.Lookup("rapid.checks").Value, time.Since(start).Round(time.Millisecond))
}

// propSetChecks sets rapid's check count to n unless the run set it
// explicitly (flag or RAPID_CHECKS), and returns a function restoring it.
// rapid offers no programmatic setting other than its flag.
func propSetChecks(n int) func() {
	f := flag.Lookup("rapid.checks")
	if f == nil {
		return func() {}
	}
	explicit := false
	flag.Visit(func(v *flag.Flag) {
		if v.Name == "rapid.checks" {
			explicit = true
		}
	})
	if _, ok := os.LookupEnv("RAPID_CHECKS"); ok || explicit {
		return func() {}
	}
	old := f.Value.String()
	if err := flag.Set("rapid.checks", fmt.Sprint(n)); err != nil {
		panic(err)
	}
	return func() { _ = flag.Set("rapid.checks", old) }
}

// ---- policies ----

// propExtendedPolicy is the default policy plus types whose sharing rules
// chain: note and memo are each other's parent type (note -> memo and
// memo -> note, read_write), and note -> task (read). So sharing chains,
// cycles, the hop limit, update and delete through sharing, and role ties
// (T20 has L20's level and is listed after it) are exercised.
var propExtendedPolicy = sync.OnceValue(func() *policy.Policy {
	d, err := policy.Parse(policy.DefaultYAML())
	if err != nil {
		panic(err)
	}
	d.ObjectTypes = append(d.ObjectTypes,
		policy.ObjectType{Name: "note", Title: "Note", ParentType: "memo",
			RestrictedFields: []string{"secret", "meta.cost"}},
		policy.ObjectType{Name: "memo", Title: "Memo", ParentType: "note",
			RestrictedFields: []string{"secret"}},
		policy.ObjectType{Name: "task", Title: "Task", ParentType: "note",
			RestrictedFields: []string{"lines[].cost"}},
	)
	d.SharingRules = append(d.SharingRules,
		policy.SharingRule{From: "memo", To: "note", Access: policy.AccessReadWrite},
		policy.SharingRule{From: "note", To: "memo", Access: policy.AccessReadWrite},
		policy.SharingRule{From: "note", To: "task", Access: policy.AccessRead},
	)
	for i := range d.Roles {
		r := &d.Roles[i]
		if r.Permissions == nil {
			r.Permissions = map[string]policy.Permission{}
		}
		switch r.Name {
		case "L10":
			r.Permissions["note"] = policy.Permission{Actions: []string{"read", "update", "delete"}, Scope: policy.ScopeOwn}
			r.Permissions["memo"] = policy.Permission{Actions: []string{"read"}, Scope: policy.ScopeOwn}
		case "L20":
			r.Permissions["note"] = policy.Permission{Actions: []string{"read"}, Scope: policy.ScopeAccount}
			r.Permissions["memo"] = policy.Permission{Actions: []string{"read", "update"}}
		case "L30":
			r.Permissions["note"] = policy.Permission{Fields: []string{"secret"}}
			r.Permissions["memo"] = policy.Permission{Fields: []string{"secret"}}
		case "L40":
			r.Permissions["task"] = policy.Permission{Actions: []string{"read", "update"}, Fields: []string{"lines[].cost"}}
		case "L80":
			r.Permissions["note"] = policy.Permission{Fields: []string{"meta.cost"}}
		}
	}
	d.Roles = append(d.Roles, policy.Role{Name: "T20", Title: "Tie", Level: 20, Includes: []string{"L10"}, Assignable: true,
		Permissions: map[string]policy.Permission{
			"note":     {Actions: []string{"read"}, Scope: policy.ScopeOwn, Fields: []string{"meta.cost"}},
			"task":     {Actions: []string{"read"}},
			"shipment": {Actions: []string{"read"}},
		}})
	p, err := policy.Compile(d)
	if err != nil {
		panic(err)
	}
	return p
})

// ---- generation ----

// The fixed clocks: some near UTC midnight, some in zones where the local
// date differs from the UTC date.
var propNows = []time.Time{
	time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC),
	time.Date(2025, 3, 15, 0, 5, 0, 0, time.UTC),
	time.Date(2025, 3, 15, 23, 55, 0, 0, time.UTC),
	time.Date(2025, 3, 16, 2, 0, 0, 0, time.FixedZone("+05", 5*3600)),   // 2025-03-15T21:00Z
	time.Date(2025, 3, 14, 20, 0, 0, 0, time.FixedZone("-08", -8*3600)), // 2025-03-15T04:00Z
}

var propZones = []string{"Z", "+14:00", "-12:00", "+05:30", "-03:00", "+01:00"}

type propGen struct {
	t   *rapid.T
	pol *policy.Policy
	now time.Time
	w   *refWorld
	ops []string // mutations applied, for the failure description
	// shapes are the shapes drawn for each record's top-level attributes
	// holding restricted fields (see propAttributes).
	shapes map[access.Ref]map[string]string
}

func (g *propGen) intn(lo, hi int, label string) int {
	return rapid.IntRange(lo, hi).Draw(g.t, label)
}

// chance is true one time in outOf. Its draw shrinks towards false, so a
// minimized failing world keeps only the unusual features it needs.
func (g *propGen) chance(outOf int, label string) bool {
	return rapid.IntRange(0, outOf-1).Draw(g.t, label) == outOf-1
}

func (g *propGen) pick(xs []string, label string) string {
	return rapid.SampledFrom(xs).Draw(g.t, label)
}

func (g *propGen) accountIDs() []string {
	var out []string
	for _, a := range g.w.accounts {
		out = append(out, a.ID)
	}
	return out
}

func (g *propGen) userIDs() []string {
	var out []string
	for _, u := range g.w.users {
		out = append(out, u.ID)
	}
	return out
}

func (g *propGen) principals() []string {
	var out []string
	for _, u := range g.w.users {
		out = append(out, "user:"+u.ID)
	}
	for _, gr := range g.w.groups {
		out = append(out, "group:"+gr.ID)
	}
	return out
}

func (g *propGen) roleNames() []string {
	var out []string
	for _, r := range g.pol.Roles() {
		out = append(out, r.Name)
	}
	return out
}

func (g *propGen) typeNames() []string {
	var out []string
	for _, t := range g.pol.Types() {
		out = append(out, t.Name)
	}
	return out
}

func (g *propGen) timeAround(label string) *time.Time {
	offsets := []time.Duration{-48 * time.Hour, -time.Hour, -time.Second, 0, time.Second, time.Hour, 48 * time.Hour}
	i := g.intn(0, len(offsets), label)
	if i == 0 {
		return nil
	}
	v := g.now.Add(offsets[i-1]).UTC()
	return &v
}

func (g *propGen) grantFields(gr *access.Grant, n string) {
	gr.Role = g.pick(g.roleNames(), n+".role")
	gr.Scope = access.ScopeSubtree
	if g.chance(3, n+".scope_account") {
		gr.Scope = access.ScopeAccount
	}
	gr.Access = access.AccessReadWrite
	if g.chance(3, n+".access_read") {
		gr.Access = access.AccessRead
	}
	gr.DaysBack = nil
	if g.chance(3, n+".has_days_back") {
		v := g.intn(0, 60, n+".days_back")
		gr.DaysBack = &v
	}
	gr.ValidFrom, gr.ValidUntil = nil, nil
	if g.chance(4, n+".has_validity") {
		gr.ValidFrom = g.timeAround(n + ".valid_from")
		gr.ValidUntil = g.timeAround(n + ".valid_until")
	}
}

// freePair reports whether no grant other than except has (principal, account).
func (g *propGen) freePair(principal, acct, except string) bool {
	for _, x := range g.w.grants {
		if x.ID != except && x.Principal == principal && x.Account == acct {
			return false
		}
	}
	return true
}

func (g *propGen) genWorld() {
	w := g.w
	// A heavy world gives its first user a grant on nearly every one of
	// up to 14 accounts, so that users with more grants than the engine's
	// small list (its per-account index) are decided too.
	heavy := g.chance(4, "heavy")
	nAcc := g.intn(1, 8, "accounts")
	if heavy {
		nAcc = g.intn(9, 14, "accounts")
	}
	for i := range nAcc {
		n := fmt.Sprintf("a%d", i)
		a := access.Account{ID: n, Name: n, Kind: "customer", Inherit: !g.chance(4, n+".no_inherit"),
			ExternalAccess: !g.chance(5, n+".switch_off")}
		if i > 0 && !g.chance(3, n+".root") {
			a.Parent = fmt.Sprintf("a%d", g.intn(0, i-1, n+".parent"))
		}
		w.accounts = append(w.accounts, a)
	}
	nUsers := g.intn(1, 6, "users")
	for i := range nUsers {
		n := fmt.Sprintf("u%d", i)
		u := access.User{ID: n, Name: n, Email: n + "@example.com", Kind: access.KindExternal, Status: access.StatusActive}
		switch g.intn(0, 7, n+".status") {
		case 6:
			u.Status = access.StatusInvited
		case 7:
			u.Status = access.StatusDisabled
		}
		if g.chance(6, n+".internal") {
			u.Kind = access.KindInternal
			u.StaffRole = g.pick([]string{access.StaffAdmin, access.StaffAccessManager, access.StaffAuditor}, n+".staff_role")
		} else {
			u.HomeAccount = g.pick(g.accountIDs(), n+".home")
		}
		w.users = append(w.users, u)
	}
	nGroups := g.intn(0, 3, "groups")
	for i := range nGroups {
		gr := refGroup{ID: fmt.Sprintf("g%d", i)}
		for _, u := range w.users {
			if g.chance(2, gr.ID+".member."+u.ID) {
				gr.Members = append(gr.Members, u.ID)
			}
		}
		w.groups = append(w.groups, gr)
	}
	if heavy && w.users[0].Kind == access.KindExternal {
		for _, acct := range g.accountIDs() {
			if g.chance(6, "heavy.skip."+acct) {
				continue
			}
			gr := access.Grant{ID: "H" + acct, Principal: "user:" + w.users[0].ID, Account: acct}
			g.grantFields(&gr, gr.ID)
			w.grants = append(w.grants, gr)
		}
	}
	nGrants := g.intn(0, 10, "grants")
	for i := range nGrants {
		n := fmt.Sprintf("G%d", i)
		gr := access.Grant{ID: n, Principal: g.pick(g.principals(), n+".principal"), Account: g.pick(g.accountIDs(), n+".account")}
		if !g.freePair(gr.Principal, gr.Account, "") {
			continue // at most one grant per (principal, account)
		}
		g.grantFields(&gr, n)
		w.grants = append(w.grants, gr)
	}
	g.genRecords()
}

func (g *propGen) genDate(n string) string {
	today := time.Date(g.now.UTC().Year(), g.now.UTC().Month(), g.now.UTC().Day(), 0, 0, 0, 0, time.UTC)
	switch g.intn(0, 2, n+".date_kind") {
	case 0:
		return ""
	case 1:
		return today.AddDate(0, 0, g.intn(-70, 3, n+".date_days")).Format("2006-01-02")
	}
	day := today.AddDate(0, 0, g.intn(-70, 3, n+".date_days"))
	clock := []string{"00:10:00", "23:50:00", "12:00:00", "00:00:00"}[g.intn(0, 3, n+".date_clock")]
	return day.Format("2006-01-02") + "T" + clock + g.pick(propZones, n+".date_zone")
}

func (g *propGen) genRecords() {
	w := g.w
	nRec := g.intn(1, 12, "records")
	types := g.typeNames()
	for i := range nRec {
		n := fmt.Sprintf("r%d", i)
		typ := g.pick(types, n+".type")
		if g.pol.Type("note") != nil && g.chance(2, n+".chain_type") {
			typ = g.pick([]string{"note", "memo", "task"}, n+".chain_type_name")
		}
		r := &access.Record{Type: typ, ID: n}
		switch g.intn(0, 5, n+".owner_kind") {
		case 0:
		case 1:
			r.Owner = "ghost"
		default:
			r.Owner = g.pick(g.accountIDs(), n+".owner")
		}
		r.Date = g.genDate(n)
		switch g.intn(0, 3, n+".creator_kind") {
		case 0:
		case 1:
			r.Creator = "ghost"
		default:
			r.Creator = g.pick(g.userIDs(), n+".creator")
		}
		nTeams := g.intn(0, 3, n+".teams")
		for j := range nTeams {
			tn := fmt.Sprintf("%s.team%d", n, j)
			var e access.TeamEntry
			switch g.intn(0, 4, tn+".kind") {
			case 0, 1:
				e.Principal = "account:" + g.pick(g.accountIDs(), tn+".account")
			case 2:
				e.Principal = "user:" + g.pick(g.userIDs(), tn+".user")
			case 3:
				e.Principal = "user:ghost"
			default:
				e.Principal = "account:ghost"
			}
			e.Access = access.AccessRead
			if g.chance(2, tn+".rw") {
				e.Access = access.AccessReadWrite
			}
			r.Teams = append(r.Teams, e)
		}
		r.Attributes = g.propAttributes(typ, r, n)
		w.records = append(w.records, r)
	}
	// Parents, once every record exists so that chains and cycles can form.
	for i, r := range w.records {
		n := fmt.Sprintf("r%d", i)
		pt := g.pol.Type(r.Type).ParentType
		if pt == "" {
			continue // the default types without parent_type never share
		}
		var cands []string
		prev := ""
		for j, p := range w.records {
			if p.Type == pt && j != i {
				cands = append(cands, p.ID)
				if j < i {
					prev = p.ID // the closest earlier one: builds long chains
				}
			}
			if p.Type == pt && j == i && g.chance(8, n+".self_parent") {
				cands = append(cands, p.ID)
			}
		}
		switch k := g.intn(0, 5, n+".parent_kind"); {
		case k == 0:
		case k == 1:
			r.Parent = &access.Ref{Type: pt, ID: "missing"}
		case k == 2 && prev != "":
			r.Parent = &access.Ref{Type: pt, ID: prev}
		case len(cands) > 0:
			r.Parent = &access.Ref{Type: pt, ID: g.pick(cands, n+".parent")}
		}
	}
}

// propShapes are the shapes the stored data of a restricted path takes
// (records.md §5): what the path expects, the other container (an object
// where "lines[]" expects an array, an array where "a.b" expects an
// object), arrays nested in arrays, a scalar where a container is
// expected, null, and no attribute at all. The first one is what a
// minimized failure shrinks to.
var propShapes = []string{"match", "other_container", "nested_arrays", "scalar", "null", "absent"}

// propSecret is the value a generated record holds at restricted path p:
// text that appears nowhere else, so a view that leaks it, under any
// shape, is caught by searching its encoding.
func propSecret(p string) string { return "§" + p + "§" }

// propAttributes gives a record every restricted field of its type, each
// top-level attribute holding them in a drawn shape (recorded in
// g.shapes), so that View's masking can be checked against every shape,
// and the owner_field when the type has one.
func (g *propGen) propAttributes(typ string, r *access.Record, n string) map[string]any {
	attrs := map[string]any{"number": r.ID}
	t := g.pol.Type(typ)
	shapes := map[string]string{}
	for _, top := range propTops(t) {
		shape := g.pick(propShapes, n+".shape."+top)
		shapes[top] = shape
		if shape == "absent" {
			continue
		}
		var leaves []propLeaf
		for _, f := range t.Restricted {
			if f.Segments[0].Name == top {
				leaves = append(leaves, propLeaf{f.Path, f.Segments})
			}
		}
		attrs[top] = propValue(leaves, shape)
	}
	if g.shapes == nil {
		g.shapes = map[access.Ref]map[string]string{}
	}
	g.shapes[access.Ref{Type: typ, ID: r.ID}] = shapes
	if typ == "sales_order" || typ == "invoice" {
		attrs["customer"] = r.Owner
	}
	return attrs
}

// propTops lists the top-level attributes of t's restricted fields, in
// declaration order.
func propTops(t *policy.Type) []string {
	var tops []string
	for _, f := range t.Restricted {
		if top := f.Segments[0].Name; !slices.Contains(tops, top) {
			tops = append(tops, top)
		}
	}
	return tops
}

// propLeaf is a restricted path and the segments of it still to build.
type propLeaf struct {
	path string
	segs []policy.PathSegment
}

// propValue builds the value of the attribute leaves[*].segs[0] (the same
// segment for all) in the given shape, at every level of the paths.
func propValue(leaves []propLeaf, shape string) any {
	seg := leaves[0].segs[0]
	switch shape {
	case "null":
		return nil
	case "scalar":
		return propSecret(leaves[0].path)
	}
	var v any
	if len(leaves[0].segs) == 1 {
		v = propSecret(leaves[0].path)
	} else {
		obj := map[string]any{"keep": "k"}
		var names []string
		groups := map[string][]propLeaf{}
		for _, l := range leaves {
			name := l.segs[1].Name
			if groups[name] == nil {
				names = append(names, name)
			}
			groups[name] = append(groups[name], propLeaf{l.path, l.segs[1:]})
		}
		for _, name := range names {
			obj[name] = propValue(groups[name], shape)
		}
		v = obj
	}
	leaf := len(leaves[0].segs) == 1
	switch {
	case shape == "match" && leaf:
		return v
	case shape == "match" && seg.Each:
		return []any{v, nil, map[string]any{"keep": "k"}}
	case shape == "match":
		return v
	case leaf && shape == "other_container":
		return map[string]any{"wrapped": v} // a leaf is removed whatever it holds
	case shape == "other_container" && seg.Each:
		return v
	case shape == "other_container":
		return []any{v}
	default: // nested_arrays
		return []any{[]any{v}}
	}
}

// propMaskReference is the reference model of masking: for a viewer who
// may see exactly the restricted fields in visible, it lists the secrets
// a view of a record whose top-level attributes have the given shapes
// must show, and those it must not. A hidden field's secret never shows.
// A visible field's secret shows when its attribute is there and either
// has the expected shape or holds no hidden field (a shape that does not
// match a hidden field's path removes the whole attribute), and, for a
// scalar, only the first field's secret is stored at all.
func propMaskReference(t *policy.Type, shapes map[string]string, visible []string) (show, hide []string) {
	for _, f := range t.Restricted {
		if !slices.Contains(visible, f.Path) {
			hide = append(hide, propSecret(f.Path))
			continue
		}
		top := f.Segments[0].Name
		shape := shapes[top]
		if shape == "null" || shape == "absent" {
			continue
		}
		first, hiddenBeside := "", false
		for _, o := range t.Restricted {
			if o.Segments[0].Name != top {
				continue
			}
			if first == "" {
				first = o.Path
			}
			if !slices.Contains(visible, o.Path) {
				hiddenBeside = true
			}
		}
		oddForHidden := hiddenBeside && shape != "match"
		if shape == "scalar" && f.Path != first {
			continue
		}
		if !oddForHidden {
			show = append(show, propSecret(f.Path))
		}
	}
	return show, hide
}

// ---- building the engine ----

func (g *propGen) snapshot() access.Snapshot {
	var s access.Snapshot
	s.Accounts = append(s.Accounts, g.w.accounts...)
	s.Users = append(s.Users, g.w.users...)
	for _, gr := range g.w.groups {
		s.Groups = append(s.Groups, access.Group{ID: gr.ID, Name: gr.ID})
		for _, m := range gr.Members {
			s.Members = append(s.Members, [2]string{gr.ID, m})
		}
	}
	s.Grants = append(s.Grants, g.w.grants...)
	return s
}

func (g *propGen) build() *access.Engine {
	now := g.now
	e := access.NewEngine(g.pol, func() time.Time { return now })
	if g.chance(3, "build_incrementally") {
		g.ops = append(g.ops, "(built by Put*/AddMember calls, not Load)")
		// Accounts are generated parents first.
		for _, a := range g.w.accounts {
			g.must(e.PutAccount(a), "PutAccount %s", a.ID)
		}
		for _, u := range g.w.users {
			g.must(e.PutUser(u), "PutUser %s", u.ID)
		}
		for _, gr := range g.w.groups {
			g.must(e.PutGroup(access.Group{ID: gr.ID, Name: gr.ID}), "PutGroup %s", gr.ID)
		}
		// Grants and memberships interleaved, as an admin would make them.
		members := [][2]string{}
		for _, gr := range g.w.groups {
			for _, m := range gr.Members {
				members = append(members, [2]string{gr.ID, m})
			}
		}
		gi, mi := 0, 0
		for gi < len(g.w.grants) || mi < len(members) {
			if mi < len(members) && (gi == len(g.w.grants) || g.chance(2, "interleave")) {
				g.must(e.AddMember(members[mi][0], members[mi][1]), "AddMember %v", members[mi])
				mi++
			} else {
				g.must(e.PutGrant(g.w.grants[gi]), "PutGrant %s", g.w.grants[gi].ID)
				gi++
			}
		}
		return e
	}
	g.must(e.Load(g.snapshot()), "Load")
	return e
}

func (g *propGen) must(err error, format string, args ...any) {
	if err != nil {
		g.t.Fatalf("engine rejected a valid change %s: %v\nworld:\n%s", fmt.Sprintf(format, args...), err, g.w.describe())
	}
}

// mutate applies one random change to both the engine and the reference.
func (g *propGen) mutate(e *access.Engine, i int) {
	w := g.w
	n := fmt.Sprintf("op%d", i)
	switch g.intn(0, 7, n+".kind") {
	case 0: // new grant
		gr := access.Grant{ID: fmt.Sprintf("N%d", i), Principal: g.pick(g.principals(), n+".principal"),
			Account: g.pick(g.accountIDs(), n+".account")}
		if !g.freePair(gr.Principal, gr.Account, "") {
			return
		}
		g.grantFields(&gr, n)
		g.must(e.PutGrant(gr), "PutGrant %s", gr.ID)
		w.putGrant(gr)
		g.ops = append(g.ops, "PutGrant "+refGrantString(gr))
	case 1: // replace a grant: new role, scope, access, days_back, validity; maybe a new account
		if len(w.grants) == 0 {
			return
		}
		gr := w.grants[g.intn(0, len(w.grants)-1, n+".grant")]
		if g.chance(3, n+".move") {
			acct := g.pick(g.accountIDs(), n+".account")
			if g.freePair(gr.Principal, acct, gr.ID) {
				gr.Account = acct
			}
		}
		g.grantFields(&gr, n)
		g.must(e.PutGrant(gr), "PutGrant (replace) %s", gr.ID)
		w.putGrant(gr)
		g.ops = append(g.ops, "PutGrant (replace) "+refGrantString(gr))
	case 2: // delete a grant
		if len(w.grants) == 0 {
			return
		}
		id := w.grants[g.intn(0, len(w.grants)-1, n+".grant")].ID
		g.must(e.DeleteGrant(id), "DeleteGrant %s", id)
		w.deleteGrant(id)
		g.ops = append(g.ops, "DeleteGrant "+id)
	case 3: // add or remove a member
		if len(w.groups) == 0 {
			return
		}
		gid := w.groups[g.intn(0, len(w.groups)-1, n+".group")].ID
		uid := g.pick(g.userIDs(), n+".user")
		if g.chance(2, n+".remove") {
			g.must(e.RemoveMember(gid, uid), "RemoveMember %s %s", gid, uid)
			w.removeMember(gid, uid)
			g.ops = append(g.ops, fmt.Sprintf("RemoveMember %s %s", gid, uid))
		} else {
			g.must(e.AddMember(gid, uid), "AddMember %s %s", gid, uid)
			w.addMember(gid, uid)
			g.ops = append(g.ops, fmt.Sprintf("AddMember %s %s", gid, uid))
		}
	case 4: // reparent an account (no cycles)
		a := w.accounts[g.intn(0, len(w.accounts)-1, n+".account")]
		var cands []string
		for _, b := range w.accounts {
			if !w.inSubtree(b.ID, a.ID) {
				cands = append(cands, b.ID)
			}
		}
		a.Parent = ""
		if len(cands) > 0 && !g.chance(3, n+".to_root") {
			a.Parent = g.pick(cands, n+".parent")
		}
		g.must(e.PutAccount(a), "PutAccount %s", a.ID)
		w.putAccount(a)
		g.ops = append(g.ops, fmt.Sprintf("PutAccount %s parent=%q (reparent)", a.ID, a.Parent))
	case 5: // toggle an account's switch or inherit
		a := w.accounts[g.intn(0, len(w.accounts)-1, n+".account")]
		if g.chance(2, n+".inherit") {
			a.Inherit = !a.Inherit
		} else {
			a.ExternalAccess = !a.ExternalAccess
		}
		g.must(e.PutAccount(a), "PutAccount %s", a.ID)
		w.putAccount(a)
		g.ops = append(g.ops, fmt.Sprintf("PutAccount %s external_access=%v inherit=%v", a.ID, a.ExternalAccess, a.Inherit))
	case 6: // change a user's status
		u := w.users[g.intn(0, len(w.users)-1, n+".user")]
		u.Status = g.pick([]string{access.StatusActive, access.StatusInvited, access.StatusDisabled}, n+".status")
		g.must(e.PutUser(u), "PutUser %s", u.ID)
		w.putUser(u)
		g.ops = append(g.ops, fmt.Sprintf("PutUser %s status=%s", u.ID, u.Status))
	case 7: // a new group with members and a grant
		gid := fmt.Sprintf("g%d", len(w.groups)+i*10)
		g.must(e.PutGroup(access.Group{ID: gid, Name: gid}), "PutGroup %s", gid)
		w.groups = append(w.groups, refGroup{ID: gid})
		g.ops = append(g.ops, "PutGroup "+gid)
		uid := g.pick(g.userIDs(), n+".user")
		g.must(e.AddMember(gid, uid), "AddMember %s %s", gid, uid)
		w.addMember(gid, uid)
		g.ops = append(g.ops, fmt.Sprintf("AddMember %s %s", gid, uid))
	}
}

// warmUp asks the engine questions so that whatever it derives lazily
// exists before the mutations.
func (g *propGen) warmUp(e *access.Engine, src access.RecordMap) {
	for _, u := range g.w.users {
		for _, r := range g.w.records {
			e.Allowed(u.ID, r, policy.Read, src)
			_, _ = e.Predicate(u.ID, r.Type, policy.Update)
		}
	}
	for _, r := range g.w.records {
		e.Viewers(r, src)
	}
}

// ---- the property ----

var propActions = []struct {
	name string
	bit  policy.Actions
}{{"read", policy.Read}, {"update", policy.Update}, {"delete", policy.Delete}}

func propCheckWorld(t *rapid.T) {
	g := &propGen{t: t}
	if rapid.Bool().Draw(t, "extended_policy") {
		g.pol = propExtendedPolicy()
	} else {
		g.pol = policy.Default()
	}
	g.now = rapid.SampledFrom(propNows).Draw(t, "now")
	g.w = &refWorld{pol: g.pol, now: g.now}
	g.genWorld()
	initial := g.w.clone()

	e := g.build()
	src := access.RecordMap{}
	for _, r := range g.w.records {
		src[access.Ref{Type: r.Type, ID: r.ID}] = r
	}
	if g.chance(3, "mutate") {
		if g.chance(2, "warm_up") {
			g.ops = append(g.ops, "(engine warmed up with questions before the changes)")
			g.warmUp(e, src)
		}
		nOps := g.intn(1, 8, "ops")
		for i := range nOps {
			g.mutate(e, i)
		}
	}

	var problems []string
	report := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	w := g.w
	for _, u := range w.users {
		for _, r := range w.records {
			ps := w.paths(u.ID, r, 0)
			for _, a := range propActions {
				want, wantFields := w.decide(u.ID, r, a.bit)
				triple := fmt.Sprintf("(user %s, record %s/%s, %s)", u.ID, r.Type, r.ID, a.name)
				if got := e.Allowed(u.ID, r, a.bit, src); got != want {
					report("Allowed%s = %v, reference %v; reference paths: %v", triple, got, want, ps)
				}
				gotOK, gotFields := e.Check(u.ID, r, a.bit, src)
				if gotOK != want || !propSameSet(gotFields, wantFields) {
					report("Check%s = (%v, %v), reference (%v, %v); reference paths: %v", triple, gotOK, gotFields, want, wantFields, ps)
				}
				pred, err := e.Predicate(u.ID, r.Type, a.bit)
				if err != nil {
					report("Predicate(%s, %s, %s): %v", u.ID, r.Type, a.name, err)
				} else if got := pred.Matches(r, src); got != want {
					report("Predicate(%s, %s, %s).Matches(%s) = %v, reference %v; predicate %s; reference paths: %v",
						u.ID, r.Type, a.name, r.ID, got, want, propPredString(pred), ps)
				}
				ex, err := e.Explain(u.ID, r, a.bit, src)
				if err != nil {
					report("Explain%s: %v", triple, err)
				} else {
					if ex.Allowed != want {
						report("Explain%s.Allowed = %v, reference %v; explain %+v; reference paths: %v", triple, ex.Allowed, want, ex, ps)
					}
					if a.bit == policy.Read && want && u.Kind == access.KindExternal && !propSameSet(ex.Fields.Visible, wantFields) {
						report("Explain%s.Fields.Visible = %v, reference %v", triple, ex.Fields.Visible, wantFields)
					}
				}
			}
			// Read-side views of the same answer.
			wantRead, wantFields := w.decide(u.ID, r, policy.Read)
			fs, ok := e.VisibleFields(u.ID, r, src)
			if ok != wantRead || (ok && !propSameSet(g.pol.Type(r.Type).FieldNames(fs), wantFields)) {
				report("VisibleFields(user %s, record %s/%s) = (%v, %v), reference (%v, %v)", u.ID, r.Type, r.ID,
					g.pol.Type(r.Type).FieldNames(fs), ok, wantFields, wantRead)
			}
			view, ok := e.View(u.ID, r, src)
			if ok != wantRead {
				report("View(user %s, record %s/%s) ok = %v, reference %v", u.ID, r.Type, r.ID, ok, wantRead)
			} else if ok {
				t := g.pol.Type(r.Type)
				for _, f := range t.Restricted {
					if f.Present(view.Attributes) && !slices.Contains(wantFields, f.Path) {
						report("View(user %s, record %s/%s) holds hidden field %s (or a value of another shape at it)", u.ID, r.Type, r.ID, f.Path)
					}
				}
				shapes := g.shapes[access.Ref{Type: r.Type, ID: r.ID}]
				show, hide := propMaskReference(t, shapes, wantFields)
				b, err := json.Marshal(view.Attributes)
				if err != nil {
					report("View(user %s, record %s/%s): encoding: %v", u.ID, r.Type, r.ID, err)
				}
				// The same record listed with its attributes undecoded
				// (Record.Raw) must show exactly the same attributes.
				raw := *r
				raw.Attributes = nil
				raw.Raw, _ = json.Marshal(r.Attributes)
				if rv, ok := e.View(u.ID, &raw, src); !ok {
					report("View(user %s, raw record %s/%s) denied", u.ID, r.Type, r.ID)
				} else {
					rb := rv.Raw
					if rb == nil {
						rb, _ = json.Marshal(rv.Attributes)
					}
					var x, y any
					_ = json.Unmarshal(b, &x)
					_ = json.Unmarshal(rb, &y)
					if !reflect.DeepEqual(x, y) || rv.Owner != view.Owner || rv.Creator != view.Creator {
						report("View(user %s, raw record %s/%s) shows %s (owner %q), decoded %s (owner %q)", u.ID, r.Type, r.ID, rb, rv.Owner, b, view.Owner)
					}
				}
				for _, s := range hide {
					if strings.Contains(string(b), s) {
						report("View(user %s, record %s/%s) with shapes %v leaks %s: %s", u.ID, r.Type, r.ID, shapes, s, b)
					}
				}
				for _, s := range show {
					if !strings.Contains(string(b), s) {
						report("View(user %s, record %s/%s) with shapes %v lacks visible %s: %s", u.ID, r.Type, r.ID, shapes, s, b)
					}
				}
			}
		}
	}
	// A page of records viewed at once (ViewPage: one lock, one decision,
	// owners remembered across rows), half of them raw, is row for row
	// what View shows of each.
	for _, u := range w.users {
		page := make([]*access.Record, len(w.records))
		for i, r := range w.records {
			page[i] = r
			if i%2 == 1 {
				raw := *r
				raw.Attributes = nil
				raw.Raw, _ = json.Marshal(r.Attributes)
				page[i] = &raw
			}
		}
		for i, got := range e.ViewPage(u.ID, page, src) {
			want, ok := e.View(u.ID, page[i], src)
			if (got != nil) != ok || (ok && !reflect.DeepEqual(got, want)) {
				report("ViewPage(user %s)[%s/%s] = %+v, View %+v (%v)", u.ID, page[i].Type, page[i].ID, got, want, ok)
			}
		}
	}
	for _, r := range w.records {
		var got []string
		for _, v := range e.Viewers(r, src) {
			got = append(got, v.User)
		}
		if want := w.readers(r); !propSameSet(got, want) {
			report("Viewers(%s/%s) = %v, reference %v", r.Type, r.ID, got, want)
		}
	}
	if len(problems) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "engine disagrees with the reference (policy: %s)\n", propPolicyName(g.pol))
	if len(g.ops) > 0 {
		b.WriteString("initial world:\n")
		b.WriteString(initial.describe())
		b.WriteString("changes:\n")
		for _, op := range g.ops {
			fmt.Fprintf(&b, "  %s\n", op)
		}
		b.WriteString("world after the changes:\n")
	} else {
		b.WriteString("world:\n")
	}
	b.WriteString(w.describe())
	b.WriteString("disagreements:\n")
	for i, p := range problems {
		if i == 20 {
			fmt.Fprintf(&b, "  ... and %d more\n", len(problems)-20)
			break
		}
		fmt.Fprintf(&b, "  %s\n", p)
	}
	t.Fatal(b.String())
}

func propPolicyName(p *policy.Policy) string {
	if p == propExtendedPolicy() {
		return "default + note/task sharing chains + tie role T20"
	}
	return "default"
}

func propSameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	a, b = slices.Compact(a), slices.Compact(b)
	return slices.Equal(a, b)
}

func propPredString(p *access.Predicate) string {
	if p == nil {
		return "<nil>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{type=%s all=%v user=%s", p.Type, p.All, p.User)
	for _, c := range p.Accounts {
		fmt.Fprintf(&b, " accounts%v%+v", c.Accounts, c.Cond)
	}
	if p.TeamUser != nil {
		fmt.Fprintf(&b, " team_user%+v", *p.TeamUser)
	}
	if p.TeamWrite {
		b.WriteString(" team_write")
	}
	for _, s := range p.Shared {
		fmt.Fprintf(&b, " shared(creator_only=%v %s)", s.CreatorOnly, propPredString(s.Parent))
	}
	b.WriteString("}")
	return b.String()
}
