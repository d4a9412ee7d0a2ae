package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// testExternalAccess covers the "Allow External Users" switch (DESIGN.md §1
// Accounts, §5.7): on creates the account group and its default grant once,
// off deletes nothing but deactivates, on again reactivates and recreates
// what is missing.
func testExternalAccess(t *testing.T, b Backend) {
	// setup returns a store with account A (switch as given), a home account
	// H, user u (member of nothing yet) and an inventory record on A, not
	// stored.
	setup := func(t *testing.T, on bool) (*instance, *access.Record) {
		s := open(t, b)
		a := account("A", "")
		a.Name = "Acme"
		a.ExternalAccess = on
		mustPutAccount(t, s, a)
		mustPutAccount(t, s, account("H", ""))
		mustPutUser(t, s, external("u", "H"))
		// The record need not be stored for the engine's decisions.
		r := &access.Record{Type: "inventory", ID: "i1", Owner: "A", Attributes: map[string]any{}}
		return s, r
	}
	switchTo := func(t *testing.T, s *instance, on bool) {
		t.Helper()
		a, err := s.GetAccount(ctx(t), "A")
		if err != nil {
			t.Fatalf("GetAccount: %v", err)
		}
		a.ExternalAccess = on
		mustPutAccount(t, s, a)
	}
	wantGroupAndGrant := func(t *testing.T, s *instance) access.Grant {
		t.Helper()
		g, err := s.GetGroup(ctx(t), "acct:A")
		if err != nil {
			t.Fatalf("GetGroup(acct:A): %v", err)
		}
		want := access.Group{ID: access.AccountGroupID("A"), Name: "Acme external users", Account: "A"}
		if diff := cmp.Diff(want, g.Group); diff != "" {
			t.Errorf("account group (-want +got):\n%s", diff)
		}
		var found []access.Grant
		for _, gr := range grantsOn(t, s, "A") {
			if gr.Principal == "group:acct:A" {
				found = append(found, gr)
			}
		}
		if len(found) != 1 {
			t.Fatalf("grants of group:acct:A on A: %+v; want exactly one", found)
		}
		gr := found[0]
		wantGrant := access.Grant{ID: gr.ID, Principal: "group:acct:A", Account: "A",
			Role: s.Engine().Policy().Document().DefaultGroupRole, Scope: access.ScopeSubtree, Access: access.AccessReadWrite}
		if diff := cmp.Diff(wantGrant, gr, cmpopts.IgnoreFields(access.Grant{}, "Notes", "CreatedBy", "CreatedAt", "UpdatedAt")); diff != "" {
			t.Errorf("default group grant (-want +got):\n%s", diff)
		}
		if _, ok := s.Engine().Grant(gr.ID); !ok {
			t.Errorf("the engine lacks the default grant %s", gr.ID)
		}
		return gr
	}

	t.Run("CreatedOn", func(t *testing.T) {
		s, r := setup(t, true)
		wantGroupAndGrant(t, s)
		mustAddMember(t, s, "acct:A", "u")
		if !allowed(s, "u", r) {
			t.Error("a member of acct:A cannot read a record of A")
		}
	})
	t.Run("SwitchOn", func(t *testing.T) {
		s, _ := setup(t, false)
		if _, err := s.GetGroup(ctx(t), "acct:A"); access.ErrorCode(err) != access.CodeNotFound {
			t.Errorf("an account with the switch off has a group: err %v", err)
		}
		if got := grantsOn(t, s, "A"); len(got) != 0 {
			t.Errorf("an account with the switch off has grants: %+v", got)
		}
		switchTo(t, s, true)
		wantGroupAndGrant(t, s)
	})
	t.Run("Once", func(t *testing.T) {
		s, _ := setup(t, true)
		first := wantGroupAndGrant(t, s)
		// Replacing the account with the switch still on, and switching
		// off and on again, creates nothing new.
		switchTo(t, s, true)
		switchTo(t, s, false)
		switchTo(t, s, true)
		if again := wantGroupAndGrant(t, s); again.ID != first.ID {
			t.Errorf("default grant id changed from %s to %s", first.ID, again.ID)
		}
	})
	t.Run("Off", func(t *testing.T) {
		s, r := setup(t, true)
		mustAddMember(t, s, "acct:A", "u")
		mustPutUser(t, s, external("v", "H"))
		direct := mustCreateGrant(t, s, grant("user:v", "A", "L20"))
		def := wantGroupAndGrant(t, s)
		if !allowed(s, "u", r) || !allowed(s, "v", r) {
			t.Fatal("setup: u and v should read the record")
		}

		switchTo(t, s, false)
		for _, id := range []string{def.ID, direct.ID} {
			if _, err := s.GetGrant(ctx(t), id); err != nil {
				t.Errorf("switching off deleted grant %s: %v", id, err)
			}
			if _, ok := s.Engine().Grant(id); !ok {
				t.Errorf("switching off removed grant %s from the engine", id)
			}
		}
		g, err := s.GetGroup(ctx(t), "acct:A")
		if err != nil {
			t.Fatalf("switching off deleted the group: %v", err)
		}
		if diff := cmp.Diff([]string{"u"}, g.Members); diff != "" {
			t.Errorf("switching off changed the members (-want +got):\n%s", diff)
		}
		if allowed(s, "u", r) {
			t.Error("switch off: the group grant still gives access")
		}
		if allowed(s, "v", r) {
			t.Error("switch off: the direct grant still gives access")
		}
		mustPutRecord(t, s, r)
		p, err := s.Engine().Predicate("v", "inventory", policy.Read)
		if err != nil {
			t.Fatal(err)
		}
		if got := listAll(t, s, store.RecordQuery{Type: "inventory", Predicate: p}); len(got) != 0 {
			t.Errorf("switch off: ListRecords still returns %v", ids(got))
		}

		switchTo(t, s, true)
		if !allowed(s, "u", r) || !allowed(s, "v", r) {
			t.Error("switch on again: the grants are not active again")
		}
		if again := wantGroupAndGrant(t, s); again.ID != def.ID {
			t.Errorf("switch on again replaced the default grant %s with %s", def.ID, again.ID)
		}
	})
	t.Run("RecreateGroup", func(t *testing.T) {
		s, _ := setup(t, true)
		wantGroupAndGrant(t, s)
		if _, err := s.DeleteGroup(ctx(t), by, "acct:A"); err != nil {
			t.Fatalf("DeleteGroup(acct:A): %v", err)
		}
		if got := grantsOn(t, s, "A"); len(got) != 0 {
			t.Fatalf("deleting the group left its grants: %+v", got)
		}
		switchTo(t, s, false)
		switchTo(t, s, true)
		wantGroupAndGrant(t, s)
	})
	t.Run("RecreateGrant", func(t *testing.T) {
		s, _ := setup(t, true)
		def := wantGroupAndGrant(t, s)
		if _, err := s.DeleteGrant(ctx(t), by, def.ID); err != nil {
			t.Fatalf("DeleteGrant: %v", err)
		}
		switchTo(t, s, false)
		switchTo(t, s, true)
		wantGroupAndGrant(t, s)
	})
}
