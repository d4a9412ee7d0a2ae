package bench

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// ordinaryWrites hides the store's bulk load (recordLoader), so that
// Generate writes its records through ImportRecords, the ordinary path.
type ordinaryWrites struct{ MetaStore }

// TestGenerate_LoadSameAsOrdinary generates the same dataset through the
// bulk load (indexes and the search trigger dropped, built at the end) and
// through the ordinary import: the schema, what the store holds and what
// the search finds are the same.
func TestGenerate_LoadSameAsOrdinary(t *testing.T) {
	if _, ok := MetaStore(mustOpen(t, ":memory:")).(recordLoader); !ok {
		t.Fatal("the SQLite store has no bulk load: Generate would not use it")
	}
	ctx := context.Background()
	gen := func(name string, wrap bool) (string, *testStore, *Meta) {
		path := filepath.Join(t.TempDir(), name)
		st := mustOpen(t, path)
		var ms MetaStore = st
		if wrap {
			ms = ordinaryWrites{st}
		}
		m, err := Generate(ctx, ms, st.Engine(), GenOptions{Size: tiny, Seed: 3, Epoch: testEpoch})
		if err != nil {
			t.Fatal(err)
		}
		return path, st, m
	}
	pathA, a, ma := gen("ordinary.db", true)
	pathB, b, mb := gen("load.db", false)
	if ma.Checksum != mb.Checksum {
		t.Errorf("generation checksums differ: %s, %s", ma.Checksum, mb.Checksum)
	}
	if dbChecksum(t, a) != dbChecksum(t, b) {
		t.Error("the stores hold different data")
	}
	schema := func(path string) []string {
		db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rs, err := db.Query(`SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name`)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var out []string
		for rs.Next() {
			var s string
			if err := rs.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM record_search_docsize`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != tiny.Records {
			t.Errorf("%s: the search index holds %d records, want %d", path, n, tiny.Records)
		}
		return out
	}
	if sa, sb := schema(pathA), schema(pathB); !reflect.DeepEqual(sa, sb) {
		t.Errorf("schemas differ:\nordinary %q\nload     %q", sa, sb)
	}
	search := func(st *testStore, typ, text string, fields ...string) []string {
		recs, _, err := st.ListRecords(ctx, store.RecordQuery{Type: typ, Predicate: &access.Predicate{Type: typ, All: true},
			Search: &store.TextSearch{Text: text, Fields: fields}, Sort: "id", Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(recs))
		for i, r := range recs {
			ids[i] = r.ID
		}
		return ids
	}
	for _, q := range [][]string{{"sales_order", "SO0000012"}, {"sales_order", "C00001", "customer"}, {"invoice", "IN00003"},
		{"ticket", "Ticket TK000", "title"}, {"shipment", "SH00002"}, {"sales_order", "KEY-S", "customer"}} {
		ra, rb := search(a, q[0], q[1], q[2:]...), search(b, q[0], q[1], q[2:]...)
		if len(ra) == 0 || !reflect.DeepEqual(ra, rb) {
			t.Errorf("search %s %q: ordinary %v, load %v", q[0], q[1], ra, rb)
		}
	}
}
