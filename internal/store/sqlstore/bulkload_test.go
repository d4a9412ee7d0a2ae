package sqlstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// loadTestRecords returns n records of several types, deterministically:
// orders with owners, some on behalf of an account (teams), shipments under
// earlier orders, and tickets with a creator.
func loadTestRecords(n int) []*access.Record {
	rng := rand.New(rand.NewPCG(3, 4))
	owners := []string{"c1", "c2", "c3", "c4"}
	words := []string{"alpha", "bravo", "Charlie", "delta-9", "écho", "中文"}
	out := make([]*access.Record, 0, n)
	var orders []string
	for i := range n {
		switch x := rng.IntN(10); {
		case x < 5 || len(orders) == 0:
			id := fmt.Sprintf("SO%06d", i)
			r := salesOrder(id, owners[rng.IntN(len(owners))], fmt.Sprintf("2025-%02d-%02d", 1+rng.IntN(12), 1+rng.IntN(28)),
				words[rng.IntN(len(words))], float64(rng.IntN(1000)))
			if rng.IntN(10) == 0 {
				r.Teams = []access.TeamEntry{{Principal: "account:" + r.Owner, Access: access.AccessRead}}
				r.Owner = ""
				delete(r.Attributes, "customer")
			}
			orders = append(orders, id)
			out = append(out, r)
		case x < 8:
			out = append(out, &access.Record{Type: "shipment", ID: fmt.Sprintf("SH%06d", i),
				Parent: &access.Ref{Type: "sales_order", ID: orders[rng.IntN(len(orders))]}, Date: "2025-06-01",
				Attributes: map[string]any{"number": fmt.Sprintf("SH%06d", i), "carrier": words[rng.IntN(len(words))]}})
		default:
			out = append(out, &access.Record{Type: "ticket", ID: fmt.Sprintf("TK%06d", i), Owner: owners[rng.IntN(len(owners))],
				Creator: "u1", Date: "2025-06-01T10:00:00Z",
				Attributes: map[string]any{"number": fmt.Sprintf("TK%06d", i), "title": "Ticket " + words[rng.IntN(len(words))]}})
		}
	}
	return out
}

// chunksOf returns a next function handing out recs size at a time; bad,
// when at least 0, makes the chunk holding that index invalid.
func chunksOf(recs []*access.Record, size, bad int) func() ([]*access.Record, error) {
	k := 0
	return func() ([]*access.Record, error) {
		if k >= len(recs) {
			return nil, io.EOF
		}
		chunk := recs[k:min(len(recs), k+size)]
		if bad >= k && bad < k+len(chunk) {
			chunk = append([]*access.Record(nil), chunk...)
			r := *chunk[bad-k]
			r.Date = "2025-13-01"
			chunk[bad-k] = &r
		}
		k += len(chunk)
		return chunk, nil
	}
}

// dbState is what LoadRecords must leave as the ordinary path does: the
// schema (sqlite_master without root pages), the planner statistics, the
// search index's configuration, the
// records with their team entries by (type, id) (without the write's
// instant, revision and pk), and the search index's answers.
type dbState struct {
	Schema, Stats, Records, Teams, SearchConfig []string
	Search                                      map[string][]string
}

func readState(t *testing.T, s *Store) dbState {
	t.Helper()
	rows := func(q string, args ...any) []string {
		t.Helper()
		rs, err := s.db.Query(q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rs.Close()
		var out []string
		for rs.Next() {
			var v string
			if err := rs.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	st := dbState{}
	st = dbState{
		Schema:       rows(`SELECT type || ' ' || name || ' ' || tbl_name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name`),
		Stats:        rows(`SELECT tbl || ' ' || coalesce(idx, '') || ' ' || stat FROM sqlite_stat1 ORDER BY tbl, idx`),
		SearchConfig: rows(`SELECT k || '=' || v FROM record_search_config ORDER BY k`),
		// Attributes as their decoded value: the encoder writes a map's
		// keys in Go's map order, which differs from write to write.
		Records: rows(`SELECT json_array(type, id, owner, date, dkey, parent_type, parent_id, teams, creator) || ' ' || attributes ` +
			`FROM records ORDER BY type, id`),
		Teams: rows(`SELECT r.type || ' ' || r.id || ' ' || t.principal || ' ' || t.access FROM record_teams t ` +
			`JOIN records r ON r.pk = t.record_pk ORDER BY 1`),
		Search: map[string][]string{},
	}
	for i, r := range st.Records {
		head, attrs, _ := strings.Cut(r, " ")
		var v any
		if err := json.Unmarshal([]byte(attrs), &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v) // sorted keys
		st.Records[i] = head + " " + string(b)
	}
	for _, term := range []string{"SO0001", "0042", "alpha", "harli", "écho", "Ticket", "EUR", "SH00", "SKU-2", "zzz"} {
		cands, args, ok := s.dialect.searchCandidatesSQL("", term)
		if !ok {
			t.Fatalf("no candidate query for %q", term)
		}
		st.Search[term] = rows(`SELECT r.type || ' ' || r.id FROM (`+cands+`) AS s JOIN records r ON r.pk = s.rowid ORDER BY 1`, args...)
	}
	var ok string
	if err := s.db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q, %v", ok, err)
	}
	if _, err := s.db.Exec(`INSERT INTO record_search (record_search) VALUES ('integrity-check')`); err != nil {
		t.Fatalf("search index integrity-check: %v", err)
	}
	return st
}

// TestLoadRecords_SameAsImport loads records into a fresh database with
// LoadRecords, in several transactions with the indexes dropped, and into
// another with ImportRecords: both end with the same schema, statistics, rows and
// search answers, and later writes are indexed and searchable in both. A
// load that fails in its second transaction keeps the first's records,
// indexed and searchable, with the schema put back; a load into a table
// that holds records is refused.
func TestLoadRecords_SameAsImport(t *testing.T) {
	old := loadTxRecords
	loadTxRecords = 1500
	t.Cleanup(func() { loadTxRecords = old })
	recs := loadTestRecords(5000)
	dir := t.TempDir()
	open := func(name string) *Store {
		s := recOpen(t, filepath.Join(dir, name))
		// Statistics to put back, as ANALYZE leaves them on a filled table.
		if _, err := s.db.Exec(`ANALYZE; INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('records', 'records_owner', '5000 2000 4 2 1')`); err != nil {
			t.Fatal(err)
		}
		return s
	}

	want, got := open("import.db"), open("load.db")
	if _, err := want.ImportRecords(t.Context(), store.Write{}, chunksOf(recs, 700, -1)); err != nil {
		t.Fatalf("ImportRecords: %v", err)
	}
	res, err := got.LoadRecords(t.Context(), store.Write{}, chunksOf(recs, 700, -1))
	if err != nil {
		t.Fatalf("LoadRecords: %v", err)
	}
	if res.Upserted != len(recs) {
		t.Errorf("LoadRecords upserted %d, want %d", res.Upserted, len(recs))
	}
	var revs int
	if err := got.db.QueryRow(`SELECT count(DISTINCT revision) FROM records`).Scan(&revs); err != nil || revs != 3 {
		t.Errorf("the load wrote %d revisions (%v), want 3 transactions of about 1,500", revs, err)
	}
	if res.Revision != got.currentRevisionForTest(t) {
		t.Errorf("LoadRecords returned revision %d, the store is at %d", res.Revision, got.currentRevisionForTest(t))
	}
	w := readState(t, want)
	if len(w.Search["alpha"]) == 0 || len(w.Teams) == 0 || !strings.Contains(strings.Join(w.Stats, "\n"), "records_owner") {
		t.Fatalf("the test data is too thin: %d alpha matches, %d team entries, %d statistics", len(w.Search["alpha"]), len(w.Teams), len(w.Stats))
	}
	if diff := cmp.Diff(w, readState(t, got)); diff != "" {
		t.Fatalf("LoadRecords left another database than ImportRecords (-import +load):\n%s", diff)
	}

	// Writes after the load keep the search index and the indexes in step.
	for _, s := range []*Store{want, got} {
		recPut(t, s, salesOrder("SO-after", "c9", "2026-01-01", "Zulu-after", 1))
		recBatch(t, s, store.RecordBatch{Upsert: []*access.Record{salesOrder(recs[0].ID, "c8", "2026-01-02", "Yankee", 2)},
			Delete: []access.Ref{{Type: recs[1].Type, ID: recs[1].ID}}})
	}
	w = readState(t, want)
	if diff := cmp.Diff(w, readState(t, got)); diff != "" {
		t.Fatalf("after later writes (-import +load):\n%s", diff)
	}
	for _, term := range []string{"SO-after", recs[0].ID} {
		list, _, err := got.ListRecords(t.Context(), store.RecordQuery{Type: "sales_order",
			Predicate: &access.Predicate{Type: "sales_order", All: true}, Search: &store.TextSearch{Text: term}, Limit: 10})
		if err != nil || len(list) != 1 {
			t.Errorf("search %q after the load: %d records, %v", term, len(list), err)
		}
	}

	// A load into a table with records is refused, and changes nothing.
	if _, err := got.LoadRecords(t.Context(), store.Write{}, chunksOf(recs[:10], 10, -1)); err == nil {
		t.Error("LoadRecords into a table with records succeeded")
	}
	if diff := cmp.Diff(w, readState(t, got)); diff != "" {
		t.Fatalf("a refused load changed the database:\n%s", diff)
	}

	// A failure in the second transaction: the first one's records stay,
	// indexed and searchable, and the schema is put back.
	failed, first := open("failed.db"), open("first.db")
	_, err = failed.LoadRecords(t.Context(), store.Write{}, chunksOf(recs, 700, 2500))
	var ae *access.Error
	if !errors.As(err, &ae) || ae.Code != access.CodeInvalid {
		t.Fatalf("LoadRecords with a bad record = %v, want invalid", err)
	}
	// The first transaction holds the chunks up to 1,500 records: three
	// of 700.
	if _, err := first.ImportRecords(t.Context(), store.Write{}, chunksOf(recs[:2100], 700, -1)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(readState(t, first), readState(t, failed)); diff != "" {
		t.Fatalf("after a failed load (-import of the first transaction +failed load):\n%s", diff)
	}
}

func (s *Store) currentRevisionForTest(t *testing.T) int64 {
	t.Helper()
	rev, err := s.currentRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// TestLoadRecords_Backends loads records on both backends (on PostgreSQL
// LoadRecords is a sequence of imports): every record arrives, about
// loadTxRecords to a revision, and is found by the search.
func TestLoadRecords_Backends(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		old := loadTxRecords
		loadTxRecords = 1500
		t.Cleanup(func() { loadTxRecords = old })
		s := mustOpen(t, dsn)
		recs := loadTestRecords(3500)
		res, err := s.LoadRecords(t.Context(), store.Write{}, chunksOf(recs, 700, -1))
		if err != nil {
			t.Fatalf("LoadRecords: %v", err)
		}
		if res.Upserted != len(recs) {
			t.Errorf("upserted %d, want %d", res.Upserted, len(recs))
		}
		var n, revs int
		if err := s.db.QueryRow(`SELECT count(*), count(DISTINCT revision) FROM records`).Scan(&n, &revs); err != nil {
			t.Fatal(err)
		}
		if n != len(recs) || revs != 2 { // chunks until 1,500 are reached: 2,100 and 1,400
			t.Errorf("%d records in %d revisions, want %d in 2", n, revs, len(recs))
		}
		list, _, err := s.ListRecords(t.Context(), store.RecordQuery{Type: "sales_order",
			Predicate: &access.Predicate{Type: "sales_order", All: true}, Search: &store.TextSearch{Text: recs[0].ID}, Limit: 10})
		if err != nil || len(list) != 1 {
			t.Errorf("search %q: %d records, %v", recs[0].ID, len(list), err)
		}
	})
}
