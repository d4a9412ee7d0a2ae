package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// testSCIM covers SCIMStore: tokens by hash, a user's externalId written
// with the user, and a token's groups with their members and grant in one
// write, audited with the write's prefix.
func testSCIM(t *testing.T, b Backend) {
	setup := func(t *testing.T) *instance {
		s := open(t, b)
		mustPutAccount(t, s, account("A", ""))
		mustPutAccount(t, s, account("B", ""))
		mustPutUser(t, s, external("u1", "A"))
		mustPutUser(t, s, external("u2", "A"))
		return s
	}
	scim := store.Write{Actor: "scim:st_x", AuditPrefix: "scim."}

	t.Run("Tokens", func(t *testing.T) {
		s := setup(t)
		tok, _, err := s.CreateSCIMToken(ctx(t), by, store.SCIMToken{Name: "entra", Account: "A", MaxRole: "L30",
			GroupRoles: map[string]string{"Sales": "L20"}, Hash: "h1"})
		if err != nil {
			t.Fatalf("CreateSCIMToken: %v", err)
		}
		got, err := s.SCIMTokenByHash(ctx(t), "h1")
		if err != nil {
			t.Fatalf("SCIMTokenByHash: %v", err)
		}
		if diff := cmp.Diff(tok, got, cmpopts.EquateApproxTime(0)); diff != "" {
			t.Errorf("(-created +read):\n%s", diff)
		}
		if list, err := s.ListSCIMTokens(ctx(t)); err != nil || len(list) != 1 || list[0].ID != tok.ID {
			t.Errorf("ListSCIMTokens = %v, %v", list, err)
		}
		_, _, err = s.CreateSCIMToken(ctx(t), by, store.SCIMToken{Name: "x", Account: "nope", MaxRole: "L30", Hash: "h2"})
		wantCode(t, err, access.CodeInvalid)
		_, err = s.DeleteAccount(ctx(t), by, "A")
		wantCode(t, err, access.CodeConflict)
		if _, err := s.DeleteSCIMToken(ctx(t), by, tok.ID); err != nil {
			t.Fatalf("DeleteSCIMToken: %v", err)
		}
		_, err = s.SCIMTokenByHash(ctx(t), "h1")
		wantCode(t, err, access.CodeNotFound)
		_, err = s.DeleteSCIMToken(ctx(t), by, tok.ID)
		wantCode(t, err, access.CodeNotFound)
	})

	t.Run("UserExternalID", func(t *testing.T) {
		s := setup(t)
		u := external("u3", "A")
		created, _, err := s.PutSCIMUser(ctx(t), scim, u, "ext-3")
		if err != nil || !created {
			t.Fatalf("PutSCIMUser: created %v, %v", created, err)
		}
		rev := s.Revision()
		if _, r, err := s.PutSCIMUser(ctx(t), scim, u, "ext-3"); err != nil || r != rev {
			t.Errorf("the same write again: rev %d (was %d), %v; want no change", r, rev, err)
		}
		u.Status = access.StatusDisabled
		if _, _, err := s.PutSCIMUser(ctx(t), scim, u, "ext-3b"); err != nil {
			t.Fatal(err)
		}
		ext, err := s.SCIMExternalIDs(ctx(t), []string{"u1", "u3"})
		if err != nil || !cmp.Equal(ext, map[string]string{"u3": "ext-3b"}) {
			t.Errorf("SCIMExternalIDs = %v, %v", ext, err)
		}
		if got, ok := s.Engine().User("u3"); !ok || got.Status != access.StatusDisabled {
			t.Errorf("engine user %+v", got)
		}
		_, _, err = s.PutSCIMUser(ctx(t), scim, external("u4", "A"), "")
		if err != nil {
			t.Fatal(err)
		}
		dup := external("u5", "A")
		dup.Email = "u1@example.com"
		_, _, err = s.PutSCIMUser(ctx(t), scim, dup, "")
		wantCode(t, err, access.CodeConflict)
		if _, err := s.DeleteUser(ctx(t), scim, "u3"); err != nil {
			t.Fatal(err)
		}
		if ext, _ := s.SCIMExternalIDs(ctx(t), []string{"u3"}); len(ext) != 0 {
			t.Errorf("externalId outlives its user: %v", ext)
		}
		entries := walkAudit(t, s, store.AuditFilter{Actor: "scim:st_x"})
		for _, e := range entries {
			if e.Action[:5] != "scim." {
				t.Errorf("entry %s without the prefix", e.Action)
			}
		}
		if len(entries) == 0 {
			t.Error("no audit entries for the SCIM writes")
		}
	})

	t.Run("Groups", func(t *testing.T) {
		s := setup(t)
		g := store.SCIMGroup{GroupWithMembers: store.GroupWithMembers{Group: access.Group{ID: "sg", Name: "Sales", Account: "A"},
			Members: []string{"u1"}}, TokenID: "st_x", ExternalID: "e1", Role: "L20"}
		if created, _, err := s.PutSCIMGroup(ctx(t), scim, g); err != nil || !created {
			t.Fatalf("PutSCIMGroup: %v, %v", created, err)
		}
		got, err := s.GetSCIMGroup(ctx(t), "st_x", "sg")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(g, got); diff != "" {
			t.Errorf("(-put +read):\n%s", diff)
		}
		gs := s.Engine().GroupGrants("sg")
		if len(gs) != 1 || gs[0].Role != "L20" || gs[0].Account != "A" || gs[0].Principal != "group:sg" {
			t.Errorf("engine grants %+v", gs)
		}
		_, err = s.GetSCIMGroup(ctx(t), "st_other", "sg")
		wantCode(t, err, access.CodeNotFound)
		_, _, err = s.PutSCIMGroup(ctx(t), scim, store.SCIMGroup{GroupWithMembers: g.GroupWithMembers, TokenID: "st_other"})
		wantCode(t, err, access.CodeNotFound)
		mustPutGroup(t, s, access.Group{ID: "manual", Name: "By hand"})
		_, _, err = s.PutSCIMGroup(ctx(t), scim, store.SCIMGroup{GroupWithMembers: store.GroupWithMembers{Group: access.Group{ID: "manual", Name: "x", Account: "A"}}, TokenID: "st_x"})
		wantCode(t, err, access.CodeNotFound)

		g.Members, g.Role, g.Name = []string{"u2"}, "", "Renamed"
		if _, _, err := s.PutSCIMGroup(ctx(t), scim, g); err != nil {
			t.Fatal(err)
		}
		if gs := s.Engine().GroupGrants("sg"); len(gs) != 0 {
			t.Errorf("grant without a role: %+v", gs)
		}
		g.Role = "L30"
		if _, _, err := s.PutSCIMGroup(ctx(t), scim, g); err != nil {
			t.Fatal(err)
		}
		g.Role = "L10"
		if _, _, err := s.PutSCIMGroup(ctx(t), scim, g); err != nil {
			t.Fatal(err)
		}
		if gs := s.Engine().GroupGrants("sg"); len(gs) != 1 || gs[0].Role != "L10" {
			t.Errorf("grant after the role change: %+v", gs)
		}
		list, err := s.SCIMGroups(ctx(t), "st_x")
		if err != nil || len(list) != 1 || !cmp.Equal(list[0].Members, []string{"u2"}) || list[0].Role != "L10" {
			t.Errorf("SCIMGroups = %+v, %v", list, err)
		}
		g.Members = []string{"nobody"}
		_, _, err = s.PutSCIMGroup(ctx(t), scim, g)
		wantCode(t, err, access.CodeInvalid)
		if _, err := s.DeleteGroup(ctx(t), scim, "sg"); err != nil {
			t.Fatal(err)
		}
		if list, _ := s.SCIMGroups(ctx(t), "st_x"); len(list) != 0 {
			t.Errorf("a deleted group is listed: %+v", list)
		}
	})
}
