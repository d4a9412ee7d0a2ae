package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

func inv(id string) *access.Record {
	return &access.Record{Type: "inventory", ID: id, Attributes: map[string]any{"sku": id}}
}

func testBatch(t *testing.T, b Backend) {
	t.Run("OK", func(t *testing.T) {
		s := open(t, b)
		mustPutRecord(t, s, inv("old1"))
		mustPutRecord(t, s, inv("old2"))
		res, err := s.Batch(ctx(t), by, store.RecordBatch{
			Upsert: []*access.Record{inv("n1"), inv("n2"), inv("old1")},
			Delete: []access.Ref{{Type: "inventory", ID: "old2"}},
		})
		if err != nil {
			t.Fatalf("Batch: %v", err)
		}
		if res.Upserted != 3 || res.Deleted != 1 {
			t.Errorf("BatchResult = %+v; want 3 upserted, 1 deleted", res)
		}
		if res.Revision <= 0 || s.Revision() < res.Revision {
			t.Errorf("batch revision %d, Revision() %d", res.Revision, s.Revision())
		}
		for _, id := range []string{"n1", "n2", "old1"} {
			r, err := s.GetRecord(ctx(t), "inventory", id)
			if err != nil {
				t.Errorf("GetRecord(%s): %v", id, err)
				continue
			}
			if r.Revision != res.Revision {
				t.Errorf("%s: revision %d, want the batch's %d", id, r.Revision, res.Revision)
			}
		}
		_, err = s.GetRecord(ctx(t), "inventory", "old2")
		wantCode(t, err, access.CodeNotFound)
	})
	t.Run("Content", func(t *testing.T) {
		s := open(t, b)
		mustPutAccount(t, s, account("A", ""))
		in := []*access.Record{
			{Type: "shipment", ID: "SH-1", Owner: "A", Date: "2025-01-02T03:04:05+01:00",
				Parent:     &access.Ref{Type: "sales_order", ID: "SO-1"},
				Teams:      []access.TeamEntry{{Principal: "user:x", Access: access.AccessReadWrite}, {Principal: "account:A", Access: access.AccessRead}},
				Creator:    "x",
				Attributes: map[string]any{"number": "SH-1", "lines": []any{map[string]any{"qty": 2.0}}, "flag": true}},
			{Type: "sales_order", ID: "SO-1", Attributes: map[string]any{}},
		}
		var batch store.RecordBatch
		for _, r := range in {
			batch.Upsert = append(batch.Upsert, cloneRecord(r))
		}
		if _, err := s.Batch(ctx(t), by, batch); err != nil {
			t.Fatalf("Batch: %v", err)
		}
		for _, r := range in {
			got, err := s.GetRecord(ctx(t), r.Type, r.ID)
			if err != nil {
				t.Fatalf("GetRecord(%s): %v", r.ID, err)
			}
			if diff := cmp.Diff(r, got, ignoreRecordBookkeeping, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s/%s written by Batch (-want +got):\n%s", r.Type, r.ID, diff)
			}
		}
	})
	t.Run("DeleteMissingIsNoOp", func(t *testing.T) {
		s := open(t, b)
		if _, err := s.Batch(ctx(t), by, store.RecordBatch{Delete: []access.Ref{{Type: "inventory", ID: "nope"}},
			Upsert: []*access.Record{inv("n1")}}); err != nil {
			t.Errorf("Batch deleting a missing record: %v", err)
		}
		if _, err := s.GetRecord(ctx(t), "inventory", "n1"); err != nil {
			t.Errorf("the batch's upsert is missing: %v", err)
		}
	})
	t.Run("ErrBadItems", func(t *testing.T) {
		s := open(t, b)
		mustPutRecord(t, s, inv("keep"))
		rev := s.Revision()
		bad1 := &access.Record{Type: "inventory", ID: "bad1", Date: "2024-13-45", Attributes: map[string]any{}}
		bad3 := &access.Record{Type: "inventory", ID: "bad3", Attributes: map[string]any{"blob": string(make([]byte, access.MaxAttributesSize))}}
		_, err := s.Batch(ctx(t), by, store.RecordBatch{
			Upsert: []*access.Record{inv("a"), bad1, inv("b"), bad3, inv("c")},
			Delete: []access.Ref{{Type: "inventory", ID: "keep"}},
		})
		if e := wantCode(t, err, access.CodeInvalid); e != nil {
			var idx []int
			for _, it := range e.Items {
				idx = append(idx, it.Index)
				if it.Message == "" {
					t.Errorf("item %d has no message", it.Index)
				}
			}
			slices.Sort(idx)
			if diff := cmp.Diff([]int{1, 3}, slices.Compact(idx)); diff != "" {
				t.Errorf("Items indexes (-want +got):\n%s", diff)
			}
		}
		wantNothingWritten(t, s, rev, []string{"a", "b", "c"}, []string{"keep"})
	})
	t.Run("ErrDuplicate", func(t *testing.T) {
		s := open(t, b)
		mustPutRecord(t, s, inv("keep"))
		rev := s.Revision()
		_, err := s.Batch(ctx(t), by, store.RecordBatch{Upsert: []*access.Record{inv("a"), inv("d"), inv("b"), inv("d")}})
		if e := wantCode(t, err, access.CodeInvalid); e != nil {
			found := false
			for _, it := range e.Items {
				if it.Index == 3 || it.Index == 1 {
					found = true
				}
			}
			if !found {
				t.Errorf("Items %+v name neither occurrence (1, 3) of the duplicate", e.Items)
			}
		}
		wantNothingWritten(t, s, rev, []string{"a", "b", "d"}, []string{"keep"})
	})
	t.Run("ErrDuplicateUpsertAndDelete", func(t *testing.T) {
		s := open(t, b)
		mustPutRecord(t, s, inv("keep"))
		rev := s.Revision()
		_, err := s.Batch(ctx(t), by, store.RecordBatch{Upsert: []*access.Record{inv("a"), inv("keep")},
			Delete: []access.Ref{{Type: "inventory", ID: "keep"}}})
		wantCode(t, err, access.CodeInvalid)
		wantNothingWritten(t, s, rev, []string{"a"}, []string{"keep"})
	})
	t.Run("ErrDuplicateDelete", func(t *testing.T) {
		s := open(t, b)
		mustPutRecord(t, s, inv("keep"))
		rev := s.Revision()
		_, err := s.Batch(ctx(t), by, store.RecordBatch{Upsert: []*access.Record{inv("a")},
			Delete: []access.Ref{{Type: "inventory", ID: "keep"}, {Type: "inventory", ID: "keep"}}})
		wantCode(t, err, access.CodeInvalid)
		wantNothingWritten(t, s, rev, []string{"a"}, []string{"keep"})
	})
	t.Run("MaxBatch", func(t *testing.T) {
		if testing.Short() {
			t.Skip("10,000 records")
		}
		s := open(t, b)
		batch := store.RecordBatch{}
		for i := range store.MaxBatch - 1 {
			batch.Upsert = append(batch.Upsert, inv(fmt.Sprintf("r%05d", i)))
		}
		batch.Delete = []access.Ref{{Type: "inventory", ID: "gone"}}
		res, err := s.Batch(ctx(t), by, batch)
		if err != nil {
			t.Fatalf("a batch of exactly MaxBatch items: %v", err)
		}
		if res.Upserted != store.MaxBatch-1 {
			t.Errorf("Upserted = %d, want %d", res.Upserted, store.MaxBatch-1)
		}
		if got := listAll(t, s, store.RecordQuery{Type: "inventory", Predicate: &access.Predicate{Type: "inventory", All: true}, Limit: store.MaxListLimit}); len(got) != store.MaxBatch-1 {
			t.Errorf("%d records listed, want %d", len(got), store.MaxBatch-1)
		}
	})
	t.Run("ErrTooMany", func(t *testing.T) {
		// DESIGN.md allows up to 10,000 items; more is a bad request. The
		// store may call it invalid or too_large.
		s := open(t, b)
		rev := s.Revision()
		batch := store.RecordBatch{}
		for i := range store.MaxBatch {
			batch.Upsert = append(batch.Upsert, inv(fmt.Sprintf("r%05d", i)))
		}
		batch.Delete = []access.Ref{{Type: "inventory", ID: "one-too-many"}}
		_, err := s.Batch(ctx(t), by, batch)
		if code := access.ErrorCode(err); code != access.CodeInvalid && code != access.CodeTooLarge {
			t.Errorf("a batch of MaxBatch+1 items: %v; want invalid or too_large", err)
		}
		wantNothingWritten(t, s, rev, []string{"r00000"}, nil)
	})
}

// wantNothingWritten checks that a failed batch left no trace: the revision
// did not move, absent records are still absent and present ones present.
func wantNothingWritten(t *testing.T, s *instance, rev int64, absent, present []string) {
	t.Helper()
	if s.Revision() != rev {
		t.Errorf("a failed batch moved the revision from %d to %d", rev, s.Revision())
	}
	for _, id := range absent {
		if _, err := s.GetRecord(ctx(t), "inventory", id); access.ErrorCode(err) != access.CodeNotFound {
			t.Errorf("a failed batch wrote inventory/%s (GetRecord err %v)", id, err)
		}
	}
	for _, id := range present {
		if _, err := s.GetRecord(ctx(t), "inventory", id); err != nil {
			t.Errorf("a failed batch deleted inventory/%s: %v", id, err)
		}
	}
}
