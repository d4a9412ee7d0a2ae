package app_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// scimWorld is the world of the SCIM tests:
//
//	R1 (external access) ─ R1-A (external access) ─ R1-A-X
//	R2 (external access)
//
// users r1 (home R1, L80 on R1), ra (home R1-A, L10 on R1-A), rx (home
// R1-A-X), owner (home R1-A, L90 on R1-A), r2 (home R2, L40 on R2), admin
// (staff); group staffg (made by staff, ra a member, L30 on R1-A). The
// SCIM token is on R1-A with max_role L20 and group_roles Buyers → L10,
// Orders → L20.
type scimWorld struct {
	a     *app.App
	st    store.Store
	eng   *access.Engine
	actor *app.Actor
	tok   store.SCIMToken
}

func newSCIMWorld(t testing.TB, dsn string) *scimWorld {
	ctx := context.Background()
	a, st := openApp(t, dsn)
	staff := app.SystemActor("test")
	fail := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, acct := range [][2]string{{"R1", ""}, {"R1-A", "R1"}, {"R1-A-X", "R1-A"}, {"R2", ""}} {
		in := app.AccountUpdate{Name: app.Some("Account " + acct[0]), ExternalAccess: app.Some(true)}
		if acct[1] != "" {
			in.Parent = app.Some(acct[1])
		}
		_, _, _, err := a.PutAccount(ctx, staff, acct[0], in, true)
		fail(err)
	}
	for _, u := range [][2]string{{"r1", "R1"}, {"ra", "R1-A"}, {"rx", "R1-A-X"}, {"owner", "R1-A"}, {"r2", "R2"}} {
		_, _, _, err := a.PutUser(ctx, staff, u[0], app.UserUpdate{Email: app.Some(u[0] + "@example.com"), HomeAccount: app.Some(u[1])}, true)
		fail(err)
	}
	_, _, _, err := a.PutUser(ctx, staff, "admin", app.UserUpdate{Kind: app.Some("internal"), StaffRole: app.Some("admin"),
		Email: app.Some("admin@supplier.example")}, true)
	fail(err)
	for _, g := range []access.Grant{
		{Principal: "user:r1", Account: "R1", Role: "L80"}, {Principal: "user:ra", Account: "R1-A", Role: "L10"},
		{Principal: "user:owner", Account: "R1-A", Role: "L90"}, {Principal: "user:r2", Account: "R2", Role: "L40"},
		{Principal: "group:staffg", Account: "R1-A", Role: "L30"},
	} {
		if g.Principal == "group:staffg" {
			_, _, _, err := a.PutGroup(ctx, staff, "staffg", app.GroupUpdate{Name: app.Some("Staff made"), Members: app.Some([]string{"ra"})})
			fail(err)
		}
		_, _, err := a.CreateGrant(ctx, staff, app.GrantUpdate{Principal: app.Some(g.Principal), Account: app.Some(g.Account), Role: app.Some(g.Role)})
		fail(err)
	}
	tok, secret, _, err := a.CreateSCIMToken(ctx, staff, app.SCIMTokenRequest{Name: "entra", Account: "R1-A", MaxRole: "L20",
		GroupRoles: map[string]string{"Buyers": "L10", "Orders": "L20"}})
	fail(err)
	actor, err := a.AuthenticateSCIM(ctx, secret)
	fail(err)
	return &scimWorld{a: a, st: st, eng: a.Engine(), actor: actor, tok: tok}
}

func TestSCIMTokens_Validation(t *testing.T) {
	w := newSCIMWorld(t, ":memory:")
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		in    app.SCIMTokenRequest
		field string
	}{
		{"NoName", app.SCIMTokenRequest{Account: "R1", MaxRole: "L20"}, "name"},
		{"UnknownAccount", app.SCIMTokenRequest{Name: "x", Account: "nope", MaxRole: "L20"}, "account"},
		{"ProtectedMaxRole", app.SCIMTokenRequest{Name: "x", Account: "R1", MaxRole: "L90"}, "max_role"},
		{"GroupRoleAboveMax", app.SCIMTokenRequest{Name: "x", Account: "R1", MaxRole: "L20", GroupRoles: map[string]string{"Admins": "L80"}}, "group_roles"},
		{"GroupRoleUnknown", app.SCIMTokenRequest{Name: "x", Account: "R1", MaxRole: "L20", GroupRoles: map[string]string{"A": "nope"}}, "group_roles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := w.a.CreateSCIMToken(ctx, app.SystemActor("test"), tc.in)
			var e *access.Error
			if !asError(err, &e) || e.Code != access.CodeInvalid || e.Field != tc.field {
				t.Errorf("CreateSCIMToken = %v, want invalid on %s", err, tc.field)
			}
		})
	}
	t.Run("ExternalAndSCIMActorsForbidden", func(t *testing.T) {
		ra, _ := w.eng.User("ra")
		for _, c := range []*app.Actor{{User: ra}, w.actor} {
			if _, err := w.a.ListSCIMTokens(ctx, c); access.ErrorCode(err) != access.CodeForbidden {
				t.Errorf("ListSCIMTokens as %s = %v, want forbidden", c.AuditID(), err)
			}
		}
		if _, err := w.a.ListUsers(ctx, w.actor, app.UserFilter{}); access.ErrorCode(err) != access.CodeForbidden {
			t.Errorf("a SCIM token at ListUsers = %v, want forbidden", err)
		}
	})
}

func asError(err error, e **access.Error) bool {
	if x, ok := err.(*access.Error); ok {
		*e = x
		return true
	}
	return false
}

// TestSCIM_PropertyNeverBeyondItsReach: a SCIM client with random
// operations (create, replace and delete users and groups, with random
// homes, emails, members and displayNames, aimed at ids inside and
// outside its reach) never creates access outside its account's subtree
// or above its max_role, and never changes a user it may not see. The
// engine is the judge: every account a user reaches after the operations
// and did not reach before lies in the subtree, through a role at or
// below max_role, and every grant that did not exist before is a grant
// of one of the token's groups on its account.
func TestSCIM_PropertyNeverBeyondItsReach(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		w := newSCIMWorld(t, ":memory:")
		ctx := context.Background()
		subtree := w.eng.Subtree("R1-A")
		pol := w.eng.Policy()
		maxLevel := pol.Role("L20").Level
		initialUsers := map[string]access.User{}
		initialReach := map[string]map[string]bool{}
		initialGroups := map[string][]string{}
		for _, id := range []string{"r1", "ra", "rx", "owner", "r2", "admin"} {
			u, _ := w.eng.User(id)
			initialUsers[id] = u
			initialReach[id] = reachSet(w.eng, id)
			initialGroups[id] = w.eng.UserGroups(id)
		}
		initialGrants := map[string]bool{}
		for _, g := range allGrants(t, w.st) {
			initialGrants[g.ID] = true
		}
		userIDs := []string{"r1", "ra", "rx", "owner", "r2", "admin", "nobody"}
		groupIDs := []string{"staffg", "acct:R1-A", "nope"}
		emails := []string{"new1@example.com", "new2@example.com", "r1@example.com", "r2@example.com", "ra@example.com", "admin@supplier.example", "not-an-email"}
		homes := []string{"", "R1", "R1-A", "R1-A-X", "R2", "nope"}
		names := []string{"Buyers", "Orders", "Other", "Staff made"}
		pickMembers := func(rt *rapid.T) []string {
			return rapid.SliceOfNDistinct(rapid.SampledFrom(userIDs), 0, 3, rapid.ID[string]).Draw(rt, "members")
		}
		userInput := func(rt *rapid.T) app.SCIMUserInput {
			return app.SCIMUserInput{UserName: rapid.SampledFrom(emails).Draw(rt, "email"), DisplayName: "N",
				Active: rapid.Ptr(rapid.Bool(), true).Draw(rt, "active"), HomeAccount: rapid.SampledFrom(homes).Draw(rt, "home"),
				ExternalID: rapid.StringMatching(`[a-z]{0,3}`).Draw(rt, "ext")}
		}
		ops := rapid.IntRange(1, 25).Draw(rt, "ops")
		for i := range ops {
			var err error
			switch op := rapid.IntRange(0, 5).Draw(rt, fmt.Sprint("op", i)); op {
			case 0:
				var u app.SCIMUser
				if u, _, err = w.a.CreateSCIMUser(ctx, w.actor, userInput(rt)); err == nil {
					userIDs = append(userIDs, u.ID)
				}
			case 1:
				_, _, err = w.a.ReplaceSCIMUser(ctx, w.actor, rapid.SampledFrom(userIDs).Draw(rt, "user"), userInput(rt))
			case 2:
				_, err = w.a.DeleteSCIMUser(ctx, w.actor, rapid.SampledFrom(userIDs).Draw(rt, "user"))
			case 3:
				var g store.SCIMGroup
				in := app.SCIMGroupInput{DisplayName: rapid.SampledFrom(names).Draw(rt, "name"), Members: pickMembers(rt)}
				if g, _, err = w.a.CreateSCIMGroup(ctx, w.actor, in); err == nil {
					groupIDs = append(groupIDs, g.ID)
				}
			case 4:
				in := app.SCIMGroupInput{DisplayName: rapid.SampledFrom(names).Draw(rt, "name"), Members: pickMembers(rt)}
				_, _, err = w.a.ReplaceSCIMGroup(ctx, w.actor, rapid.SampledFrom(groupIDs).Draw(rt, "group"), in)
			case 5:
				_, err = w.a.DeleteSCIMGroup(ctx, w.actor, rapid.SampledFrom(groupIDs).Draw(rt, "group"))
			}
			if err != nil && access.ErrorCode(err) == access.CodeInternal {
				rt.Fatalf("op %d: internal error %v", i, err)
			}
		}
		for id, before := range initialUsers {
			if slices.Contains(subtree, before.HomeAccount) {
				continue
			}
			if after, _ := w.eng.User(id); !equalUsers(before, after) || !slices.Equal(initialGroups[id], w.eng.UserGroups(id)) {
				rt.Fatalf("user %s outside the subtree changed: %+v → %+v, groups %v → %v", id, before, after, initialGroups[id], w.eng.UserGroups(id))
			}
		}
		for _, id := range userIDs {
			u, ok := w.eng.User(id)
			if !ok {
				continue
			}
			if _, old := initialUsers[id]; !old && !slices.Contains(subtree, u.HomeAccount) {
				rt.Fatalf("the token created user %s homed at %s", id, u.HomeAccount)
			}
			for _, aa := range w.eng.Reach(id) {
				if initialReach[id][aa.ID+"/"+aa.Role] {
					continue
				}
				if r := pol.Role(aa.Role); !slices.Contains(subtree, aa.ID) || r == nil || r.Level > maxLevel {
					rt.Fatalf("user %s reaches %s as %s, beyond the token's reach", id, aa.ID, aa.Role)
				}
			}
		}
		for _, g := range allGrants(t, w.st) {
			if initialGrants[g.ID] {
				continue
			}
			gid, _ := cutPrefix(g.Principal, "group:")
			if _, err := w.st.GetSCIMGroup(ctx, w.tok.ID, gid); err != nil || g.Account != "R1-A" || pol.Role(g.Role).Level > maxLevel || !pol.Role(g.Role).Assignable {
				rt.Fatalf("new grant %+v is not a capped grant of one of the token's groups on its account", g)
			}
		}
	})
}

func reachSet(eng *access.Engine, id string) map[string]bool {
	out := map[string]bool{}
	for _, aa := range eng.Reach(id) {
		out[aa.ID+"/"+aa.Role] = true
	}
	return out
}

func equalUsers(a, b access.User) bool {
	a.LastLoginAt, b.LastLoginAt = nil, nil
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

func allGrants(t testing.TB, st store.Store) []access.Grant {
	var out []access.Grant
	f := store.GrantFilter{Limit: store.MaxListLimit}
	for {
		gs, next, err := st.ListGrants(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, gs...)
		if next == "" {
			return out
		}
		f.Cursor = next
	}
}
