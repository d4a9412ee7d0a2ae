package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// testAudit checks that every change but records lands in the audit log
// with its actor, an action and a target naming the object, that the log
// filters and pages, and that the hash chain verifies. Action names and the
// target format are the backend's to choose; the suite only requires that
// the target names the object's id and that the entries of different kinds
// of change are told apart by their actions.
func testAudit(t *testing.T, b Backend) {
	s := open(t, b)
	c := ctx(t)

	// Each change is made by its own actor, so its entries are easy to
	// find.
	type change struct {
		name   string
		actor  string
		target string // an id the entry's target must contain
		do     func(t *testing.T, actor string)
	}
	var grantID string
	changes := []change{
		{"PutAccount", "aud-account", "AUD-A", func(t *testing.T, a string) {
			if _, _, err := s.PutAccount(c, store.Write{Actor: a}, account("AUD-A", "")); err != nil {
				t.Fatal(err)
			}
		}},
		{"PutUser", "aud-user", "aud-u", func(t *testing.T, a string) {
			if _, _, err := s.PutUser(c, store.Write{Actor: a}, external("aud-u", "AUD-A")); err != nil {
				t.Fatal(err)
			}
		}},
		{"SetPassword", "aud-password", "aud-u", func(t *testing.T, a string) {
			if _, err := s.SetPassword(c, store.Write{Actor: a}, "aud-u", "hash"); err != nil {
				t.Fatal(err)
			}
		}},
		{"PutGroup", "aud-group", "aud-g", func(t *testing.T, a string) {
			if _, _, err := s.PutGroup(c, store.Write{Actor: a}, access.Group{ID: "aud-g", Name: "Audited"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"AddMember", "aud-member-add", "aud-g", func(t *testing.T, a string) {
			if _, err := s.AddMember(c, store.Write{Actor: a}, "aud-g", "aud-u"); err != nil {
				t.Fatal(err)
			}
		}},
		{"CreateGrant", "aud-grant-create", "", func(t *testing.T, a string) {
			g, _, err := s.CreateGrant(c, store.Write{Actor: a}, grant("user:aud-u", "AUD-A", "L20"))
			if err != nil {
				t.Fatal(err)
			}
			grantID = g.ID
		}},
		{"UpdateGrant", "aud-grant-update", "", func(t *testing.T, a string) {
			g, err := s.GetGrant(c, grantID)
			if err != nil {
				t.Fatal(err)
			}
			g.Role = "L30"
			if _, _, err := s.UpdateGrant(c, store.Write{Actor: a}, g); err != nil {
				t.Fatal(err)
			}
		}},
		{"DeleteGrant", "aud-grant-delete", "", func(t *testing.T, a string) {
			if _, err := s.DeleteGrant(c, store.Write{Actor: a}, grantID); err != nil {
				t.Fatal(err)
			}
		}},
		{"PutPolicy", "aud-policy", "", func(t *testing.T, a string) {
			if _, _, err := s.PutPolicy(c, store.Write{Actor: a}, withExtraRole(t)); err != nil {
				t.Fatal(err)
			}
		}},
		{"RemoveMember", "aud-member-remove", "aud-g", func(t *testing.T, a string) {
			if _, err := s.RemoveMember(c, store.Write{Actor: a}, "aud-g", "aud-u"); err != nil {
				t.Fatal(err)
			}
		}},
		{"DeleteGroup", "aud-group-delete", "aud-g", func(t *testing.T, a string) {
			if _, err := s.DeleteGroup(c, store.Write{Actor: a}, "aud-g"); err != nil {
				t.Fatal(err)
			}
		}},
		{"DeleteUser", "aud-user-delete", "aud-u", func(t *testing.T, a string) {
			if _, err := s.DeleteUser(c, store.Write{Actor: a}, "aud-u"); err != nil {
				t.Fatal(err)
			}
		}},
		{"DeleteAccount", "aud-account-delete", "AUD-A", func(t *testing.T, a string) {
			if _, err := s.DeleteAccount(c, store.Write{Actor: a}, "AUD-A"); err != nil {
				t.Fatal(err)
			}
		}},
	}
	actions := map[string]string{} // change name -> action of its entry
	for _, ch := range changes {
		t.Run("Entries/"+ch.name, func(t *testing.T) {
			ch.do(t, ch.actor)
			if ch.target == "" {
				ch.target = grantID
				if ch.name == "PutPolicy" {
					ch.target = "" // any target
				}
			}
			entries, _, err := s.ListAudit(c, store.AuditFilter{Actor: ch.actor, Limit: 100})
			if err != nil {
				t.Fatalf("ListAudit(actor %s): %v", ch.actor, err)
			}
			var hit *store.AuditEntry
			for i, e := range entries {
				if e.Actor != ch.actor {
					t.Errorf("ListAudit(actor %s) returned an entry of %s", ch.actor, e.Actor)
				}
				if strings.Contains(e.Target, ch.target) && hit == nil {
					hit = &entries[i]
				}
			}
			if hit == nil {
				t.Fatalf("no audit entry by %s with a target naming %q; got %+v", ch.actor, ch.target, entries)
			}
			if hit.Action == "" || hit.ID == 0 || hit.Time.IsZero() || hit.Hash == "" {
				t.Errorf("incomplete audit entry %+v", *hit)
			}
			actions[ch.name] = hit.Action
		})
	}
	t.Run("Entries/DistinctActions", func(t *testing.T) {
		// Creating and deleting must not look alike.
		for _, pair := range [][2]string{{"PutAccount", "DeleteAccount"}, {"PutUser", "DeleteUser"},
			{"PutGroup", "DeleteGroup"}, {"AddMember", "RemoveMember"}, {"CreateGrant", "DeleteGrant"},
			{"CreateGrant", "UpdateGrant"}} {
			a, b := actions[pair[0]], actions[pair[1]]
			if a != "" && a == b {
				t.Errorf("%s and %s are both audited as %q", pair[0], pair[1], a)
			}
		}
	})
	t.Run("NoRecordEntries", func(t *testing.T) {
		before, _, _ := s.ListAudit(c, store.AuditFilter{Limit: 1})
		mustPutRecord(t, s, &access.Record{Type: "inventory", ID: "aud-r", Attributes: map[string]any{}})
		after, _, _ := s.ListAudit(c, store.AuditFilter{Limit: 1})
		if len(before) == 1 && len(after) == 1 && after[0].ID != before[0].ID {
			t.Errorf("a record write was audited: %+v", after[0])
		}
	})
	t.Run("Log", func(t *testing.T) {
		at := time.Now().UTC().Truncate(time.Second)
		if err := s.Log(c, store.AuditEntry{Time: at, Actor: "aud-login", Action: "session.login", Target: "user:aud-login"}); err != nil {
			t.Fatalf("Log: %v", err)
		}
		entries, _, err := s.ListAudit(c, store.AuditFilter{Actor: "aud-login"})
		if err != nil || len(entries) != 1 {
			t.Fatalf("ListAudit(actor aud-login) = %+v, %v; want the logged entry", entries, err)
		}
		e := entries[0]
		if e.Action != "session.login" || e.Target != "user:aud-login" || e.ID == 0 || e.Hash == "" {
			t.Errorf("logged entry %+v", e)
		}
	})
	t.Run("ActorForms", func(t *testing.T) {
		// Entries before #12 named a user by its bare id; the filter finds
		// both forms by either, and a token only by its own name.
		for _, a := range []string{"aud-form", "user:aud-form", "token:t_aud", "user:aud-other"} {
			if err := s.Log(c, store.AuditEntry{Actor: a, Action: "session.login", Target: "user:aud-form"}); err != nil {
				t.Fatal(err)
			}
		}
		for filter, want := range map[string]int{"aud-form": 2, "user:aud-form": 2, "token:t_aud": 1, "t_aud": 1, "aud-other": 1} {
			got := walkAudit(t, s, store.AuditFilter{Actor: filter})
			if len(got) != want {
				t.Errorf("filter actor %q: %d entries, want %d: %+v", filter, len(got), want, got)
			}
		}
	})
	t.Run("Filter", func(t *testing.T) {
		all := walkAudit(t, s, store.AuditFilter{Limit: 1000})
		t.Run("NewestFirst", func(t *testing.T) {
			for i := 1; i < len(all); i++ {
				if all[i].ID >= all[i-1].ID {
					t.Errorf("entry %d follows %d: not newest first", all[i].ID, all[i-1].ID)
				}
			}
		})
		t.Run("Paging", func(t *testing.T) {
			paged := walkAudit(t, s, store.AuditFilter{Limit: 3})
			if len(paged) != len(all) {
				t.Fatalf("paging by 3 gave %d entries, one page %d", len(paged), len(all))
			}
			for i := range paged {
				if paged[i].ID != all[i].ID {
					t.Errorf("entry %d: paging gives %d, one page %d", i, paged[i].ID, all[i].ID)
				}
			}
		})
		t.Run("Action", func(t *testing.T) {
			act := actions["CreateGrant"]
			got := walkAudit(t, s, store.AuditFilter{Action: act})
			if len(got) == 0 {
				t.Errorf("no entries with action %q", act)
			}
			for _, e := range got {
				if e.Action != act {
					t.Errorf("filter action %q returned %q", act, e.Action)
				}
			}
		})
		t.Run("Target", func(t *testing.T) {
			var target string
			for _, e := range all {
				if e.Actor == "aud-group" {
					target = e.Target
				}
			}
			got := walkAudit(t, s, store.AuditFilter{Target: target})
			want := 0
			for _, e := range all {
				if e.Target == target {
					want++
				}
			}
			if len(got) != want || want == 0 {
				t.Errorf("filter target %q: %d entries, want %d", target, len(got), want)
			}
			for _, e := range got {
				if e.Target != target {
					t.Errorf("filter target %q returned %q", target, e.Target)
				}
			}
		})
		t.Run("Time", func(t *testing.T) {
			future := time.Now().Add(time.Hour)
			if got := walkAudit(t, s, store.AuditFilter{Since: &future}); len(got) != 0 {
				t.Errorf("since an hour ahead: %d entries", len(got))
			}
			past := time.Now().Add(-time.Hour)
			if got := walkAudit(t, s, store.AuditFilter{Until: &past}); len(got) != 0 {
				t.Errorf("until an hour ago: %d entries", len(got))
			}
			if got := walkAudit(t, s, store.AuditFilter{Since: &past, Until: &future}); len(got) != len(all) {
				t.Errorf("the last two hours: %d entries, want %d", len(got), len(all))
			}
		})
	})
	t.Run("Verify", func(t *testing.T) {
		n := len(walkAudit(t, s, store.AuditFilter{Limit: 1000}))
		v, err := s.VerifyAudit(c, "")
		if err != nil {
			t.Fatalf("VerifyAudit: %v", err)
		}
		if !v.OK || v.FirstBad != 0 || v.Entries != int64(n) {
			t.Errorf("VerifyAudit = %+v; want ok with %d entries", v, n)
		}
	})
	t.Run("VerifyEmpty", func(t *testing.T) {
		s := open(t, b)
		v, err := s.VerifyAudit(ctx(t), "")
		if err != nil || !v.OK {
			t.Errorf("VerifyAudit of a fresh store = %+v, %v; want ok", v, err)
		}
	})
}

// walkAudit returns every entry f selects, following cursors.
func walkAudit(t *testing.T, s *instance, f store.AuditFilter) []store.AuditEntry {
	t.Helper()
	var out []store.AuditEntry
	for range 10000 {
		page, next, err := s.ListAudit(ctx(t), f)
		if err != nil {
			t.Fatalf("ListAudit(%+v): %v", f, err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		f.Cursor = next
	}
	t.Fatal("ListAudit: cursor never ends")
	return nil
}
