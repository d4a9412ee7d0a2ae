package storetest

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// chunks returns a next function for ImportRecords handing out cs, then
// io.EOF (or fail after the last chunk when fail is set).
func chunks(fail error, cs ...[]*access.Record) func() ([]*access.Record, error) {
	i := 0
	return func() ([]*access.Record, error) {
		if i == len(cs) {
			if fail != nil {
				return nil, fail
			}
			return nil, io.EOF
		}
		i++
		return cs[i-1], nil
	}
}

func testImport(t *testing.T, b Backend) {
	t.Run("Chunks", func(t *testing.T) {
		s := open(t, b)
		mustPutAccount(t, s, account("A", ""))
		mustPutRecord(t, s, inv("old1"))
		mustPutRecord(t, s, &access.Record{Type: "inventory", ID: "old2", Owner: "A",
			Teams: []access.TeamEntry{{Principal: "user:x", Access: access.AccessRead}}, Attributes: map[string]any{"sku": "old2"}})
		want := map[string]*access.Record{}
		var cs [][]*access.Record
		for c := range 3 {
			var chunk []*access.Record
			for i := range 5 {
				r := &access.Record{Type: "inventory", ID: fmt.Sprintf("n%d-%d", c, i), Owner: "A", Date: fmt.Sprintf("2025-0%d-1%d", c+1, i),
					Attributes: map[string]any{"sku": fmt.Sprintf("n%d-%d", c, i), "qty": float64(i)}}
				if i == 2 {
					r.Teams = []access.TeamEntry{{Principal: "user:y", Access: access.AccessReadWrite}}
				}
				chunk = append(chunk, r)
			}
			cs = append(cs, chunk)
		}
		// The second chunk replaces both stored records: old2 loses its
		// owner and teams, old1 gains them.
		cs[1] = append(cs[1],
			&access.Record{Type: "inventory", ID: "old1", Owner: "A", Teams: []access.TeamEntry{{Principal: "user:y", Access: access.AccessRead}},
				Attributes: map[string]any{"sku": "old1", "v": 2.0}},
			&access.Record{Type: "inventory", ID: "old2", Attributes: map[string]any{"sku": "old2", "v": 2.0}})
		for _, c := range cs {
			for _, r := range c {
				want[r.ID] = cloneRecord(r)
			}
		}
		rev := s.Revision()
		res, err := s.ImportRecords(ctx(t), by, chunks(nil, cs...))
		if err != nil {
			t.Fatalf("ImportRecords: %v", err)
		}
		if res.Upserted != 17 || res.Revision != rev+1 {
			t.Errorf("ImportRecords = %+v; want 17 upserted at revision %d", res, rev+1)
		}
		for id, w := range want {
			got, err := s.GetRecord(ctx(t), "inventory", id)
			if err != nil {
				t.Fatalf("GetRecord(%s): %v", id, err)
			}
			if diff := cmp.Diff(w, got, ignoreRecordBookkeeping, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("inventory/%s imported (-want +got):\n%s", id, diff)
			}
			if got.Revision != res.Revision {
				t.Errorf("inventory/%s: revision %d, want the import's %d", id, got.Revision, res.Revision)
			}
		}
		// The team branch of a list sees the imported entries and no
		// longer the replaced ones.
		page, _, err := s.ListRecords(ctx(t), store.RecordQuery{Type: "inventory", Sort: "id", Predicate: &access.Predicate{Type: "inventory", User: "y", TeamUser: &access.Cond{}}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range page {
			ids = append(ids, r.ID)
		}
		if diff := cmp.Diff([]string{"n0-2", "n1-2", "n2-2", "old1"}, ids); diff != "" {
			t.Errorf("records with a team entry for user:y (-want +got):\n%s", diff)
		}
		page, _, err = s.ListRecords(ctx(t), store.RecordQuery{Type: "inventory", Predicate: &access.Predicate{Type: "inventory", User: "x", TeamUser: &access.Cond{}}})
		if err != nil || len(page) != 0 {
			t.Errorf("user:x still reaches %d records (%v)", len(page), err)
		}
	})
	t.Run("Shapes", func(t *testing.T) {
		// Records whose optional columns are unset in long runs and set
		// here and there, so that the store's multi-row statements meet
		// runs where a column is unset in every row and runs where it is
		// set in one: written by a Batch into a type with records, and by
		// an import into a type without any (which skips the lookup of
		// stored records), each reads back exactly.
		s := open(t, b)
		mustPutAccount(t, s, account("A", ""))
		mustPutRecord(t, s, inv("stored"))
		const n = 2000
		mk := func(typ string, i int) *access.Record {
			r := &access.Record{Type: typ, ID: fmt.Sprintf("%s-%04d", typ, i), Date: "2025-03-04", Attributes: map[string]any{"n": float64(i)}}
			if i < 1200 || i%3 != 0 {
				r.Owner = "A"
			}
			if i == 450 || (i >= 1500 && i%5 == 0) {
				r.Parent = &access.Ref{Type: "sales_order", ID: fmt.Sprintf("SO-%d", i)}
			}
			if i == 901 || (i >= 1500 && i%7 == 0) {
				r.Teams = []access.TeamEntry{{Principal: "user:x", Access: access.AccessRead}}
			}
			if i == 1333 || (i >= 1500 && i%2 == 0) {
				r.Creator = fmt.Sprintf("u%d", i)
			}
			if i%11 == 0 {
				r.Date = ""
			}
			return r
		}
		var batch, imported []*access.Record
		for i := range n {
			batch, imported = append(batch, mk("inventory", i)), append(imported, mk("shipment", i))
		}
		res, err := s.Batch(ctx(t), by, store.RecordBatch{Upsert: slices.Clone(batch)})
		if err != nil {
			t.Fatalf("Batch: %v", err)
		}
		ires, err := s.ImportRecords(ctx(t), by, chunks(nil, slices.Clone(imported[:700]), slices.Clone(imported[700:1400]), slices.Clone(imported[1400:])))
		if err != nil || ires.Upserted != n {
			t.Fatalf("ImportRecords = %+v, %v; want %d upserted", ires, err, n)
		}
		for _, set := range []struct {
			recs []*access.Record
			rev  int64
		}{{batch, res.Revision}, {imported, ires.Revision}} {
			for _, w := range set.recs {
				got, err := s.GetRecord(ctx(t), w.Type, w.ID)
				if err != nil {
					t.Fatalf("GetRecord(%s): %v", w.ID, err)
				}
				if diff := cmp.Diff(w, got, ignoreRecordBookkeeping, cmpopts.EquateEmpty()); diff != "" {
					t.Fatalf("%s/%s (-want +got):\n%s", w.Type, w.ID, diff)
				}
				if got.Revision != set.rev || got.UpdatedAt.IsZero() {
					t.Fatalf("%s/%s: revision %d, updated_at %v; want revision %d and a time", w.Type, w.ID, got.Revision, got.UpdatedAt, set.rev)
				}
			}
		}
	})
	t.Run("ErrBadChunk", func(t *testing.T) {
		s := open(t, b)
		mustPutRecord(t, s, inv("keep"))
		rev := s.Revision()
		bad := &access.Record{Type: "inventory", ID: "bad", Date: "2024-13-45", Attributes: map[string]any{}}
		_, err := s.ImportRecords(ctx(t), by, chunks(nil, []*access.Record{inv("a"), inv("keep")}, []*access.Record{inv("b"), bad, inv("c")}, []*access.Record{inv("d")}))
		if e := wantCode(t, err, access.CodeInvalid); e != nil {
			if len(e.Items) != 1 || e.Items[0].Index != 1 {
				t.Errorf("Items = %+v; want item 1 of the bad chunk", e.Items)
			}
		}
		wantNothingWritten(t, s, rev, []string{"a", "b", "c", "d"}, []string{"keep"})
		_, err = s.ImportRecords(ctx(t), by, chunks(nil, []*access.Record{inv("a")}, []*access.Record{inv("e"), inv("e")}))
		wantCode(t, err, access.CodeInvalid)
		wantNothingWritten(t, s, rev, []string{"a", "e"}, []string{"keep"})
	})
	t.Run("ErrReader", func(t *testing.T) {
		s := open(t, b)
		rev := s.Revision()
		broken := errors.New("line 7: broken")
		if _, err := s.ImportRecords(ctx(t), by, chunks(broken, []*access.Record{inv("a")}, []*access.Record{inv("b")})); !errors.Is(err, broken) {
			t.Errorf("ImportRecords with a failing reader: %v, want its error", err)
		}
		wantNothingWritten(t, s, rev, []string{"a", "b"}, nil)
	})
	t.Run("Empty", func(t *testing.T) {
		s := open(t, b)
		rev := s.Revision()
		res, err := s.ImportRecords(ctx(t), by, chunks(nil))
		if err != nil || res.Upserted != 0 || res.Revision != rev || s.Revision() != rev {
			t.Errorf("empty import: %+v, %v; revision %d, want %d unchanged", res, err, s.Revision(), rev)
		}
	})
}
