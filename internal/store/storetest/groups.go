package storetest

import (
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

func testGroups(t *testing.T, b Backend) {
	// setup returns a store with account A (switch off), users u1..u3
	// homed there and group g.
	setup := func(t *testing.T) *instance {
		s := open(t, b)
		mustPutAccount(t, s, account("A", ""))
		for _, u := range []string{"u1", "u2", "u3"} {
			mustPutUser(t, s, external(u, "A"))
		}
		mustPutGroup(t, s, access.Group{ID: "g", Name: "Support EU"})
		return s
	}

	t.Run("Put", func(t *testing.T) {
		t.Run("CreateThenRename", func(t *testing.T) {
			s := setup(t)
			got, err := s.GetGroup(ctx(t), "g")
			if err != nil {
				t.Fatalf("GetGroup: %v", err)
			}
			want := store.GroupWithMembers{Group: access.Group{ID: "g", Name: "Support EU"}}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			mustAddMember(t, s, "g", "u1")
			created, _, err := s.PutGroup(ctx(t), by, access.Group{ID: "g", Name: "Support Europe"})
			if err != nil || created {
				t.Fatalf("PutGroup again: created %v, err %v; want replaced", created, err)
			}
			got, _ = s.GetGroup(ctx(t), "g")
			want = store.GroupWithMembers{Group: access.Group{ID: "g", Name: "Support Europe"}, Members: []string{"u1"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("after rename, members must stay (-want +got):\n%s", diff)
			}
		})
	})

	t.Run("Get", func(t *testing.T) {
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t, b)
			_, err := s.GetGroup(ctx(t), "nope")
			wantCode(t, err, access.CodeNotFound)
		})
	})

	t.Run("Members", func(t *testing.T) {
		t.Run("AddRemove", func(t *testing.T) {
			s := setup(t)
			mustAddMember(t, s, "g", "u3")
			mustAddMember(t, s, "g", "u1")
			mustAddMember(t, s, "g", "u2")
			// Adding a member twice is harmless.
			if _, err := s.AddMember(ctx(t), by, "g", "u1"); err != nil {
				t.Errorf("AddMember twice: %v", err)
			}
			got, _ := s.GetGroup(ctx(t), "g")
			if diff := cmp.Diff([]string{"u1", "u2", "u3"}, got.Members); diff != "" {
				t.Errorf("members, sorted (-want +got):\n%s", diff)
			}
			if _, err := s.RemoveMember(ctx(t), by, "g", "u2"); err != nil {
				t.Fatalf("RemoveMember: %v", err)
			}
			got, _ = s.GetGroup(ctx(t), "g")
			if diff := cmp.Diff([]string{"u1", "u3"}, got.Members); diff != "" {
				t.Errorf("members after remove (-want +got):\n%s", diff)
			}
		})
		t.Run("ErrUnknownGroup", func(t *testing.T) {
			s := setup(t)
			_, err := s.AddMember(ctx(t), by, "nope", "u1")
			wantCode(t, err, access.CodeNotFound)
			_, err = s.RemoveMember(ctx(t), by, "nope", "u1")
			wantCode(t, err, access.CodeNotFound)
		})
		t.Run("ErrUnknownUser", func(t *testing.T) {
			s := setup(t)
			_, err := s.AddMember(ctx(t), by, "g", "nobody")
			wantCode(t, err, access.CodeInvalid)
			if got, _ := s.GetGroup(ctx(t), "g"); len(got.Members) != 0 {
				t.Errorf("members = %v, want none", got.Members)
			}
		})
	})

	t.Run("List", func(t *testing.T) {
		s := open(t, b)
		var all, ofB []string
		for _, id := range []string{"A", "B"} {
			a := account(id, "")
			a.ExternalAccess = true // creates acct:A and acct:B
			mustPutAccount(t, s, a)
			all = append(all, access.AccountGroupID(id))
		}
		ofB = append(ofB, "acct:B")
		for i := range 9 {
			g := access.Group{ID: fmt.Sprintf("g%d", i), Name: fmt.Sprintf("Group %d", i)}
			if i%3 == 0 {
				g.Account = "B"
				ofB = append(ofB, g.ID)
			}
			mustPutGroup(t, s, g)
			all = append(all, g.ID)
		}
		list := func(t *testing.T, f store.GroupFilter) []string {
			t.Helper()
			var out []string
			for range 100 {
				page, next, err := s.ListGroups(ctx(t), f)
				if err != nil {
					t.Fatalf("ListGroups(%+v): %v", f, err)
				}
				if f.Limit > 0 && len(page) > f.Limit {
					t.Errorf("page of %d groups, limit %d", len(page), f.Limit)
				}
				for _, g := range page {
					out = append(out, g.ID)
				}
				if next == "" {
					sort.Strings(out)
					return out
				}
				f.Cursor = next
			}
			t.Fatal("ListGroups: cursor never ends")
			return nil
		}
		sort.Strings(all)
		sort.Strings(ofB)
		t.Run("Paging", func(t *testing.T) {
			if diff := cmp.Diff(all, list(t, store.GroupFilter{Limit: 4})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
		t.Run("Account", func(t *testing.T) {
			if diff := cmp.Diff(ofB, list(t, store.GroupFilter{Account: "B", Limit: 2})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
		t.Run("Members", func(t *testing.T) {
			mustPutUser(t, s, external("m2", "A"))
			mustPutUser(t, s, external("m1", "A"))
			mustAddMember(t, s, "g4", "m2")
			mustAddMember(t, s, "g4", "m1")
			page, _, err := s.ListGroups(ctx(t), store.GroupFilter{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range page {
				if g.ID == "g4" && !cmp.Equal(g.Members, []string{"m1", "m2"}) {
					t.Errorf("ListGroups: g4 members = %v, want [m1 m2]", g.Members)
				}
			}
		})
	})

	t.Run("Delete", func(t *testing.T) {
		t.Run("RemovesGrantsAndMembers", func(t *testing.T) {
			s := setup(t)
			a := account("A", "")
			a.ExternalAccess = true
			mustPutAccount(t, s, a)
			mustAddMember(t, s, "g", "u1")
			mustAddMember(t, s, "g", "u2")
			gr := mustCreateGrant(t, s, grant("group:g", "A", "L20"))
			r := &access.Record{Type: "inventory", ID: "i1", Owner: "A", Attributes: map[string]any{}}
			if !allowed(s, "u1", r) {
				t.Fatal("setup: a member should read the record")
			}
			if _, err := s.DeleteGroup(ctx(t), by, "g"); err != nil {
				t.Fatalf("DeleteGroup: %v", err)
			}
			_, err := s.GetGroup(ctx(t), "g")
			wantCode(t, err, access.CodeNotFound)
			_, err = s.GetGrant(ctx(t), gr.ID)
			wantCode(t, err, access.CodeNotFound)
			if _, ok := s.Engine().Grant(gr.ID); ok {
				t.Error("the engine still has the group's grant")
			}
			if allowed(s, "u1", r) {
				t.Error("a former member still reads the record")
			}
			for _, u := range []string{"u1", "u2"} {
				if _, err := s.GetUser(ctx(t), u); err != nil {
					t.Errorf("deleting the group deleted member %s: %v", u, err)
				}
			}
			// Re-created under the same id, the group starts empty.
			mustPutGroup(t, s, access.Group{ID: "g", Name: "Again"})
			got, _ := s.GetGroup(ctx(t), "g")
			if len(got.Members) != 0 {
				t.Errorf("a re-created group has old members %v", got.Members)
			}
			if gs := grantsOn(t, s, "A"); len(gs) != 1 || gs[0].Principal != "group:acct:A" {
				t.Errorf("grants on A = %+v; want only the default group grant", gs)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t, b)
			_, err := s.DeleteGroup(ctx(t), by, "nope")
			wantCode(t, err, access.CodeNotFound)
		})
	})
}
