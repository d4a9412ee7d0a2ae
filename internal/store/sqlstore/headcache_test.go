package sqlstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
)

// TestHeadCache checks the head cache's rules: a read that missed before
// a flush caches nothing (it may have read the state before the write the
// flush stands for), missing records are remembered as missing, and the
// cache never holds more than headCacheMax entries.
func TestHeadCache(t *testing.T) {
	var c headCache
	a, b := access.Ref{Type: "t", ID: "a"}, access.Ref{Type: "t", ID: "b"}
	ra := &access.Record{Type: "t", ID: "a", Owner: "old"}
	lookup := func() (access.RecordMap, []access.Ref, uint64) {
		out := access.RecordMap{}
		miss, gen := c.get([]access.Ref{a, b}, out)
		return out, miss, gen
	}
	_, miss, gen := lookup()
	if len(miss) != 2 {
		t.Fatalf("empty cache: misses %v, want both", miss)
	}
	c.flush() // a write commits between the read and its put
	c.put(gen, miss, access.RecordMap{a: ra})
	if _, miss, _ := lookup(); len(miss) != 2 {
		t.Errorf("a put older than a flush was kept: misses %v", miss)
	}
	_, miss, gen = lookup()
	c.put(gen, miss, access.RecordMap{a: ra})
	out, miss, _ := lookup()
	if len(miss) != 0 || out[a] != ra || out[b] != nil {
		t.Errorf("after a put: %v, misses %v; want a cached and b known missing", out, miss)
	}
	c.flush()
	if _, miss, _ := lookup(); len(miss) != 2 {
		t.Errorf("after a flush: misses %v, want both", miss)
	}

	refs := make([]access.Ref, 1000)
	for round := range headCacheMax/len(refs) + 3 {
		for i := range refs {
			refs[i] = access.Ref{Type: "t", ID: fmt.Sprintf("%d-%d", round, i)}
		}
		_, gen := c.get(refs, access.RecordMap{})
		c.put(gen, refs, access.RecordMap{})
		if n := len(c.heads) + len(c.missing); n > headCacheMax || n < len(refs) {
			t.Fatalf("round %d: %d entries (bound %d)", round, n, headCacheMax)
		}
	}
}

// TestHeadCacheInvalidation follows a second node's head cache through
// the first node's writes: a write of a few records drops only their heads
// (others stay cached), a write of the access model drops none, and a
// batch of more than changeRecordsMax records empties the cache; each head
// read after catching up is the written one. On SQLite and PostgreSQL.
func TestHeadCacheInvalidation(t *testing.T) {
	dsns := map[string]func(t *testing.T) string{
		"SQLite":     func(t *testing.T) string { return t.TempDir() + "/heads.db" },
		"PostgreSQL": func(t *testing.T) string { return pgtest.DSN(t) },
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			w := store.Write{Actor: "test"}
			d := dsn(t)
			a, b := recOpen(t, d), recOpen(t, d)
			for _, id := range []string{"X", "Y", "Z"} {
				if _, _, err := a.PutAccount(ctx, w, access.Account{ID: id, Name: id, Kind: "customer"}); err != nil {
					t.Fatal(err)
				}
			}
			put := func(id, owner string) {
				t.Helper()
				if _, _, err := a.PutRecord(ctx, w, salesOrder(id, owner, "2025-01-02", "open", 1)); err != nil {
					t.Fatal(err)
				}
			}
			catchUp := func() {
				t.Helper()
				if err := b.WaitRevision(ctx, a.Revision()); err != nil {
					t.Fatal(err)
				}
			}
			so := func(id string) access.Ref { return access.Ref{Type: "sales_order", ID: id} }
			cached := func(id string) bool {
				b.heads.mu.RLock()
				defer b.heads.mu.RUnlock()
				_, ok := b.heads.heads[so(id)]
				return ok
			}
			owner := func(id string) string {
				t.Helper()
				got, err := b.DecisionHeads(ctx, []access.Ref{so(id)}, 0)
				if err != nil {
					t.Fatal(err)
				}
				if r := got[so(id)]; r != nil {
					return r.Owner
				}
				return "<missing>"
			}
			put("SO1", "X")
			put("SO2", "X")
			catchUp()
			if owner("SO1") != "X" || owner("SO2") != "X" || owner("SO3") != "<missing>" || !cached("SO1") || !cached("SO2") {
				t.Fatal("the second node did not cache SO1 and SO2")
			}

			put("SO1", "Y")
			put("SO3", "Y") // cached as missing
			catchUp()
			if cached("SO1") || !cached("SO2") {
				t.Errorf("after a write of SO1 and SO3: SO1 cached %v (want dropped), SO2 cached %v (want kept)", cached("SO1"), cached("SO2"))
			}
			if owner("SO1") != "Y" || owner("SO3") != "Y" || owner("SO2") != "X" {
				t.Errorf("after catching up: SO1 %s, SO3 %s, SO2 %s; want Y, Y, X", owner("SO1"), owner("SO3"), owner("SO2"))
			}

			if _, _, err := a.PutAccount(ctx, w, access.Account{ID: "Z", Name: "Zed", Kind: "customer"}); err != nil {
				t.Fatal(err)
			}
			catchUp()
			if !cached("SO1") || !cached("SO2") {
				t.Error("a write of the access model dropped record heads")
			}

			if _, err := a.DeleteRecord(ctx, w, "sales_order", "SO2"); err != nil {
				t.Fatal(err)
			}
			catchUp()
			if owner("SO2") != "<missing>" || !cached("SO1") {
				t.Errorf("after deleting SO2: SO2 %s, SO1 cached %v; want missing and kept", owner("SO2"), cached("SO1"))
			}

			var batch store.RecordBatch
			for i := range changeRecordsMax + 1 {
				batch.Upsert = append(batch.Upsert, salesOrder(fmt.Sprintf("B%03d", i), "Z", "2025-01-03", "open", 1))
			}
			batch.Upsert = append(batch.Upsert, salesOrder("SO1", "Z", "2025-01-03", "open", 1))
			if _, err := a.Batch(ctx, w, batch); err != nil {
				t.Fatal(err)
			}
			catchUp()
			if cached("SO1") {
				t.Error("a batch of more than changeRecordsMax records left SO1 cached")
			}
			if owner("SO1") != "Z" {
				t.Errorf("after the batch: SO1 %s, want Z", owner("SO1"))
			}
		})
	}
}

// TestRecordChangesPruned: writes prune the record rows of change_log
// beyond the revisions kept, and a node that catches up over a pruned
// write reads the written head anyway (the revision names nothing, so its
// cache empties).
func TestRecordChangesPruned(t *testing.T) {
	ctx := context.Background()
	w := store.Write{Actor: "test"}
	d := t.TempDir() + "/prune.db"
	a, b := recOpen(t, d), recOpen(t, d)
	a.recordPrune.every, a.recordPrune.kept = 4, 3
	if _, _, err := a.PutAccount(ctx, w, access.Account{ID: "X", Name: "X", Kind: "customer"}); err != nil {
		t.Fatal(err)
	}
	put := func(id, owner string) {
		t.Helper()
		if _, _, err := a.PutRecord(ctx, w, salesOrder(id, owner, "2025-01-02", "open", 1)); err != nil {
			t.Fatal(err)
		}
	}
	ref := access.Ref{Type: "sales_order", ID: "SO1"}
	put("SO1", "X")
	if err := b.WaitRevision(ctx, a.Revision()); err != nil {
		t.Fatal(err)
	}
	if got, err := b.DecisionHeads(ctx, []access.Ref{ref}, 0); err != nil || got[ref] == nil || got[ref].Owner != "X" {
		t.Fatalf("second node: %v, %v", got, err)
	}
	if _, _, err := a.PutAccount(ctx, w, access.Account{ID: "Y", Name: "Y", Kind: "customer"}); err != nil {
		t.Fatal(err)
	}
	put("SO1", "Y")
	for i := range 12 {
		put(fmt.Sprintf("SO-%d", i), "X")
	}
	var n, oldest int64
	if err := a.db.QueryRow(`SELECT count(*), coalesce(min(revision), 0) FROM change_log WHERE kind = 'record'`).Scan(&n, &oldest); err != nil {
		t.Fatal(err)
	}
	if n > 8 || oldest < a.Revision()-8 {
		t.Errorf("%d record rows of change_log, the oldest at revision %d of %d: not pruned", n, oldest, a.Revision())
	}
	if err := b.WaitRevision(ctx, a.Revision()); err != nil {
		t.Fatal(err)
	}
	if got, err := b.DecisionHeads(ctx, []access.Ref{ref}, 0); err != nil || got[ref] == nil || got[ref].Owner != "Y" {
		t.Errorf("second node after catching up over a pruned write: %v, %v; want SO1 owned by Y", got[ref], err)
	}
}
