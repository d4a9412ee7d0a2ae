package access_test

import (
	"fmt"
	"testing"

	"slices"
	"sort"

	"pgregory.net/rapid"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// TestPropertyCloneIsolation: engines cloned from each other (clones of
// clones included) and changed in random interleavings, policy documents
// included, answer every question as full copies (access.FullClone) given
// the same changes: no change to a clone shows in its original, no later
// change to the original shows in a live clone, and a released clone
// lets the original change its accounts in place again.
func TestPropertyCloneIsolation(t *testing.T) {
	defer propSetChecks(300)()
	rapid.Check(t, propCloneIsolation)
}

// cowPair is an engine under test and its reference, changed alike.
type cowPair struct {
	name     string
	e, ref   *access.Engine
	released bool
}

func propCloneIsolation(t *rapid.T) {
	g := &propGen{t: t, pol: policy.Default()}
	if rapid.Bool().Draw(t, "extended_policy") {
		g.pol = propExtendedPolicy()
	}
	g.now = rapid.SampledFrom(propNows).Draw(t, "now")
	g.w = &refWorld{pol: g.pol, now: g.now}
	g.genWorld()
	src := access.RecordMap{}
	for _, r := range g.w.records {
		src[access.Ref{Type: r.Type, ID: r.ID}] = r
	}
	first := g.build()
	pairs := []*cowPair{{name: "original", e: first, ref: access.FullClone(first)}}
	accounts, users, principals := g.accountIDs(), g.userIDs(), g.principals()
	groups := []string{}
	for _, gr := range g.w.groups {
		groups = append(groups, gr.ID)
	}
	grants := []string{}
	for _, gr := range g.w.grants {
		grants = append(grants, gr.ID)
	}
	policies := []*policy.Policy{policy.Default(), propExtendedPolicy()}
	var log []string
	fail := func(format string, args ...any) {
		t.Fatalf("%s\nafter: %v", fmt.Sprintf(format, args...), log)
	}
	nOps := rapid.IntRange(1, 30).Draw(t, "ops")
	for i := range nOps {
		var live []*cowPair
		for _, p := range pairs {
			if !p.released {
				live = append(live, p)
			}
		}
		p := live[rapid.IntRange(0, len(live)-1).Draw(t, fmt.Sprintf("op%d.engine", i))]
		n := fmt.Sprintf("op%d", i)
		var desc string
		op := func(f func(e *access.Engine) error) {
			err1, err2 := f(p.e), f(p.ref)
			if access.ErrorCode(err1) != access.ErrorCode(err2) {
				fail("%s on %s: error %v, reference %v", desc, p.name, err1, err2)
			}
			log = append(log, p.name+": "+desc)
		}
		switch rapid.IntRange(0, 9).Draw(t, n+".kind") {
		case 0: // clone
			c, err := p.e.Clone()
			if err != nil {
				fail("Clone: %v", err)
			}
			pairs = append(pairs, &cowPair{name: fmt.Sprintf("clone%d(%s)", i, p.name), e: c, ref: access.FullClone(p.ref)})
			log = append(log, p.name+": Clone")
		case 1: // release a clone
			if p == pairs[0] {
				continue
			}
			p.e.Release()
			p.released = true
			log = append(log, p.name+": Release")
		case 2: // put a grant (new or replacing one)
			gr := access.Grant{ID: fmt.Sprintf("N%d", i), Principal: g.pick(principals, n+".principal"),
				Account: g.pick(accounts, n+".account")}
			if len(grants) > 0 && g.chance(2, n+".replace") {
				gr.ID = g.pick(grants, n+".grant")
			}
			g.grantFields(&gr, n)
			grants = append(grants, gr.ID)
			desc = "PutGrant " + refGrantString(gr)
			op(func(e *access.Engine) error { return e.PutGrant(gr) })
		case 3:
			if len(grants) == 0 {
				continue
			}
			id := g.pick(grants, n+".grant")
			desc = "DeleteGrant " + id
			op(func(e *access.Engine) error { return e.DeleteGrant(id) })
		case 4:
			if len(groups) == 0 {
				continue
			}
			gid, uid := g.pick(groups, n+".group"), g.pick(users, n+".user")
			if g.chance(2, n+".remove") {
				desc = "RemoveMember " + gid + " " + uid
				op(func(e *access.Engine) error { return e.RemoveMember(gid, uid) })
			} else {
				desc = "AddMember " + gid + " " + uid
				op(func(e *access.Engine) error { return e.AddMember(gid, uid) })
			}
		case 5: // an account's switch, inherit or parent
			id := g.pick(accounts, n+".account")
			a, ok := p.ref.Account(id)
			if !ok {
				continue
			}
			switch rapid.IntRange(0, 2).Draw(t, n+".field") {
			case 0:
				a.ExternalAccess = !a.ExternalAccess
			case 1:
				a.Inherit = !a.Inherit
			default:
				a.Parent = g.pick(append([]string{""}, accounts...), n+".parent")
			}
			desc = fmt.Sprintf("PutAccount %s parent=%q external_access=%v inherit=%v", a.ID, a.Parent, a.ExternalAccess, a.Inherit)
			op(func(e *access.Engine) error { return e.PutAccount(a) })
		case 6:
			id := g.pick(users, n+".user")
			u, ok := p.ref.User(id)
			if !ok {
				continue
			}
			u.Status = g.pick([]string{access.StatusActive, access.StatusInvited, access.StatusDisabled}, n+".status")
			desc = "PutUser " + id + " status=" + u.Status
			op(func(e *access.Engine) error { return e.PutUser(u) })
		case 7: // a new group, or deleting one
			if len(groups) > 0 && g.chance(3, n+".delete") {
				gid := g.pick(groups, n+".group")
				desc = "DeleteGroup " + gid
				op(func(e *access.Engine) error { return e.DeleteGroup(gid) })
				continue
			}
			gid := fmt.Sprintf("ng%d", i)
			groups = append(groups, gid)
			principals = append(principals, "group:"+gid)
			desc = "PutGroup " + gid
			op(func(e *access.Engine) error { return e.PutGroup(access.Group{ID: gid, Name: gid}) })
		case 8:
			id := g.pick(users, n+".user")
			desc = "DeleteUser " + id
			op(func(e *access.Engine) error { return e.DeleteUser(id) })
		case 9: // a policy document
			pol := policies[rapid.IntRange(0, len(policies)-1).Draw(t, n+".policy")]
			desc = "SetPolicy " + propPolicyName(pol)
			op(func(e *access.Engine) error { return e.SetPolicy(pol) })
		}
		if rapid.IntRange(0, 3).Draw(t, n+".compare") == 0 {
			for _, q := range pairs {
				if !q.released {
					cowCompare(fail, q, users, g.w.records, src)
				}
			}
		}
	}
	for _, q := range pairs {
		if !q.released {
			cowCompare(fail, q, users, g.w.records, src)
		}
	}
}

// cowCompare fails when p's engine answers a question differently from
// its reference.
func cowCompare(fail func(string, ...any), p *cowPair, users []string, records []*access.Record, src access.RecordMap) {
	for _, u := range users {
		if got, want := fmt.Sprint(p.e.UserGrants(u)), fmt.Sprint(p.ref.UserGrants(u)); got != want {
			fail("%s: UserGrants(%s) = %s, reference %s", p.name, u, got, want)
		}
		for _, r := range records {
			for _, a := range propActions {
				ok1, f1 := p.e.Check(u, r, a.bit, src)
				ok2, f2 := p.ref.Check(u, r, a.bit, src)
				if ok1 != ok2 || !propSameSet(f1, f2) {
					fail("%s: Check(%s, %s/%s, %s) = (%v, %v), reference (%v, %v)", p.name, u, r.Type, r.ID, a.name, ok1, f1, ok2, f2)
				}
				p1, err1 := p.e.Predicate(u, r.Type, a.bit)
				p2, err2 := p.ref.Predicate(u, r.Type, a.bit)
				if (err1 == nil) != (err2 == nil) || (err1 == nil && p1.Matches(r, src) != p2.Matches(r, src)) {
					fail("%s: Predicate(%s, %s, %s) on %s differs from the reference (%v, %v)", p.name, u, r.Type, a.name, r.ID, err1, err2)
				}
			}
		}
	}
	for _, r := range records {
		if got, want := cowViewers(p.e.Viewers(r, src)), cowViewers(p.ref.Viewers(r, src)); got != want {
			fail("%s: Viewers(%s/%s) = %s, reference %s", p.name, r.Type, r.ID, got, want)
		}
	}
	if got, want := propPolicyName(p.e.Policy()), propPolicyName(p.ref.Policy()); got != want {
		fail("%s: policy %s, reference %s", p.name, got, want)
	}
}

// cowViewers prints viewers with each one's paths sorted (their order
// follows map order).
func cowViewers(vs []access.Viewer) string {
	out := ""
	for _, v := range vs {
		var ps []string
		for _, p := range v.Paths {
			ps = append(ps, fmt.Sprint(p))
		}
		sort.Strings(ps)
		out += fmt.Sprint(v.User, ps)
	}
	return out
}

// TestCloneConcurrentWrites: the live engine changing while a clone is
// questioned and changed (run with -race) leaves the clone answering as a
// full copy taken at the same moment with the same changes.
func TestCloneConcurrentWrites(t *testing.T) {
	w := genWorld(sizeSmall, worldSeed, 0)
	orig := newEngine()
	if err := orig.Load(w.snap); err != nil {
		t.Fatal(err)
	}
	c, err := orig.Clone()
	if err != nil {
		t.Fatal(err)
	}
	ref := access.FullClone(c)
	done := make(chan error)
	go func() {
		for i := range 200 {
			g := w.snap.Grants[i]
			if err := orig.DeleteGrant(g.ID); err != nil {
				done <- err
				return
			}
			if i%20 == 0 {
				a := w.snap.Accounts[i]
				a.ExternalAccess = !a.ExternalAccess
				if err := orig.PutAccount(a); err != nil {
					done <- err
					return
				}
			}
			u := w.snap.Users[i]
			u.Status = access.StatusDisabled
			if err := orig.PutUser(u); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	grant := access.Grant{ID: "concurrent", Principal: "group:" + benchTeam, Account: "C000002", Role: "L30",
		Scope: access.ScopeSubtree, Access: access.AccessReadWrite}
	for _, e := range []*access.Engine{c, ref} {
		if err := e.PutGrant(grant); err != nil {
			t.Fatal(err)
		}
	}
	for i, u := range w.snap.Users {
		if i%10 == 0 {
			_, _ = c.Predicate(u.ID, "sales_order", policy.Read)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i, u := range w.snap.Users {
		if i%7 != 0 && i >= 200 {
			continue
		}
		for _, typ := range []string{"sales_order", "shipment", "ticket"} {
			p, err1 := c.Predicate(u.ID, typ, policy.Read)
			q, err2 := ref.Predicate(u.ID, typ, policy.Read)
			if err1 != nil || err2 != nil || !access.SamePredicate(p, q) {
				t.Fatalf("user %s, %s: the clone's predicate differs from the full copy's (%v, %v)", u.ID, typ, err1, err2)
			}
		}
		if got, want := fmt.Sprint(c.UserGrants(u.ID)), fmt.Sprint(ref.UserGrants(u.ID)); got != want {
			t.Fatalf("user %s: UserGrants %s, full copy %s", u.ID, got, want)
		}
	}
	c.Release()
	if _, ok := orig.Grant("concurrent"); ok {
		t.Fatal("the clone's grant is in the original")
	}
}

// TestGrantUsersAfterClone: after a clone (released or not), a member
// added to a group on either engine is among the users of the group's
// grants there (GrantUsers, AccountUsers: whose access a preview
// compares), though the grant still points at the group's older copy.
func TestGrantUsersAfterClone(t *testing.T) {
	w := genWorld(sizeSmall, worldSeed, 0)
	orig := newEngine()
	if err := orig.Load(w.snap); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	acct, u1, u2 := w.snap.Accounts[1].ID, w.snap.Users[1].ID, w.snap.Users[2].ID
	must(orig.PutGroup(access.Group{ID: "team-x", Name: "Team X"}))
	must(orig.AddMember("team-x", u1))
	must(orig.PutGrant(access.Grant{ID: "gx", Principal: "group:team-x", Account: acct, Role: "L30", Scope: access.ScopeSubtree, Access: access.AccessRead}))
	has := func(e *access.Engine, who string) {
		t.Helper()
		if !slices.Contains(e.GrantUsers("gx"), who) || !slices.Contains(e.AccountUsers(acct), who) {
			t.Fatalf("%s is not among the users of gx (%v) or of %s", who, e.GrantUsers("gx"), acct)
		}
	}
	c, err := orig.Clone()
	must(err)
	must(c.AddMember("team-x", u2))
	has(c, u2)
	c.Release()
	must(orig.AddMember("team-x", u2))
	has(orig, u1)
	has(orig, u2)
}
