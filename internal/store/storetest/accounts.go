package storetest

import (
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

func testAccounts(t *testing.T, b Backend) {
	t.Run("Put", func(t *testing.T) {
		t.Run("CreateThenReplace", func(t *testing.T) {
			s := open(t, b)
			a := account("ACME", "")
			a.Kind = "distributor"
			created, _, err := s.PutAccount(ctx(t), by, a)
			if err != nil || !created {
				t.Fatalf("PutAccount: created %v, err %v; want created", created, err)
			}
			got, err := s.GetAccount(ctx(t), "ACME")
			if err != nil {
				t.Fatalf("GetAccount: %v", err)
			}
			if diff := cmp.Diff(a, got); diff != "" {
				t.Errorf("GetAccount after create (-want +got):\n%s", diff)
			}
			a.Name, a.Kind, a.Inherit = "Acme Corp", "customer", false
			created, _, err = s.PutAccount(ctx(t), by, a)
			if err != nil || created {
				t.Fatalf("PutAccount again: created %v, err %v; want replaced", created, err)
			}
			got, _ = s.GetAccount(ctx(t), "ACME")
			if diff := cmp.Diff(a, got); diff != "" {
				t.Errorf("GetAccount after replace (-want +got):\n%s", diff)
			}
			if e, ok := s.Engine().Account("ACME"); !ok || e != a {
				t.Errorf("Engine().Account = %+v, %v; want %+v", e, ok, a)
			}
		})
		t.Run("Move", func(t *testing.T) {
			s := open(t, b)
			mustPutAccount(t, s, account("P1", ""))
			mustPutAccount(t, s, account("P2", ""))
			mustPutAccount(t, s, account("C", "P1"))
			mustPutAccount(t, s, account("C", "P2"))
			got, err := s.GetAccount(ctx(t), "C")
			if err != nil || got.Parent != "P2" {
				t.Errorf("after move: GetAccount = %+v, %v; want parent P2", got, err)
			}
			// A move to the root.
			mustPutAccount(t, s, account("C", ""))
			if got, _ := s.GetAccount(ctx(t), "C"); got.Parent != "" {
				t.Errorf("after move to root: parent %q", got.Parent)
			}
		})
		t.Run("ErrMissingParent", func(t *testing.T) {
			s := open(t, b)
			_, _, err := s.PutAccount(ctx(t), by, account("C", "NOPE"))
			wantCode(t, err, access.CodeInvalid)
			if _, err := s.GetAccount(ctx(t), "C"); access.ErrorCode(err) != access.CodeNotFound {
				t.Errorf("a rejected account was stored: GetAccount err %v", err)
			}
		})
		t.Run("ErrCycle", func(t *testing.T) {
			s := open(t, b)
			mustPutAccount(t, s, account("A", ""))
			mustPutAccount(t, s, account("B", "A"))
			mustPutAccount(t, s, account("C", "B"))
			_, _, err := s.PutAccount(ctx(t), by, account("A", "C"))
			wantCode(t, err, access.CodeInvalid)
			_, _, err = s.PutAccount(ctx(t), by, account("A", "A"))
			wantCode(t, err, access.CodeInvalid)
			if got, _ := s.GetAccount(ctx(t), "A"); got.Parent != "" {
				t.Errorf("a rejected move was stored: A.parent = %q", got.Parent)
			}
			if got, _ := s.Engine().Account("A"); got.Parent != "" {
				t.Errorf("a rejected move reached the engine: A.parent = %q", got.Parent)
			}
		})
	})

	t.Run("Get", func(t *testing.T) {
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t, b)
			_, err := s.GetAccount(ctx(t), "NOPE")
			wantCode(t, err, access.CodeNotFound)
		})
	})

	t.Run("List", func(t *testing.T) {
		s := open(t, b)
		var all []string
		for i := range 7 {
			id := fmt.Sprintf("R%d", i)
			mustPutAccount(t, s, account(id, ""))
			all = append(all, id)
			for j := range 3 {
				cid := fmt.Sprintf("R%d-c%d", i, j)
				a := account(cid, id)
				if i == 3 && j == 1 {
					a.Name = "Special Widgets GmbH"
				}
				mustPutAccount(t, s, a)
				all = append(all, cid)
			}
		}
		list := func(t *testing.T, f store.AccountFilter) []string {
			t.Helper()
			var ids []string
			for range 100 {
				page, next, err := s.ListAccounts(ctx(t), f)
				if err != nil {
					t.Fatalf("ListAccounts(%+v): %v", f, err)
				}
				if f.Limit > 0 && len(page) > f.Limit {
					t.Errorf("page of %d accounts, limit %d", len(page), f.Limit)
				}
				for _, a := range page {
					ids = append(ids, a.ID)
				}
				if next == "" {
					sort.Strings(ids)
					return ids
				}
				f.Cursor = next
			}
			t.Fatal("ListAccounts: cursor never ends")
			return nil
		}
		t.Run("Paging", func(t *testing.T) {
			sort.Strings(all)
			if diff := cmp.Diff(all, list(t, store.AccountFilter{Limit: 3})); diff != "" {
				t.Errorf("paging through all accounts (-want +got):\n%s", diff)
			}
		})
		t.Run("Roots", func(t *testing.T) {
			want := []string{"R0", "R1", "R2", "R3", "R4", "R5", "R6"}
			if diff := cmp.Diff(want, list(t, store.AccountFilter{Parent: ptr(""), Limit: 4})); diff != "" {
				t.Errorf("roots (-want +got):\n%s", diff)
			}
		})
		t.Run("Children", func(t *testing.T) {
			want := []string{"R2-c0", "R2-c1", "R2-c2"}
			if diff := cmp.Diff(want, list(t, store.AccountFilter{Parent: ptr("R2")})); diff != "" {
				t.Errorf("children of R2 (-want +got):\n%s", diff)
			}
		})
		t.Run("Query", func(t *testing.T) {
			if diff := cmp.Diff([]string{"R3-c1"}, list(t, store.AccountFilter{Query: "widgets"})); diff != "" {
				t.Errorf("query by name, case-insensitive (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"R5-c2"}, list(t, store.AccountFilter{Query: "r5-C2"})); diff != "" {
				t.Errorf("query by id, case-insensitive (-want +got):\n%s", diff)
			}
		})
	})

	t.Run("Delete", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := open(t, b)
			mustPutAccount(t, s, account("A", ""))
			mustPutAccount(t, s, account("B", "A"))
			if _, err := s.DeleteAccount(ctx(t), by, "B"); err != nil {
				t.Fatalf("DeleteAccount(B): %v", err)
			}
			_, err := s.GetAccount(ctx(t), "B")
			wantCode(t, err, access.CodeNotFound)
			if _, ok := s.Engine().Account("B"); ok {
				t.Error("the engine still has the deleted account")
			}
			// With the child gone, the parent may go too.
			if _, err := s.DeleteAccount(ctx(t), by, "A"); err != nil {
				t.Fatalf("DeleteAccount(A): %v", err)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t, b)
			_, err := s.DeleteAccount(ctx(t), by, "NOPE")
			wantCode(t, err, access.CodeNotFound)
		})
		t.Run("ErrChildren", func(t *testing.T) {
			s := open(t, b)
			mustPutAccount(t, s, account("A", ""))
			mustPutAccount(t, s, account("B", "A"))
			_, err := s.DeleteAccount(ctx(t), by, "A")
			wantMessageMentions(t, wantCode(t, err, access.CodeConflict), "child")
			if _, err := s.GetAccount(ctx(t), "A"); err != nil {
				t.Errorf("a blocked delete removed the account: %v", err)
			}
		})
		t.Run("ErrRecords", func(t *testing.T) {
			s := open(t, b)
			mustPutAccount(t, s, account("A", ""))
			mustPutRecord(t, s, &access.Record{Type: "inventory", ID: "i1", Owner: "A", Attributes: map[string]any{}})
			_, err := s.DeleteAccount(ctx(t), by, "A")
			wantMessageMentions(t, wantCode(t, err, access.CodeConflict), "record")
			if _, err := s.GetAccount(ctx(t), "A"); err != nil {
				t.Errorf("a blocked delete removed the account: %v", err)
			}
			if _, err := s.DeleteRecord(ctx(t), by, "inventory", "i1"); err != nil {
				t.Fatalf("DeleteRecord: %v", err)
			}
			if _, err := s.DeleteAccount(ctx(t), by, "A"); err != nil {
				t.Errorf("DeleteAccount once its record is gone: %v", err)
			}
		})
		t.Run("ErrHomeUsers", func(t *testing.T) {
			s := open(t, b)
			mustPutAccount(t, s, account("A", ""))
			mustPutUser(t, s, external("u1", "A"))
			_, err := s.DeleteAccount(ctx(t), by, "A")
			wantMessageMentions(t, wantCode(t, err, access.CodeConflict), "user")
			if _, err := s.GetAccount(ctx(t), "A"); err != nil {
				t.Errorf("a blocked delete removed the account: %v", err)
			}
			if _, err := s.GetUser(ctx(t), "u1"); err != nil {
				t.Errorf("a blocked delete removed the home user: %v", err)
			}
		})
		t.Run("ErrGrants", func(t *testing.T) {
			s := open(t, b)
			mustPutAccount(t, s, account("A", ""))
			mustPutAccount(t, s, account("H", ""))
			mustPutUser(t, s, external("u1", "H"))
			g := mustCreateGrant(t, s, grant("user:u1", "A", "L20"))
			_, err := s.DeleteAccount(ctx(t), by, "A")
			wantMessageMentions(t, wantCode(t, err, access.CodeConflict), "grant")
			if _, err := s.GetGrant(ctx(t), g.ID); err != nil {
				t.Errorf("a blocked delete removed the grant: %v", err)
			}
			if _, err := s.DeleteGrant(ctx(t), by, g.ID); err != nil {
				t.Fatalf("DeleteGrant: %v", err)
			}
			if _, err := s.DeleteAccount(ctx(t), by, "A"); err != nil {
				t.Errorf("DeleteAccount once its grant is gone: %v", err)
			}
		})
		t.Run("ErrProtected", func(t *testing.T) {
			s := open(t, b)
			mustPutAccount(t, s, account("A", ""))
			mustPutAccount(t, s, account("H", ""))
			mustPutUser(t, s, external("owner", "H"))
			mustCreateGrant(t, s, grant("user:owner", "A", "L90"))
			_, err := s.DeleteAccount(ctx(t), by, "A")
			wantCode(t, err, access.CodeProtected)
			if _, err := s.GetAccount(ctx(t), "A"); err != nil {
				t.Errorf("a blocked delete removed the account: %v", err)
			}
		})
	})
}
