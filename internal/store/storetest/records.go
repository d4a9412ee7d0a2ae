package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// ignoreRecordBookkeeping compares records without what the store assigns.
var ignoreRecordBookkeeping = cmpopts.IgnoreFields(access.Record{}, "UpdatedAt", "Revision")

func testRecords(t *testing.T, b Backend) {
	t.Run("Put", func(t *testing.T) {
		t.Run("CreateThenReplace", func(t *testing.T) {
			s := open(t, b)
			mustPutAccount(t, s, account("A", ""))
			mustPutAccount(t, s, account("B", ""))
			r := &access.Record{Type: "sales_order", ID: "SO-1", Owner: "A", Date: "2024-03-05",
				Teams: []access.TeamEntry{
					{Principal: "account:B", Access: access.AccessRead},
					{Principal: "user:someone", Access: access.AccessReadWrite},
				},
				Creator: "u1",
				Attributes: map[string]any{"number": "SO-1", "status": "open", "amount": 1234.5,
					"customer": "A", "lines": []any{map[string]any{"sku": "X", "price": 10.0}},
					"nested": map[string]any{"a": map[string]any{"b": true}}, "none": nil},
			}
			before := time.Now().Add(-time.Minute)
			created, rev, err := s.PutRecord(ctx(t), by, cloneRecord(r))
			if err != nil || !created {
				t.Fatalf("PutRecord: created %v, err %v; want created", created, err)
			}
			got, err := s.GetRecord(ctx(t), "sales_order", "SO-1")
			if err != nil {
				t.Fatalf("GetRecord: %v", err)
			}
			if diff := cmp.Diff(r, got, ignoreRecordBookkeeping); diff != "" {
				t.Errorf("GetRecord after create (-want +got):\n%s", diff)
			}
			if got.Revision != rev || got.UpdatedAt.Before(before) {
				t.Errorf("bookkeeping: revision %d (want %d), updated_at %v", got.Revision, rev, got.UpdatedAt)
			}

			// Replacing clears what the new version lacks; the caller's
			// bookkeeping is ignored.
			r2 := &access.Record{Type: "sales_order", ID: "SO-1", Date: "2024-03-06T23:30:00Z",
				Attributes: map[string]any{"number": "SO-1", "status": "closed"},
				Revision:   1 << 40, UpdatedAt: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
			created, rev2, err := s.PutRecord(ctx(t), by, cloneRecord(r2))
			if err != nil || created {
				t.Fatalf("PutRecord again: created %v, err %v; want replaced", created, err)
			}
			got, _ = s.GetRecord(ctx(t), "sales_order", "SO-1")
			if diff := cmp.Diff(r2, got, ignoreRecordBookkeeping, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("GetRecord after replace (-want +got):\n%s", diff)
			}
			if got.Revision != rev2 || rev2 <= rev {
				t.Errorf("revision after replace %d, write returned %d, first write %d", got.Revision, rev2, rev)
			}
			if got.UpdatedAt.Before(before) {
				t.Errorf("updated_at %v: the caller's value was kept", got.UpdatedAt)
			}
		})
		t.Run("SameIDOtherType", func(t *testing.T) {
			s := open(t, b)
			mustPutRecord(t, s, &access.Record{Type: "invoice", ID: "X1", Attributes: map[string]any{"n": "inv"}})
			mustPutRecord(t, s, &access.Record{Type: "sales_order", ID: "X1", Attributes: map[string]any{"n": "so"}})
			inv, err1 := s.GetRecord(ctx(t), "invoice", "X1")
			so, err2 := s.GetRecord(ctx(t), "sales_order", "X1")
			if err1 != nil || err2 != nil || inv.Attributes["n"] != "inv" || so.Attributes["n"] != "so" {
				t.Errorf("ids are per type: invoice %+v (%v), sales_order %+v (%v)", inv, err1, so, err2)
			}
		})
		t.Run("ParentAndDanglingRefs", func(t *testing.T) {
			// A parent or team entry naming something that does not
			// exist (yet) is fine (DESIGN.md §5.7).
			s := open(t, b)
			r := &access.Record{Type: "shipment", ID: "SH-1", Parent: &access.Ref{Type: "sales_order", ID: "SO-404"},
				Teams:      []access.TeamEntry{{Principal: "account:GHOST", Access: access.AccessRead}},
				Attributes: map[string]any{}}
			mustPutRecord(t, s, cloneRecord(r))
			got, err := s.GetRecord(ctx(t), "shipment", "SH-1")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(r, got, ignoreRecordBookkeeping); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
		for _, tc := range []struct {
			name string
			r    access.Record
		}{
			// The shape is the caller's (access.Engine.ValidateRecord); the
			// store refuses what it cannot encode.
			{"ErrBadDate", access.Record{Type: "inventory", ID: "i1", Date: "2024-13-45"}},
			{"ErrAttributesTooLarge", access.Record{Type: "inventory", ID: "i1",
				Attributes: map[string]any{"blob": string(make([]byte, access.MaxAttributesSize))}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := open(t, b)
				r := tc.r
				rev := s.Revision()
				_, _, err := s.PutRecord(ctx(t), by, &r)
				wantCode(t, err, access.CodeInvalid)
				if s.Revision() != rev {
					t.Errorf("a rejected write moved the revision from %d to %d", rev, s.Revision())
				}
				if _, err := s.GetRecord(ctx(t), r.Type, r.ID); access.ErrorCode(err) != access.CodeNotFound {
					t.Errorf("a rejected record was stored (GetRecord err %v)", err)
				}
			})
		}

	})

	t.Run("Get", func(t *testing.T) {
		t.Run("ErrNotFound", func(t *testing.T) {
			s := open(t, b)
			mustPutRecord(t, s, &access.Record{Type: "invoice", ID: "X1", Attributes: map[string]any{}})
			_, err := s.GetRecord(ctx(t), "invoice", "nope")
			wantCode(t, err, access.CodeNotFound)
			_, err = s.GetRecord(ctx(t), "sales_order", "X1")
			wantCode(t, err, access.CodeNotFound)
		})
		t.Run("Many", func(t *testing.T) {
			s := open(t, b)
			for i := range 5 {
				mustPutRecord(t, s, &access.Record{Type: "sales_order", ID: fmt.Sprintf("SO-%d", i), Attributes: map[string]any{"i": float64(i)}})
			}
			mustPutRecord(t, s, &access.Record{Type: "invoice", ID: "SO-1", Attributes: map[string]any{}})
			refs := []access.Ref{{Type: "sales_order", ID: "SO-1"}, {Type: "sales_order", ID: "SO-3"},
				{Type: "sales_order", ID: "SO-404"}, {Type: "payment", ID: "SO-1"}, {Type: "invoice", ID: "SO-1"}}
			got, err := s.GetRecords(ctx(t), refs)
			if err != nil {
				t.Fatalf("GetRecords: %v", err)
			}
			want := []access.Ref{{Type: "sales_order", ID: "SO-1"}, {Type: "sales_order", ID: "SO-3"}, {Type: "invoice", ID: "SO-1"}}
			if len(got) != len(want) {
				t.Errorf("GetRecords returned %d records, want %d", len(got), len(want))
			}
			for _, ref := range want {
				r := got.Record(ref)
				if r == nil || r.Type != ref.Type || r.ID != ref.ID {
					t.Errorf("GetRecords: %v missing or wrong: %+v", ref, r)
				}
			}
			if r := got.Record(access.Ref{Type: "sales_order", ID: "SO-3"}); r != nil && r.Attributes["i"] != 3.0 {
				t.Errorf("GetRecords: SO-3 attributes %v", r.Attributes)
			}
			if empty, err := s.GetRecords(ctx(t), nil); err != nil || len(empty) != 0 {
				t.Errorf("GetRecords(nil) = %v, %v", empty, err)
			}
		})
		// Sets of every size the stores treat apart (one id, a few, a
		// check:batch, more than one query's worth), with duplicates and
		// missing ids: exactly the existing ones come back, with their
		// heads.
		t.Run("Sizes", func(t *testing.T) {
			s := open(t, b)
			mustPutAccount(t, s, account("acme", ""))
			const n = 1100
			recs := make([]*access.Record, n)
			for i := range recs {
				recs[i] = &access.Record{Type: "sales_order", ID: fmt.Sprintf("SO-%04d", i), Owner: "acme",
					Date: "2024-05-01", Attributes: map[string]any{"i": float64(i)}}
			}
			if _, err := s.ImportRecords(ctx(t), by, chunks(nil, recs)); err != nil {
				t.Fatalf("ImportRecords: %v", err)
			}
			for _, size := range []int{1, 2, 8, 9, 100, 500, 501, 1050} {
				var refs []access.Ref
				want := map[string]bool{}
				for k := range size {
					i := (k * 7) % (n + 100) // every seventh, some beyond n: missing
					id := fmt.Sprintf("SO-%04d", i)
					refs = append(refs, access.Ref{Type: "sales_order", ID: id})
					if k%5 == 0 {
						refs = append(refs, access.Ref{Type: "sales_order", ID: id}) // a duplicate
					}
					if i < n {
						want[id] = true
					}
				}
				for _, heads := range []bool{false, true} {
					get := s.GetRecords
					if heads {
						get = s.GetRecordHeads
					}
					got, err := get(ctx(t), refs)
					if err != nil {
						t.Fatalf("size %d heads %v: %v", size, heads, err)
					}
					if len(got) != len(want) {
						t.Errorf("size %d heads %v: %d records, want %d", size, heads, len(got), len(want))
					}
					for id := range want {
						r := got.Record(access.Ref{Type: "sales_order", ID: id})
						switch {
						case r == nil:
							t.Errorf("size %d heads %v: %s missing", size, heads, id)
						case r.Owner != "acme" || r.Date != "2024-05-01":
							t.Errorf("size %d heads %v: %s head %q %q", size, heads, id, r.Owner, r.Date)
						case heads != (len(r.Attributes) == 0):
							t.Errorf("size %d heads %v: %s attributes %v", size, heads, id, r.Attributes)
						}
					}
				}
			}
		})
	})

	t.Run("Delete", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := open(t, b)
			mustPutRecord(t, s, &access.Record{Type: "invoice", ID: "I1", Attributes: map[string]any{}})
			mustPutRecord(t, s, &access.Record{Type: "invoice", ID: "I2", Attributes: map[string]any{}})
			if _, err := s.DeleteRecord(ctx(t), by, "invoice", "I1"); err != nil {
				t.Fatalf("DeleteRecord: %v", err)
			}
			_, err := s.GetRecord(ctx(t), "invoice", "I1")
			wantCode(t, err, access.CodeNotFound)
			if _, err := s.GetRecord(ctx(t), "invoice", "I2"); err != nil {
				t.Errorf("the other record went too: %v", err)
			}
			// Re-created after a delete.
			created, _, err := s.PutRecord(ctx(t), by, &access.Record{Type: "invoice", ID: "I1", Attributes: map[string]any{}})
			if err != nil || !created {
				t.Errorf("PutRecord after delete: created %v, err %v", created, err)
			}
		})
		t.Run("MissingIsNoOp", func(t *testing.T) {
			s := open(t, b)
			if _, err := s.DeleteRecord(ctx(t), by, "invoice", "nope"); err != nil {
				t.Errorf("DeleteRecord of a missing record: %v; want a no-op", err)
			}
		})
	})
}

// cloneRecord returns a deep enough copy of r that the store cannot change
// the test's expectation through it.
func cloneRecord(r *access.Record) *access.Record {
	c := *r
	if r.Parent != nil {
		p := *r.Parent
		c.Parent = &p
	}
	c.Teams = append([]access.TeamEntry(nil), r.Teams...)
	if r.Teams == nil {
		c.Teams = nil
	}
	c.Attributes = cloneValue(r.Attributes).(map[string]any)
	return &c
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return map[string]any(nil)
		}
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = cloneValue(x)
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = cloneValue(x)
		}
		return out
	}
	return v
}

// ids returns "type/id" of each record.
func ids(rs []*access.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Type + "/" + r.ID
	}
	return out
}

// listAll pages through q, failing on repeats, and returns every record.
func listAll(t *testing.T, s *instance, q store.RecordQuery) []*access.Record {
	t.Helper()
	var out []*access.Record
	seen := map[string]bool{}
	for range 100000 {
		page, next, err := s.ListRecords(ctx(t), q)
		if err != nil {
			t.Fatalf("ListRecords(%s, sort %q): %v", q.Type, q.Sort, err)
		}
		for _, r := range page {
			if r.Type != q.Type {
				t.Errorf("ListRecords(%s) returned a %s", q.Type, r.Type)
			}
			if seen[r.ID] {
				t.Errorf("ListRecords(%s, sort %q): %s served twice", q.Type, q.Sort, r.ID)
			}
			seen[r.ID] = true
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		if len(page) == 0 {
			t.Errorf("ListRecords(%s): an empty page with a next cursor", q.Type)
		}
		q.Cursor = next
	}
	t.Fatal("ListRecords: cursor never ends")
	return nil
}
