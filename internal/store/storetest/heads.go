package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// testDecisionHeads checks DecisionHeads, which may answer from a cache:
// the records and the ancestors it returns, and that no write, on this
// instance or (once caught up with) another, leaves an old head behind.
func testDecisionHeads(t *testing.T, b Backend) {
	s1, dsn := b.open(t, Options{})
	s2 := b.reopen(t, dsn, Options{})
	mustPutAccount(t, s1, account("A", ""))
	mustPutAccount(t, s1, account("B", ""))
	so := func(id, owner string) *access.Record {
		return &access.Record{Type: "sales_order", ID: id, Owner: owner, Date: "2024-05-01", Attributes: map[string]any{"n": 1.0}}
	}
	sh := func(id, parent string) *access.Record {
		return &access.Record{Type: "shipment", ID: id, Owner: "A", Date: "2024-05-02", Parent: &access.Ref{Type: "sales_order", ID: parent},
			Attributes: map[string]any{}}
	}
	ref := func(r *access.Record) access.Ref { return access.Ref{Type: r.Type, ID: r.ID} }
	mustPutRecord(t, s1, so("SO1", "A"))
	mustPutRecord(t, s1, sh("SH1", "SO1"))
	mustPutRecord(t, s1, sh("SH2", "SO-none")) // its parent does not exist
	heads := func(s *instance, hops int, refs ...access.Ref) access.RecordMap {
		t.Helper()
		got, err := s.DecisionHeads(ctx(t), refs, hops)
		if err != nil {
			t.Fatalf("DecisionHeads: %v", err)
		}
		for _, r := range got {
			if len(r.Attributes) != 0 {
				t.Errorf("DecisionHeads: %s/%s has attributes %v", r.Type, r.ID, r.Attributes)
			}
		}
		return got
	}
	owner := func(m access.RecordMap, typ, id string) string {
		if r := m[access.Ref{Type: typ, ID: id}]; r != nil {
			return r.Owner
		}
		return "<missing>"
	}
	sh1, sh2, so1 := ref(sh("SH1", "")), ref(sh("SH2", "")), ref(so("SO1", ""))
	for _, s := range []*instance{s1, s2} {
		for round := range 2 { // the second round may come from the cache
			if got := heads(s, 0, sh1, sh2); len(got) != 2 || got[sh1] == nil || got[sh1].Parent == nil || *got[sh1].Parent != so1 {
				t.Errorf("round %d, no hops: %v, want SH1 (with its parent ref) and SH2", round, got)
			}
			if got := heads(s, 1, sh1, sh2, access.Ref{Type: "sales_order", ID: "nope"}); len(got) != 3 || owner(got, "sales_order", "SO1") != "A" {
				t.Errorf("round %d, one hop: %v, want SH1, SH2 and SO1 (owned by A)", round, got)
			}
		}
	}

	// Writes on this instance are reflected when they return: a changed
	// owner, a record cached as missing that is created, a deleted one.
	mustPutRecord(t, s1, so("SO1", "B"))
	mustPutRecord(t, s1, so("SO-none", "B"))
	if got := heads(s1, 1, sh1, sh2); owner(got, "sales_order", "SO1") != "B" || owner(got, "sales_order", "SO-none") != "B" {
		t.Errorf("after the writes: SO1 %s, SO-none %s; want both owned by B", owner(got, "sales_order", "SO1"), owner(got, "sales_order", "SO-none"))
	}
	if _, err := s1.DeleteRecord(ctx(t), by, "shipment", "SH2"); err != nil {
		t.Fatal(err)
	}
	if got := heads(s1, 1, sh2); len(got) != 0 {
		t.Errorf("after deleting SH2: %v, want nothing", got)
	}

	// Another instance reflects them once it has caught up with their
	// revision (what min_revision asks for).
	c, cancel := context.WithTimeout(ctx(t), 5*time.Second)
	defer cancel()
	if err := s2.WaitRevision(c, s1.Revision()); err != nil {
		t.Fatalf("second instance: WaitRevision: %v", err)
	}
	got := heads(s2, 1, sh1, sh2)
	if owner(got, "sales_order", "SO1") != "B" || got[sh2] != nil {
		t.Errorf("second instance, caught up: SO1 owned by %s, SH2 %v; want B and deleted", owner(got, "sales_order", "SO1"), got[sh2])
	}
	mustPutRecord(t, s1, so("SO1", "A"))
	if err := s2.WaitRevision(c, s1.Revision()); err != nil {
		t.Fatalf("second instance: WaitRevision: %v", err)
	}
	if got := heads(s2, 0, so1); owner(got, "sales_order", "SO1") != "A" {
		t.Errorf("second instance, caught up again: SO1 owned by %s, want A", owner(got, "sales_order", "SO1"))
	}
}

// testDecisionHeadsRace writes a record's owner back and forth while other
// goroutines keep reading its head: each write's own read after it must
// see the owner it wrote, never a head a racing read cached from before
// the write.
func testDecisionHeadsRace(t *testing.T, b Backend) {
	s := open(t, b)
	mustPutAccount(t, s, account("A", ""))
	mustPutAccount(t, s, account("B", ""))
	ref := access.Ref{Type: "sales_order", ID: "SO1"}
	put := func(owner string) {
		t.Helper()
		mustPutRecord(t, s, &access.Record{Type: "sales_order", ID: "SO1", Owner: owner, Date: "2024-05-01", Attributes: map[string]any{}})
	}
	put("A")
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := s.DecisionHeads(ctx(t), []access.Ref{ref}, 0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := range 60 {
		owner := []string{"A", "B"}[i%2]
		put(owner)
		got, err := s.DecisionHeads(ctx(t), []access.Ref{ref}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if r := got[ref]; r == nil || r.Owner != owner {
			t.Errorf("write %d: the head after writing owner %s is %+v", i, owner, r)
		}
	}
	close(done)
	wg.Wait()
}
