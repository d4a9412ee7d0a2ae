package access_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// TestClone: a clone answers as the engine it was copied from, the same
// changes applied to a clone and to a freshly loaded engine give the same
// answers, and changing the clone leaves the original as it was.
func TestClone(t *testing.T) {
	w := genWorld(sizeSmall, worldSeed, 0)
	load := func() *access.Engine {
		e := newEngine()
		if err := e.Load(w.snap); err != nil {
			t.Fatal(err)
		}
		return e
	}
	orig := load()
	c, err := orig.Clone()
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for i, u := range w.snap.Users {
		if i%25 == 0 {
			users = append(users, u.ID)
		}
	}
	users = append(users, userWide, "bench-key")
	types := []string{"sales_order", "shipment", "ticket"}
	answers := func(e *access.Engine) map[string]any {
		out := map[string]any{}
		for _, u := range users {
			for _, typ := range types {
				for _, act := range []policy.Actions{policy.Read, policy.Update, policy.Delete} {
					p, err := e.Predicate(u, typ, act)
					if err != nil {
						t.Fatal(err)
					}
					out[fmt.Sprint(u, "/", typ, "/", act)] = p
				}
			}
			out[u+"/grants"] = len(e.UserGrants(u))
		}
		return out
	}
	want := answers(orig)
	if got := answers(c); !same(got, want) {
		t.Fatal("the clone answers differently from the original")
	}
	// The same changes on the clone and on a fresh engine.
	fresh := load()
	g0 := w.snap.Grants[0]
	grant := access.Grant{ID: "clone-test", Principal: "user:" + users[1], Account: w.snap.Accounts[3].ID, Role: "L30", Scope: access.ScopeSubtree}
	moved := w.snap.Accounts[5]
	moved.Parent = w.snap.Accounts[7].ID
	for _, e := range []*access.Engine{c, fresh} {
		if err := e.PutGrant(grant); err != nil {
			t.Fatal(err)
		}
		if err := e.DeleteGrant(g0.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.PutAccount(moved); err != nil {
			t.Fatal(err)
		}
		for _, m := range w.snap.Members[:3] {
			if err := e.RemoveMember(m[0], m[1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, want := answers(c), answers(fresh); !same(got, want) {
		t.Fatal("the changed clone answers differently from a loaded engine with the same changes")
	}
	if got := answers(orig); !same(got, want) {
		t.Fatal("changing the clone changed the original")
	}
	if _, ok := orig.Grant("clone-test"); ok {
		t.Fatal("the clone's grant is in the original")
	}
	if _, ok := orig.Grant(g0.ID); !ok {
		t.Fatal("the grant deleted from the clone is gone from the original")
	}
}

// same compares answers, predicates up to the order of a clause's
// accounts (which follows map order when an engine is loaded).
func same(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		p, ok := x.(*access.Predicate)
		q, ok2 := b[k].(*access.Predicate)
		if ok != ok2 || (ok && !access.SamePredicate(p, q)) || (!ok && !reflect.DeepEqual(x, b[k])) {
			return false
		}
	}
	return true
}
