package storetest

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

func testUsers(t *testing.T, b Backend) {
	t.Run("Put", func(t *testing.T) {
		t.Run("CreateThenReplace", func(t *testing.T) {
			s := open(t, b)
			mustPutAccount(t, s, account("H", ""))
			u := external("u1", "H")
			u.Constraints = map[string]map[string][]string{"ticket": {"type": {"incident", "question"}}}
			created, _, err := s.PutUser(ctx(t), by, u)
			if err != nil || !created {
				t.Fatalf("PutUser: created %v, err %v; want created", created, err)
			}
			got, err := s.GetUser(ctx(t), "u1")
			if err != nil {
				t.Fatalf("GetUser: %v", err)
			}
			if diff := cmp.Diff(u, got); diff != "" {
				t.Errorf("GetUser after create (-want +got):\n%s", diff)
			}
			u.Name, u.Status, u.Constraints = "Renamed", access.StatusDisabled, nil
			created, _, err = s.PutUser(ctx(t), by, u)
			if err != nil || created {
				t.Fatalf("PutUser again: created %v, err %v; want replaced", created, err)
			}
			got, _ = s.GetUser(ctx(t), "u1")
			if diff := cmp.Diff(u, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("GetUser after replace (-want +got):\n%s", diff)
			}
			if e, _ := s.Engine().User("u1"); e.Status != access.StatusDisabled {
				t.Errorf("engine user status %q, want disabled", e.Status)
			}
			st := internal("staff1", access.StaffAuditor)
			mustPutUser(t, s, st)
			got, _ = s.GetUser(ctx(t), "staff1")
			if diff := cmp.Diff(st, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("GetUser of an internal user (-want +got):\n%s", diff)
			}
		})
		t.Run("ErrEmailTaken", func(t *testing.T) {
			s := open(t, b)
			mustPutAccount(t, s, account("H", ""))
			mustPutUser(t, s, external("u1", "H"))
			u2 := external("u2", "H")
			u2.Email = "U1@Example.COM"
			_, _, err := s.PutUser(ctx(t), by, u2)
			wantCode(t, err, access.CodeConflict)
			if _, err := s.GetUser(ctx(t), "u2"); access.ErrorCode(err) != access.CodeNotFound {
				t.Errorf("the rejected user was stored: %v", err)
			}
			// A user may change the case of its own email.
			u1 := external("u1", "H")
			u1.Email = "U1@example.com"
			if _, _, err := s.PutUser(ctx(t), by, u1); err != nil {
				t.Errorf("changing the case of one's own email: %v", err)
			}
			// Another user may not move onto a taken email either.
			mustPutUser(t, s, external("u3", "H"))
			u3 := external("u3", "H")
			u3.Email = "u1@EXAMPLE.com"
			_, _, err = s.PutUser(ctx(t), by, u3)
			wantCode(t, err, access.CodeConflict)
		})
		t.Run("ErrMissingHomeAccount", func(t *testing.T) {
			s := open(t, b)
			_, _, err := s.PutUser(ctx(t), by, external("u1", "NOPE"))
			wantCode(t, err, access.CodeInvalid)
		})
	})

	t.Run("Get", func(t *testing.T) {
		s := open(t, b)
		mustPutAccount(t, s, account("H", ""))
		u := external("u1", "H")
		u.Email = "Mixed.Case@Example.com"
		mustPutUser(t, s, u)
		t.Run("ByEmail", func(t *testing.T) {
			for _, email := range []string{"Mixed.Case@Example.com", "mixed.case@example.com", "MIXED.CASE@EXAMPLE.COM"} {
				got, err := s.GetUserByEmail(ctx(t), email)
				if err != nil || got.ID != "u1" {
					t.Errorf("GetUserByEmail(%q) = %q, %v; want u1", email, got.ID, err)
				}
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := s.GetUser(ctx(t), "nobody")
			wantCode(t, err, access.CodeNotFound)
			_, err = s.GetUserByEmail(ctx(t), "nobody@example.com")
			wantCode(t, err, access.CodeNotFound)
		})
	})

	t.Run("List", func(t *testing.T) {
		s := open(t, b)
		mustPutAccount(t, s, account("H1", ""))
		mustPutAccount(t, s, account("H2", ""))
		mustPutAccount(t, s, account("H3", ""))
		var all, h1h2 []string
		for i := range 12 {
			home := fmt.Sprintf("H%d", i%3+1)
			u := external(fmt.Sprintf("u%02d", i), home)
			if i == 7 {
				u.Name = "Zelda Quartermain"
			}
			mustPutUser(t, s, u)
			all = append(all, u.ID)
			if home != "H3" {
				h1h2 = append(h1h2, u.ID)
			}
		}
		for _, id := range []string{"s1", "s2"} {
			mustPutUser(t, s, internal(id, access.StaffAdmin))
			all = append(all, id)
		}
		list := func(t *testing.T, f store.UserFilter) []string {
			t.Helper()
			var out []string
			for range 100 {
				page, next, err := s.ListUsers(ctx(t), f)
				if err != nil {
					t.Fatalf("ListUsers(%+v): %v", f, err)
				}
				if f.Limit > 0 && len(page) > f.Limit {
					t.Errorf("page of %d users, limit %d", len(page), f.Limit)
				}
				for _, u := range page {
					out = append(out, u.ID)
				}
				if next == "" {
					sort.Strings(out)
					return out
				}
				f.Cursor = next
			}
			t.Fatal("ListUsers: cursor never ends")
			return nil
		}
		t.Run("Paging", func(t *testing.T) {
			sort.Strings(all)
			if diff := cmp.Diff(all, list(t, store.UserFilter{Limit: 5})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
		t.Run("HomeAccounts", func(t *testing.T) {
			if diff := cmp.Diff(h1h2, list(t, store.UserFilter{HomeAccounts: []string{"H1", "H2"}, Limit: 3})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got := list(t, store.UserFilter{HomeAccounts: []string{}}); len(got) != 0 {
				t.Errorf("an empty, non-nil HomeAccounts must select nobody; got %v", got)
			}
		})
		t.Run("Kind", func(t *testing.T) {
			if diff := cmp.Diff([]string{"s1", "s2"}, list(t, store.UserFilter{Kind: access.KindInternal})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
		t.Run("Query", func(t *testing.T) {
			if diff := cmp.Diff([]string{"u07"}, list(t, store.UserFilter{Query: "quarterMAIN"})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	})

	t.Run("Delete", func(t *testing.T) {
		t.Run("RemovesEverything", func(t *testing.T) {
			s := open(t, b)
			a := account("A", "")
			a.ExternalAccess = true
			mustPutAccount(t, s, a)
			mustPutUser(t, s, external("u", "A"))
			mustPutUser(t, s, external("keep", "A"))
			g := mustCreateGrant(t, s, grant("user:u", "A", "L20"))
			kept := mustCreateGrant(t, s, grant("user:keep", "A", "L20"))
			mustAddMember(t, s, "acct:A", "u")
			mustAddMember(t, s, "acct:A", "keep")
			mustPutGroup(t, s, access.Group{ID: "team", Name: "Team"})
			mustAddMember(t, s, "team", "u")
			now := time.Now().UTC().Truncate(time.Second)
			for _, h := range []string{"sess-u-1", "sess-u-2"} {
				if err := s.CreateSession(ctx(t), store.Session{Hash: h, UserID: "u", CreatedAt: now, LastSeen: now}); err != nil {
					t.Fatalf("CreateSession: %v", err)
				}
			}
			if err := s.CreateSession(ctx(t), store.Session{Hash: "sess-keep", UserID: "keep", CreatedAt: now, LastSeen: now}); err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
			if _, err := s.SetPassword(ctx(t), by, "u", "hash-of-u"); err != nil {
				t.Fatalf("SetPassword: %v", err)
			}

			if _, err := s.DeleteUser(ctx(t), by, "u"); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
			_, err := s.GetUser(ctx(t), "u")
			wantCode(t, err, access.CodeNotFound)
			_, err = s.GetUserByEmail(ctx(t), "u@example.com")
			wantCode(t, err, access.CodeNotFound)
			if _, ok := s.Engine().User("u"); ok {
				t.Error("the engine still has the user")
			}
			_, err = s.GetGrant(ctx(t), g.ID)
			wantCode(t, err, access.CodeNotFound)
			if _, ok := s.Engine().Grant(g.ID); ok {
				t.Error("the engine still has the user's grant")
			}
			gs, _, err := s.ListGrants(ctx(t), store.GrantFilter{Principal: "user:u"})
			if err != nil || len(gs) != 0 {
				t.Errorf("ListGrants(principal user:u) = %+v, %v; want none", gs, err)
			}
			for _, gid := range []string{"acct:A", "team"} {
				grp, err := s.GetGroup(ctx(t), gid)
				if err != nil {
					t.Fatalf("GetGroup(%s): %v", gid, err)
				}
				for _, m := range grp.Members {
					if m == "u" {
						t.Errorf("group %s still lists the deleted user", gid)
					}
				}
			}
			for _, h := range []string{"sess-u-1", "sess-u-2"} {
				_, err := s.SessionByHash(ctx(t), h)
				wantCode(t, err, access.CodeNotFound)
			}
			// Everything of the other user stays.
			if _, err := s.GetGrant(ctx(t), kept.ID); err != nil {
				t.Errorf("another user's grant went: %v", err)
			}
			if _, err := s.SessionByHash(ctx(t), "sess-keep"); err != nil {
				t.Errorf("another user's session went: %v", err)
			}
			if grp, _ := s.GetGroup(ctx(t), "acct:A"); !cmp.Equal(grp.Members, []string{"keep"}) {
				t.Errorf("acct:A members = %v, want [keep]", grp.Members)
			}
			// The id and email are free again.
			if _, _, err := s.PutUser(ctx(t), by, external("u", "A")); err != nil {
				t.Errorf("re-creating the deleted user: %v", err)
			}
			if gs := s.Engine().UserGrants("u"); len(gs) != 0 {
				t.Errorf("a re-created user inherited old grants: %+v", gs)
			}
		})
		t.Run("RemovesTokens", func(t *testing.T) {
			s := open(t, b)
			mustPutUser(t, s, internal("staff", access.StaffAdmin))
			mustPutUser(t, s, internal("other", access.StaffAdmin))
			tok, _, err := s.CreateToken(ctx(t), by, store.Token{UserID: "staff", Name: "erp", Hash: "tokhash-1"})
			if err != nil {
				t.Fatalf("CreateToken: %v", err)
			}
			other, _, err := s.CreateToken(ctx(t), by, store.Token{UserID: "other", Name: "crm", Hash: "tokhash-2"})
			if err != nil {
				t.Fatalf("CreateToken: %v", err)
			}
			if _, err := s.DeleteUser(ctx(t), by, "staff"); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
			_, err = s.TokenByHash(ctx(t), "tokhash-1")
			wantCode(t, err, access.CodeNotFound)
			if toks, err := s.ListTokens(ctx(t), "staff"); err != nil || len(toks) != 0 {
				t.Errorf("ListTokens of the deleted user = %+v, %v; want none", toks, err)
			}
			_, err = s.DeleteToken(ctx(t), by, tok.ID)
			wantCode(t, err, access.CodeNotFound)
			if _, err := s.TokenByHash(ctx(t), "tokhash-2"); err != nil {
				t.Errorf("another user's token %s went: %v", other.ID, err)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t, b)
			_, err := s.DeleteUser(ctx(t), by, "nobody")
			wantCode(t, err, access.CodeNotFound)
		})
	})

	t.Run("Password", func(t *testing.T) {
		s := open(t, b)
		mustPutUser(t, s, internal("staff", access.StaffAdmin))
		t.Run("NoneSet", func(t *testing.T) {
			h, err := s.PasswordHash(ctx(t), "staff")
			if err != nil || h != "" {
				t.Errorf("PasswordHash before any SetPassword = %q, %v; want \"\"", h, err)
			}
		})
		t.Run("SetRevokesSessions", func(t *testing.T) {
			now := time.Now().UTC().Truncate(time.Second)
			if err := s.CreateSession(ctx(t), store.Session{Hash: "sess-1", UserID: "staff", CreatedAt: now, LastSeen: now}); err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
			if _, err := s.SetPassword(ctx(t), by, "staff", "$argon2id$fake"); err != nil {
				t.Fatalf("SetPassword: %v", err)
			}
			h, err := s.PasswordHash(ctx(t), "staff")
			if err != nil || h != "$argon2id$fake" {
				t.Errorf("PasswordHash = %q, %v; want the stored hash", h, err)
			}
			_, err = s.SessionByHash(ctx(t), "sess-1")
			wantCode(t, err, access.CodeNotFound)
			// SetPassword does not touch the user record itself.
			if u, err := s.GetUser(ctx(t), "staff"); err != nil || u.Status != access.StatusActive {
				t.Errorf("GetUser after SetPassword = %+v, %v", u, err)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := s.SetPassword(ctx(t), by, "nobody", "x")
			wantCode(t, err, access.CodeNotFound)
		})
		t.Run("HashErrNotFound", func(t *testing.T) {
			_, err := s.PasswordHash(ctx(t), "nobody")
			wantCode(t, err, access.CodeNotFound)
		})
	})
}
