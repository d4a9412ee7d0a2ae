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

// ignoreBookkeeping compares grants without the fields the store assigns.
var ignoreBookkeeping = cmpopts.IgnoreFields(access.Grant{}, "ID", "CreatedBy", "CreatedAt", "UpdatedAt")

func testGrants(t *testing.T, b Backend) {
	// setup returns a store with accounts A (switch on) and B (off), a
	// child A1 of A, users u1, u2 homed in A and group team.
	setup := func(t *testing.T) *instance {
		s := open(t, b)
		a := account("A", "")
		a.ExternalAccess = true
		mustPutAccount(t, s, a)
		mustPutAccount(t, s, account("A1", "A"))
		mustPutAccount(t, s, account("B", ""))
		mustPutUser(t, s, external("u1", "A"))
		mustPutUser(t, s, external("u2", "A"))
		mustPutGroup(t, s, access.Group{ID: "team", Name: "Team"})
		return s
	}

	t.Run("Create", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := setup(t)
			from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			until := time.Date(2099, 1, 1, 12, 30, 0, 0, time.UTC)
			in := access.Grant{Principal: "user:u1", Account: "A1", Role: "L30", Scope: access.ScopeAccount,
				Access: access.AccessRead, DaysBack: ptr(30), ValidFrom: &from, ValidUntil: &until, Notes: "per contract 42"}
			before := time.Now().Add(-time.Minute)
			g, rev, err := s.CreateGrant(ctx(t), by, in)
			if err != nil {
				t.Fatalf("CreateGrant: %v", err)
			}
			if g.ID == "" {
				t.Error("CreateGrant assigned no id")
			}
			if g.CreatedBy != actor {
				t.Errorf("CreatedBy = %q, want the actor %q", g.CreatedBy, actor)
			}
			if g.CreatedAt.Before(before) || g.UpdatedAt.Before(before) {
				t.Errorf("bookkeeping times not set: created %v, updated %v", g.CreatedAt, g.UpdatedAt)
			}
			if diff := cmp.Diff(in, g, ignoreBookkeeping); diff != "" {
				t.Errorf("returned grant (-want +got):\n%s", diff)
			}
			got, err := s.GetGrant(ctx(t), g.ID)
			if err != nil {
				t.Fatalf("GetGrant: %v", err)
			}
			if diff := cmp.Diff(g, got); diff != "" {
				t.Errorf("GetGrant differs from what CreateGrant returned (-create +get):\n%s", diff)
			}
			eg, ok := s.Engine().Grant(g.ID)
			if !ok {
				t.Fatal("the engine lacks the new grant")
			}
			if diff := cmp.Diff(in, eg, ignoreBookkeeping); diff != "" {
				t.Errorf("engine grant (-want +got):\n%s", diff)
			}
			if rev <= 0 || s.Revision() < rev {
				t.Errorf("rev %d, Revision() %d", rev, s.Revision())
			}
		})
		t.Run("GroupPrincipal", func(t *testing.T) {
			s := setup(t)
			g := mustCreateGrant(t, s, grant("group:team", "B", "L10"))
			if got, err := s.GetGrant(ctx(t), g.ID); err != nil || got.Principal != "group:team" {
				t.Errorf("GetGrant = %+v, %v", got, err)
			}
		})
		t.Run("ErrConflict", func(t *testing.T) {
			s := setup(t)
			first := mustCreateGrant(t, s, grant("user:u1", "A", "L20"))
			_, _, err := s.CreateGrant(ctx(t), by, grant("user:u1", "A", "L40"))
			if e := wantCode(t, err, access.CodeConflict); e != nil && e.ExistingID != first.ID {
				t.Errorf("ExistingID = %q, want %q", e.ExistingID, first.ID)
			}
			// The same principal on another account, and another
			// principal on the same account, are fine.
			mustCreateGrant(t, s, grant("user:u1", "A1", "L20"))
			mustCreateGrant(t, s, grant("user:u2", "A", "L20"))
			if n := len(grantsOn(t, s, "A")); n != 3 { // u1, u2 and group:acct:A
				t.Errorf("%d grants on A, want 3", n)
			}
		})
		t.Run("ErrConflictDefaultGroupGrant", func(t *testing.T) {
			s := setup(t)
			var def string
			for _, g := range grantsOn(t, s, "A") {
				if g.Principal == "group:acct:A" {
					def = g.ID
				}
			}
			_, _, err := s.CreateGrant(ctx(t), by, grant("group:acct:A", "A", "L20"))
			if e := wantCode(t, err, access.CodeConflict); e != nil && e.ExistingID != def {
				t.Errorf("ExistingID = %q, want %q", e.ExistingID, def)
			}
		})
		for _, tc := range []struct {
			name string
			g    access.Grant
		}{
			{"ErrUnknownUser", grant("user:nobody", "A", "L10")},
			{"ErrUnknownGroup", grant("group:nope", "A", "L10")},
			{"ErrBadPrincipal", grant("account:A", "A", "L10")},
			{"ErrUnknownAccount", grant("user:u1", "NOPE", "L10")},
			{"ErrUnknownRole", grant("user:u1", "A", "L99")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := setup(t)
				rev := s.Revision()
				_, _, err := s.CreateGrant(ctx(t), by, tc.g)
				wantCode(t, err, access.CodeInvalid)
				if gs := grantsOn(t, s, tc.g.Account); len(gs) > 1 {
					t.Errorf("a rejected grant was stored: %+v", gs)
				}
				if s.Revision() != rev {
					t.Errorf("a rejected write moved the revision from %d to %d", rev, s.Revision())
				}
			})
		}
	})

	t.Run("Get", func(t *testing.T) {
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t, b)
			_, err := s.GetGrant(ctx(t), "nope")
			wantCode(t, err, access.CodeNotFound)
		})
	})

	t.Run("Update", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := setup(t)
			g := mustCreateGrant(t, s, grant("user:u1", "A", "L20"))
			until := time.Date(2098, 5, 6, 7, 8, 9, 0, time.UTC)
			next := g
			next.Role, next.Scope, next.Access = "L40", access.ScopeAccount, access.AccessRead
			next.DaysBack, next.ValidUntil, next.Notes = ptr(90), &until, "raised"
			next.CreatedBy, next.CreatedAt = "someone-else", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
			got, _, err := s.UpdateGrant(ctx(t), by, next)
			if err != nil {
				t.Fatalf("UpdateGrant: %v", err)
			}
			if got.ID != g.ID || got.CreatedBy != g.CreatedBy || !got.CreatedAt.Equal(g.CreatedAt) {
				t.Errorf("UpdateGrant changed id or bookkeeping: %+v, was %+v", got, g)
			}
			if got.UpdatedAt.Before(g.UpdatedAt) {
				t.Errorf("UpdatedAt went back: %v < %v", got.UpdatedAt, g.UpdatedAt)
			}
			if diff := cmp.Diff(next, got, ignoreBookkeeping); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			stored, _ := s.GetGrant(ctx(t), g.ID)
			if diff := cmp.Diff(got, stored); diff != "" {
				t.Errorf("GetGrant after update (-update +get):\n%s", diff)
			}
			eg, _ := s.Engine().Grant(g.ID)
			if diff := cmp.Diff(next, eg, ignoreBookkeeping); diff != "" {
				t.Errorf("engine grant after update (-want +got):\n%s", diff)
			}
			// Clearing optional fields.
			next = got
			next.DaysBack, next.ValidUntil, next.Notes = nil, nil, ""
			got, _, err = s.UpdateGrant(ctx(t), by, next)
			if err != nil {
				t.Fatalf("UpdateGrant clearing: %v", err)
			}
			if got.DaysBack != nil || got.ValidUntil != nil || got.Notes != "" {
				t.Errorf("optional fields not cleared: %+v", got)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			s := setup(t)
			g := grant("user:u1", "A", "L20")
			g.ID = "nope"
			_, _, err := s.UpdateGrant(ctx(t), by, g)
			wantCode(t, err, access.CodeNotFound)
		})
		t.Run("ErrConflict", func(t *testing.T) {
			s := setup(t)
			g1 := mustCreateGrant(t, s, grant("user:u1", "A", "L20"))
			g2 := mustCreateGrant(t, s, grant("user:u1", "A1", "L20"))
			g2.Account = "A"
			_, _, err := s.UpdateGrant(ctx(t), by, g2)
			if e := wantCode(t, err, access.CodeConflict); e != nil && e.ExistingID != g1.ID {
				t.Errorf("ExistingID = %q, want %q", e.ExistingID, g1.ID)
			}
		})
		t.Run("ErrUnknownRole", func(t *testing.T) {
			s := setup(t)
			g := mustCreateGrant(t, s, grant("user:u1", "A", "L20"))
			g.Role = "L99"
			_, _, err := s.UpdateGrant(ctx(t), by, g)
			wantCode(t, err, access.CodeInvalid)
			if got, _ := s.GetGrant(ctx(t), g.ID); got.Role != "L20" {
				t.Errorf("a rejected update was stored: role %s", got.Role)
			}
		})
	})

	t.Run("Delete", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := setup(t)
			g := mustCreateGrant(t, s, grant("user:u1", "A", "L20"))
			if _, err := s.DeleteGrant(ctx(t), by, g.ID); err != nil {
				t.Fatalf("DeleteGrant: %v", err)
			}
			_, err := s.GetGrant(ctx(t), g.ID)
			wantCode(t, err, access.CodeNotFound)
			if _, ok := s.Engine().Grant(g.ID); ok {
				t.Error("the engine still has the grant")
			}
			// The pair is free again.
			mustCreateGrant(t, s, grant("user:u1", "A", "L10"))
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			s := setup(t)
			_, err := s.DeleteGrant(ctx(t), by, "nope")
			wantCode(t, err, access.CodeNotFound)
		})
	})

	t.Run("List", func(t *testing.T) {
		s := open(t, b)
		type key struct{ p, a string }
		var all []key
		for i := range 4 {
			mustPutAccount(t, s, account(fmt.Sprintf("A%d", i), ""))
		}
		for i := range 5 {
			mustPutUser(t, s, external(fmt.Sprintf("u%d", i), "A0"))
		}
		for i := range 5 {
			for j := range 4 {
				if (i+j)%2 == 0 {
					p, a := fmt.Sprintf("user:u%d", i), fmt.Sprintf("A%d", j)
					mustCreateGrant(t, s, grant(p, a, "L10"))
					all = append(all, key{p, a})
				}
			}
		}
		list := func(t *testing.T, f store.GrantFilter) []key {
			t.Helper()
			var out []key
			for range 100 {
				page, next, err := s.ListGrants(ctx(t), f)
				if err != nil {
					t.Fatalf("ListGrants(%+v): %v", f, err)
				}
				if f.Limit > 0 && len(page) > f.Limit {
					t.Errorf("page of %d grants, limit %d", len(page), f.Limit)
				}
				for _, g := range page {
					out = append(out, key{g.Principal, g.Account})
				}
				if next == "" {
					sort.Slice(out, func(i, j int) bool { return out[i].p+" "+out[i].a < out[j].p+" "+out[j].a })
					return out
				}
				f.Cursor = next
			}
			t.Fatal("ListGrants: cursor never ends")
			return nil
		}
		filter := func(keep func(key) bool) []key {
			var out []key
			for _, k := range all {
				if keep(k) {
					out = append(out, k)
				}
			}
			sort.Slice(out, func(i, j int) bool { return out[i].p+" "+out[i].a < out[j].p+" "+out[j].a })
			return out
		}
		cmpKeys := cmp.AllowUnexported(key{})
		t.Run("Paging", func(t *testing.T) {
			if diff := cmp.Diff(filter(func(key) bool { return true }), list(t, store.GrantFilter{Limit: 3}), cmpKeys); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
		t.Run("Account", func(t *testing.T) {
			want := filter(func(k key) bool { return k.a == "A2" })
			if diff := cmp.Diff(want, list(t, store.GrantFilter{Account: "A2", Limit: 2}), cmpKeys); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
		t.Run("Principal", func(t *testing.T) {
			want := filter(func(k key) bool { return k.p == "user:u3" })
			if diff := cmp.Diff(want, list(t, store.GrantFilter{Principal: "user:u3"}), cmpKeys); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
		t.Run("Accounts", func(t *testing.T) {
			want := filter(func(k key) bool { return k.a == "A1" || k.a == "A3" })
			if diff := cmp.Diff(want, list(t, store.GrantFilter{Accounts: []string{"A1", "A3"}, Limit: 2}), cmpKeys); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got := list(t, store.GrantFilter{Accounts: []string{}}); len(got) != 0 {
				t.Errorf("an empty, non-nil Accounts must select nothing; got %v", got)
			}
		})
	})
}
