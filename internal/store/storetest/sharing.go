package storetest

import (
	"encoding/json"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// testAuditSharing checks that record writes that change a record's owner,
// teams or parent leave one store.SharingAction entry each, through
// PutRecord and Batch alike, holding those fields only, and that writes
// changing only attributes or nothing leave none; and that every
// deleted record leaves one store.DeleteAction entry with its sharing.
func testAuditSharing(t *testing.T, b Backend) {
	s := open(t, b)
	c := ctx(t)
	const who = "user:aud-sharer"
	w := store.Write{Actor: who}
	sharingEntries := func(t *testing.T, target string) []store.AuditEntry {
		t.Helper()
		return walkAudit(t, s, store.AuditFilter{Action: store.SharingAction, Target: target})
	}
	put := func(t *testing.T, r *access.Record) {
		t.Helper()
		if _, _, err := s.PutRecord(c, w, r); err != nil {
			t.Fatalf("PutRecord(%s/%s): %v", r.Type, r.ID, err)
		}
	}
	ticket := func(owner string, attrs map[string]any, teams ...access.TeamEntry) *access.Record {
		return &access.Record{Type: "ticket", ID: "SHR-1", Owner: owner, Attributes: attrs, Teams: teams}
	}
	const target = "record:ticket/SHR-1"

	t.Run("Put", func(t *testing.T) {
		put(t, ticket("C-A", map[string]any{"title": "one"}))
		if got := sharingEntries(t, target); len(got) != 0 {
			t.Fatalf("creating a record without teams: %d sharing entries, want 0", len(got))
		}
		put(t, ticket("C-A", map[string]any{"title": "two", "secret": "s3cr3t"}))
		if got := sharingEntries(t, target); len(got) != 0 {
			t.Fatalf("an attribute-only change: %d sharing entries, want 0", len(got))
		}
		put(t, ticket("C-B", map[string]any{"title": "two", "secret": "s3cr3t"}))
		got := sharingEntries(t, target)
		if len(got) != 1 {
			t.Fatalf("an owner change: %d sharing entries, want 1", len(got))
		}
		e := got[0]
		if e.Actor != who {
			t.Errorf("actor = %q, want %q", e.Actor, who)
		}
		var before, after map[string]any
		if err := json.Unmarshal(e.Before, &before); err != nil {
			t.Fatalf("before %s: %v", e.Before, err)
		}
		if err := json.Unmarshal(e.After, &after); err != nil {
			t.Fatalf("after %s: %v", e.After, err)
		}
		if before["owner"] != "C-A" || after["owner"] != "C-B" {
			t.Errorf("owner before %v after %v, want C-A then C-B", before["owner"], after["owner"])
		}
		for _, m := range []map[string]any{before, after} {
			if _, ok := m["attributes"]; ok || len(m) != 3 {
				t.Errorf("entry holds %v, want owner, teams and parent only", m)
			}
		}
		put(t, ticket("C-B", map[string]any{"title": "three"}, access.TeamEntry{Principal: "account:C-C", Access: access.AccessRead}))
		put(t, ticket("C-B", map[string]any{"title": "four"}, access.TeamEntry{Principal: "account:C-C", Access: access.AccessRead}))
		if got := sharingEntries(t, target); len(got) != 2 {
			t.Fatalf("a team added, then kept: %d sharing entries, want 2", len(got))
		}
		r := ticket("C-B", map[string]any{"title": "four"}, access.TeamEntry{Principal: "account:C-C", Access: access.AccessRead})
		r.Parent = &access.Ref{Type: "sales_order", ID: "SO-1"}
		put(t, r)
		if got := sharingEntries(t, target); len(got) != 3 {
			t.Fatalf("a parent set: %d sharing entries, want 3", len(got))
		}
	})

	t.Run("Batch", func(t *testing.T) {
		var ups []*access.Record
		for i := range 30 {
			ups = append(ups, &access.Record{Type: "inventory", ID: "SHB-" + string(rune('A'+i%26)) + string(rune('a'+i/26)),
				Owner: "C-A", Attributes: map[string]any{"n": i}})
		}
		batch := func(t *testing.T) {
			t.Helper()
			if _, err := s.Batch(c, w, store.RecordBatch{Upsert: ups}); err != nil {
				t.Fatalf("Batch: %v", err)
			}
		}
		count := func(t *testing.T) int {
			t.Helper()
			n := 0
			for _, e := range walkAudit(t, s, store.AuditFilter{Action: store.SharingAction, Actor: who}) {
				if len(e.Target) > len("record:inventory/SHB-") && e.Target[:len("record:inventory/SHB-")] == "record:inventory/SHB-" {
					n++
				}
			}
			return n
		}
		batch(t)
		if n := count(t); n != 0 {
			t.Fatalf("creating 30 records without teams: %d sharing entries, want 0", n)
		}
		for i, r := range ups {
			r.Attributes = map[string]any{"n": i + 100}
		}
		batch(t)
		if n := count(t); n != 0 {
			t.Fatalf("changing attributes of 30 records: %d sharing entries, want 0", n)
		}
		ups[3].Owner = "C-B"
		ups[7].Teams = []access.TeamEntry{{Principal: "user:someone", Access: access.AccessReadWrite}}
		ups[9].Parent = &access.Ref{Type: "sales_order", ID: "SO-9"}
		batch(t)
		if n := count(t); n != 3 {
			t.Fatalf("changing the sharing of 3 of 30 records: %d sharing entries, want 3", n)
		}
		batch(t)
		if n := count(t); n != 3 {
			t.Fatalf("repeating the batch: %d sharing entries, want still 3", n)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		deletes := func(t *testing.T, target string) []store.AuditEntry {
			t.Helper()
			return walkAudit(t, s, store.AuditFilter{Action: store.DeleteAction, Target: target})
		}
		if _, err := s.DeleteRecord(c, w, "ticket", "SHR-1"); err != nil {
			t.Fatalf("DeleteRecord: %v", err)
		}
		got := deletes(t, target)
		if len(got) != 1 || got[0].Actor != who || got[0].After != nil {
			t.Fatalf("deleting a record: %+v; want one entry by %s without after", got, who)
		}
		var before map[string]any
		if err := json.Unmarshal(got[0].Before, &before); err != nil || before["owner"] != "C-B" || before["parent"] == nil || before["teams"] == nil {
			t.Errorf("the deleted record's sharing: %s, %v; want owner, teams and parent", got[0].Before, err)
		}
		if _, err := s.DeleteRecord(c, w, "ticket", "SHR-1"); err != nil {
			t.Fatalf("DeleteRecord of a missing record: %v", err)
		}
		if got := deletes(t, target); len(got) != 1 {
			t.Errorf("deleting a missing record: %d entries, want still 1", len(got))
		}
		res, err := s.Batch(c, w, store.RecordBatch{Delete: []access.Ref{{Type: "inventory", ID: "SHB-Da"}, {Type: "inventory", ID: "SHB-404"}, {Type: "inventory", ID: "SHB-Ea"}}})
		if err != nil || res.Deleted != 2 {
			t.Fatalf("Batch delete = %+v, %v; want 2 deleted", res, err)
		}
		for _, id := range []string{"SHB-Da", "SHB-Ea"} {
			if got := deletes(t, "record:inventory/"+id); len(got) != 1 || got[0].Actor != who {
				t.Errorf("batch delete of %s: %+v; want one entry by %s", id, got, who)
			}
		}
		if got := deletes(t, "record:inventory/SHB-404"); len(got) != 0 {
			t.Errorf("batch delete of a missing record: %d entries", len(got))
		}
	})

	t.Run("Verify", func(t *testing.T) {
		if v, err := s.VerifyAudit(c, ""); err != nil || !v.OK {
			t.Errorf("VerifyAudit = %+v, %v; want ok", v, err)
		}
	})
}
