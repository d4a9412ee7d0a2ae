package storetest

import (
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// testEngineInStep checks that after every write the store's engine answers
// from the new state: the very next Allowed reflects the change (store.go:
// "After it commits, the store's access engine reflects the change before
// the method returns").
func testEngineInStep(t *testing.T, b Backend) {
	s := open(t, b)
	// Tree: P (switch on) > C > CC; Q (switch on) elsewhere. The record
	// is owned by CC.
	p := account("P", "")
	p.ExternalAccess = true
	mustPutAccount(t, s, p)
	mustPutAccount(t, s, account("C", "P"))
	mustPutAccount(t, s, account("CC", "C"))
	q := account("Q", "")
	q.ExternalAccess = true
	mustPutAccount(t, s, q)
	mustPutUser(t, s, external("u", "P"))
	mustPutUser(t, s, external("m", "P"))
	// The engine decides on records it is given: r need not be stored.
	r := &access.Record{Type: "inventory", ID: "i1", Owner: "CC", Attributes: map[string]any{}}

	step := func(name string, want map[string]bool, do func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			do(t)
			for user, w := range want {
				if got := allowed(s, user, r); got != w {
					t.Errorf("after %s: Allowed(%s, read) = %v, want %v", name, user, got, w)
				}
			}
		})
	}
	var g access.Grant
	step("Initially", map[string]bool{"u": false, "m": false}, func(t *testing.T) {})
	step("CreateGrant", map[string]bool{"u": true}, func(t *testing.T) {
		g = mustCreateGrant(t, s, grant("user:u", "P", "L10"))
	})
	step("UpdateGrant/ScopeAccount", map[string]bool{"u": false}, func(t *testing.T) {
		g.Scope = access.ScopeAccount
		var err error
		if g, _, err = s.UpdateGrant(ctx(t), by, g); err != nil {
			t.Fatal(err)
		}
	})
	step("UpdateGrant/ScopeSubtree", map[string]bool{"u": true}, func(t *testing.T) {
		g.Scope = access.ScopeSubtree
		var err error
		if g, _, err = s.UpdateGrant(ctx(t), by, g); err != nil {
			t.Fatal(err)
		}
	})
	step("UpdateGrant/Expired", map[string]bool{"u": false}, func(t *testing.T) {
		g.ValidUntil = ptr(time.Now().Add(-time.Hour).UTC().Truncate(time.Second))
		var err error
		if g, _, err = s.UpdateGrant(ctx(t), by, g); err != nil {
			t.Fatal(err)
		}
	})
	step("UpdateGrant/Valid", map[string]bool{"u": true}, func(t *testing.T) {
		g.ValidUntil = nil
		var err error
		if g, _, err = s.UpdateGrant(ctx(t), by, g); err != nil {
			t.Fatal(err)
		}
	})
	step("PutAccount/InheritOff", map[string]bool{"u": false}, func(t *testing.T) {
		c := account("C", "P")
		c.Inherit = false
		mustPutAccount(t, s, c)
	})
	step("PutAccount/InheritOn", map[string]bool{"u": true}, func(t *testing.T) {
		mustPutAccount(t, s, account("C", "P"))
	})
	step("PutAccount/MoveAway", map[string]bool{"u": false}, func(t *testing.T) {
		mustPutAccount(t, s, account("C", "Q"))
	})
	step("PutAccount/MoveBack", map[string]bool{"u": true}, func(t *testing.T) {
		mustPutAccount(t, s, account("C", "P"))
	})
	step("PutAccount/SwitchOff", map[string]bool{"u": false}, func(t *testing.T) {
		mustPutAccount(t, s, account("P", ""))
	})
	step("PutAccount/SwitchOn", map[string]bool{"u": true}, func(t *testing.T) {
		mustPutAccount(t, s, p)
	})
	step("PutUser/Disabled", map[string]bool{"u": false}, func(t *testing.T) {
		u := external("u", "P")
		u.Status = access.StatusDisabled
		mustPutUser(t, s, u)
	})
	step("PutUser/Active", map[string]bool{"u": true}, func(t *testing.T) {
		mustPutUser(t, s, external("u", "P"))
	})
	step("DeleteGrant", map[string]bool{"u": false}, func(t *testing.T) {
		if _, err := s.DeleteGrant(ctx(t), by, g.ID); err != nil {
			t.Fatal(err)
		}
	})
	step("AddMember/AccountGroup", map[string]bool{"m": true}, func(t *testing.T) {
		mustAddMember(t, s, "acct:P", "m")
	})
	step("RemoveMember/AccountGroup", map[string]bool{"m": false}, func(t *testing.T) {
		if _, err := s.RemoveMember(ctx(t), by, "acct:P", "m"); err != nil {
			t.Fatal(err)
		}
	})
	step("GroupGrant", map[string]bool{"m": true}, func(t *testing.T) {
		mustPutGroup(t, s, access.Group{ID: "team", Name: "Team"})
		mustAddMember(t, s, "team", "m")
		// Only the granted account's switch matters: P's is on.
		mustCreateGrant(t, s, grant("group:team", "P", "L10"))
	})
	step("DeleteGroup", map[string]bool{"m": false}, func(t *testing.T) {
		if _, err := s.DeleteGroup(ctx(t), by, "team"); err != nil {
			t.Fatal(err)
		}
	})
	step("PutPolicy", map[string]bool{"m": true}, func(t *testing.T) {
		// A new role reaches inventory only through the new policy.
		if _, _, err := s.PutPolicy(ctx(t), by, withExtraRole(t)); err != nil {
			t.Fatal(err)
		}
		mustCreateGrant(t, s, grant("user:m", "P", "L15"))
		so := &access.Record{Type: "sales_order", ID: "so1", Owner: "CC", Attributes: map[string]any{}}
		if !allowed(s, "m", so) {
			t.Error("after PutPolicy: L15 does not read sales orders")
		}
	})
	step("DeleteUser", map[string]bool{"m": false}, func(t *testing.T) {
		if _, err := s.DeleteUser(ctx(t), by, "m"); err != nil {
			t.Fatal(err)
		}
	})
}
