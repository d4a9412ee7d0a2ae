package sqlstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// TestSearchIndex is a property test of the list search against a model
// of its LIKE semantics (contains, ASCII letters folded, no wildcards) and
// against the scan without the index: random values and terms with
// wildcards, backslashes, case and non-ASCII letters, 1–2 character terms,
// a hidden field that must never match, every write path (import, batch,
// single put, patch-like replace, delete) keeping the index in step, and
// paging through a search on the candidate plan, the capped fallback and
// the scan.
func TestSearchIndex(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		s := mustOpen(t, dsn)
		rng := rand.New(rand.NewPCG(1, 2))
		alphabet := []rune("aAbBzZ%_\\ -1üÜßé中")
		word := func(n int) string {
			var b strings.Builder
			for range n {
				b.WriteRune(alphabet[rng.IntN(len(alphabet))])
			}
			return b.String()
		}
		owners := []string{"c1", "c2", "c3"}
		model := map[string]*access.Record{}
		mk := func(i int) *access.Record {
			id := fmt.Sprintf("so-%d%s", i, "aAbZ-_."[rng.IntN(7):][:rng.IntN(2)])
			r := &access.Record{Type: "sales_order", ID: id, Owner: owners[rng.IntN(3)],
				Date:       fmt.Sprintf("2025-0%d-1%d", 1+rng.IntN(9), rng.IntN(10)),
				Attributes: map[string]any{"number": word(2 + rng.IntN(8)), "currency": word(3 + rng.IntN(5)), "amount": float64(i)}}
			r.Attributes["customer"] = r.Owner
			return r
		}
		var initial []*access.Record
		for i := range 150 {
			r := mk(i)
			if model[r.ID] != nil {
				continue
			}
			initial = append(initial, r)
			model[r.ID] = r
		}
		done := false
		if _, err := s.ImportRecords(t.Context(), store.Write{}, func() ([]*access.Record, error) {
			if done {
				return nil, io.EOF
			}
			done = true
			return initial, nil
		}); err != nil {
			t.Fatalf("ImportRecords: %v", err)
		}

		fold := func(v string) string { // LIKE's case rule: ASCII letters only
			return strings.Map(func(c rune) rune {
				if c >= 'A' && c <= 'Z' {
					return c + 'a' - 'A'
				}
				return c
			}, v)
		}
		preds := map[string]*access.Predicate{
			"staff": {Type: "sales_order", All: true},
			"user": {Type: "sales_order", User: "u1", Accounts: []access.AccountClause{
				{Accounts: []string{"c1"}}, {Accounts: []string{"c2"}, Cond: access.Cond{Cutoff: "2025-05-01"}}}},
		}
		visible := func(p string, r *access.Record) bool {
			return p == "staff" || r.Owner == "c1" || (r.Owner == "c2" && r.Date >= "2025-05-01")
		}
		terms := func() []string {
			out := []string{"%", "_", `\`, "a", "ü", "so-1", "SO-", "xyz-none", "%_\\", "中"}
			ids := make([]string, 0, len(model))
			for id := range model {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			for range 25 {
				r := model[ids[rng.IntN(len(ids))]]
				v := []rune(r.Attributes["number"].(string))
				if rng.IntN(4) == 0 {
					v = []rune(r.Attributes["currency"].(string)) // hidden: must not match
				}
				i := rng.IntN(len(v))
				j := min(len(v), i+1+rng.IntN(5))
				sub := string(v[i:j])
				if rng.IntN(2) == 0 {
					sub = strings.ToUpper(sub)
				}
				// Whole values longer than the index's first window
				// (searchWindow) too.
				out = append(out, sub, word(1+rng.IntN(4)), string(v), strings.ToUpper(r.ID))
			}
			return out
		}
		check := func(t *testing.T) {
			t.Helper()
			for _, term := range terms() {
				for pname, p := range preds {
					var want []*access.Record
					for _, r := range model {
						text := fold(strings.TrimSpace(term))
						if visible(pname, r) && (strings.Contains(fold(r.ID), text) || strings.Contains(fold(r.Attributes["number"].(string)), text)) {
							want = append(want, r)
						}
					}
					if strings.TrimSpace(term) == "" {
						continue
					}
					for _, sortBy := range []string{"-date", "id"} {
						exp := expectOrder(want, sortBy)
						q := store.RecordQuery{Type: "sales_order", Predicate: p, Sort: sortBy, Limit: 4,
							Search: &store.TextSearch{Text: term, Fields: []string{"number"}}}
						for _, capN := range []int{0, 3, -1} { // index, capped fallback, scan
							s.searchCap = capN
							got := listAllPages(t, s, q, s.dialect.largeAccountSet())
							if diff := cmp.Diff(exp, got, cmpEmpty); diff != "" {
								t.Fatalf("search %q as %s sort %s cap %d (-want +got):\n%s", term, pname, sortBy, capN, diff)
							}
							n, err := s.CountRecords(t.Context(), q, store.RecordCount{Max: 1001})
							if err != nil || n.N != len(exp) {
								t.Fatalf("count of %q as %s cap %d = %d, %v; want %d", term, pname, capN, n.N, err, len(exp))
							}
						}
						s.searchCap = 0
					}
				}
			}
		}
		t.Run("Imported", check)

		// Batches and single writes replace values, deletes remove rows.
		var ups []*access.Record
		var dels []access.Ref
		i := 1000
		for id, r := range model {
			switch rng.IntN(4) {
			case 0:
				dels = append(dels, access.Ref{Type: "sales_order", ID: id})
				delete(model, id)
			case 1:
				c := *r
				c.Attributes = map[string]any{"number": word(2 + rng.IntN(8)), "currency": word(4), "customer": r.Owner}
				ups = append(ups, &c)
				model[id] = &c
			}
		}
		for range 30 {
			r := mk(i)
			i++
			if model[r.ID] == nil {
				ups = append(ups, r)
				model[r.ID] = r
			}
		}
		if _, err := s.Batch(t.Context(), store.Write{}, store.RecordBatch{Upsert: ups, Delete: dels}); err != nil {
			var e *access.Error
			errors.As(err, &e)
			t.Fatalf("Batch: %v %+v", err, e.Items[:2])
		}
		for id, r := range model {
			if rng.IntN(8) == 0 {
				c := *r
				c.Attributes = map[string]any{"number": "single-" + word(3), "currency": word(4), "customer": r.Owner}
				recPut(t, s, &c)
				model[id] = &c
			} else if rng.IntN(10) == 0 {
				if _, err := s.DeleteRecord(t.Context(), store.Write{}, "sales_order", id); err != nil {
					t.Fatalf("DeleteRecord: %v", err)
				}
				delete(model, id)
			}
		}
		t.Run("Rewritten", check)
	})
}

// cmpEmpty treats a nil and an empty id list as equal.
var cmpEmpty = cmp.Transformer("empty", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

// TestSearchIndex_Plan: a selective term reads its candidates by key, not
// a scan of the type.
func TestSearchIndex_Plan(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		s := mustOpen(t, dsn)
		var recs []*access.Record
		for i := range 300 {
			recs = append(recs, salesOrder(fmt.Sprintf("SO-%05d", i), "c1", "2025-01-02", "open", float64(i)))
		}
		recBatch(t, s, store.RecordBatch{Upsert: recs})
		q := store.RecordQuery{Type: "sales_order", Predicate: &access.Predicate{Type: "sales_order", User: "u1",
			Accounts: []access.AccountClause{{Accounts: []string{"c1", "c2"}}}},
			Search: &store.TextSearch{Text: "so-00123", Fields: []string{"number"}}}
		set, err := s.searchCandidates(t.Context(), q)
		if err != nil || set == nil || len(set.pks) != 1 {
			t.Fatalf("candidates of a selective term: %+v, %v; want one", set, err)
		}
		plan, _ := explain(t, s, q)
		if isPG(s) {
			if !strings.Contains(plan, "records_pkey") {
				t.Errorf("candidate plan does not read rows by key:\n%s", plan)
			}
		} else if !strings.Contains(plan, "INTEGER PRIMARY KEY") || strings.Contains(plan, "records_date") {
			t.Errorf("candidate plan does not read rows by key:\n%s", plan)
		}
		q.Search.Text = "so-"
		s.searchCap = 100
		if set, err := s.searchCandidates(t.Context(), q); err != nil || set != nil {
			t.Errorf("a common term: %+v, %v; want the scan", set, err)
		}
	})
}

// TestSearchIndex_Rebuilt checks on SQLite that the index entries the
// store writes (searchValues, in batches and single writes) propose the
// same candidates as the entries migration 0014's backfill computes from
// the stored JSON, and as writeSearchFrom's: the three ways of filling
// the index agree for every term.
func TestSearchIndex_Rebuilt(t *testing.T) {
	s := recOpen(t, filepath.Join(t.TempDir(), "s.db"))
	rng := rand.New(rand.NewPCG(3, 4))
	var recs []*access.Record
	for i := range 200 {
		r := salesOrder(fmt.Sprintf("SO-%05d", i), fmt.Sprintf("c%d", rng.IntN(9)), "2025-01-02", []string{"open", "shipped", ""}[rng.IntN(3)], float64(i))
		r.Attributes["note"] = []string{"Müller & Co", "SO-00042", "", "café 42"}[rng.IntN(4)]
		recs = append(recs, r)
	}
	recBatch(t, s, store.RecordBatch{Upsert: recs[:150]})
	for _, r := range recs[150:] {
		if _, _, err := s.PutRecord(t.Context(), store.Write{}, r); err != nil {
			t.Fatal(err)
		}
	}
	recBatch(t, s, store.RecordBatch{Upsert: recs[100:180]}) // updates in place
	terms := []string{"SO-000", "00042", "o-0019", "müller", "MÜL", "café", "é 4", "open", "hipp", "2025-01", "EUR", "c3", "SO-00199", "-00", "xyz"}
	candidates := func() map[string][]int64 {
		out := map[string][]int64{}
		for _, term := range terms {
			q, args, ok := s.dialect.searchCandidatesSQL("sales_order", term)
			if !ok {
				continue
			}
			set, err := s.readCandidates(t.Context(), 1000, q, args)
			if err != nil || set == nil {
				t.Fatalf("%q: %+v %v", term, set, err)
			}
			slices.Sort(set.pks)
			out[term] = set.pks
		}
		return out
	}
	written := candidates()
	if len(written["00042"]) == 0 || len(written["müller"]) == 0 {
		t.Fatalf("the index proposes nothing: %v", written)
	}
	mig, err := fs.ReadFile(migrationFiles, "migrations/sqlite/0014_search_bulk.sql")
	if err != nil {
		t.Fatal(err)
	}
	backfill := string(mig[strings.Index(string(mig), "INSERT INTO record_search"):])
	for name, fill := range map[string]func(t *wtx) error{
		"backfill": func(t *wtx) error {
			_, err := t.tx.ExecContext(t.ctx, backfill)
			return err
		},
		"writeSearchFrom": func(t *wtx) error { return t.writeSearchFrom(0) },
	} {
		if _, err := s.write(t.Context(), store.Write{}, func(t *wtx) error {
			if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM record_search`); err != nil {
				return err
			}
			return fill(t)
		}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(written, candidates()); diff != "" {
			t.Errorf("%s: candidates differ from the written index (-written +%s):\n%s", name, name, diff)
		}
	}
}

// TestSearchIndex_StagedImport checks the bulk path of the index's
// entries (stageSearch): an import whose first chunk is full writes them
// through the stage, with one statement at its end, and proposes exactly
// the candidates of an index rebuilt from the stored rows, also for
// records updated in place by the import (stored before it, or written
// by an earlier chunk of it); the hashsize configuration is as before
// (none, or the value set); a failed import writes no entries and leaves
// no stage behind.
func TestSearchIndex_StagedImport(t *testing.T) {
	s := recOpen(t, filepath.Join(t.TempDir(), "s.db"))
	order := func(id string, i int, note string) *access.Record {
		r := salesOrder(id, fmt.Sprintf("c%d", i%7), "2025-01-02", []string{"open", "shipped"}[i%2], float64(i))
		r.Attributes["note"] = note
		return r
	}
	var before []*access.Record
	for i := range 150 {
		before = append(before, order(fmt.Sprintf("SO-%05d", i), i, fmt.Sprintf("früh %d", i)))
	}
	recBatch(t, s, store.RecordBatch{Upsert: before})
	var recs []*access.Record
	for i := range store.MaxBatch {
		recs = append(recs, order(fmt.Sprintf("N-%05d", i), i, fmt.Sprintf("neu %d", i%300)))
	}
	for i := range 50 { // the second chunk: updates of both kinds, new records
		recs = append(recs, order(fmt.Sprintf("N-%05d", i*7), i, "geändert Müller"))
		recs = append(recs, order(fmt.Sprintf("SO-%05d", i*3), i, "geändert Café"))
	}
	for i := range 100 {
		recs = append(recs, order(fmt.Sprintf("M-%05d", i), i, fmt.Sprintf("dazu %d", i)))
	}
	config := func() []string {
		var out []string
		if _, err := s.write(t.Context(), store.Write{}, func(t *wtx) error {
			rs, err := t.tx.QueryContext(t.ctx, `SELECT k || '=' || v FROM record_search_config ORDER BY k`)
			if err != nil {
				return err
			}
			defer rs.Close()
			for rs.Next() {
				var kv string
				if err := rs.Scan(&kv); err != nil {
					return err
				}
				out = append(out, kv)
			}
			if err := rs.Err(); err != nil {
				return err
			}
			var staged int
			if err := t.tx.QueryRowContext(t.ctx, `SELECT count(*) FROM temp.sqlite_master WHERE name = 'record_search_stage'`).Scan(&staged); err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("stages=%d", staged))
			return errNoop
		}); err != nil && !errors.Is(err, errNoop) {
			t.Fatal(err)
		}
		return out
	}
	terms := []string{"früh 1", "neu 29", "neu 1", "geändert", "müller", "CAFÉ", "dazu 9", "N-0007", "SO-0001", "M-000", "F-0", "shipped"}
	candidates := func() map[string][]int64 {
		out := map[string][]int64{}
		for _, term := range terms {
			q, args, _ := s.dialect.searchCandidatesSQL("sales_order", term)
			set, err := s.readCandidates(t.Context(), 1<<20, q, args)
			if err != nil || set == nil {
				t.Fatalf("%q: %+v %v", term, set, err)
			}
			slices.Sort(set.pks)
			out[term] = set.pks
		}
		return out
	}
	fresh := config()
	// A failed import: nothing of it stays, the stage neither.
	bad := slices.Clone(recs)
	for i := range store.MaxBatch {
		bad[i] = order(fmt.Sprintf("F-%05d", i), i, "fehlt")
	}
	was := candidates()
	if _, err := s.ImportRecords(t.Context(), store.Write{}, chunksOf(bad, store.MaxBatch, store.MaxBatch+3)); access.ErrorCode(err) != access.CodeInvalid {
		t.Fatalf("import with a bad record in its second chunk: %v", err)
	}
	if diff := cmp.Diff(was, candidates()); diff != "" {
		t.Errorf("a failed import changed the index:\n%s", diff)
	}
	if diff := cmp.Diff(fresh, config()); diff != "" {
		t.Errorf("a failed import changed the configuration or left the stage:\n%s", diff)
	}
	res, err := s.ImportRecords(t.Context(), store.Write{}, chunksOf(recs, store.MaxBatch, -1))
	if err != nil || res.Upserted != len(recs) {
		t.Fatalf("import: %+v %v", res, err)
	}
	if err := s.IndexSearchBacklog(t.Context()); err != nil { // written behind the import
		t.Fatal(err)
	}
	if diff := cmp.Diff(fresh, config()); diff != "" {
		t.Errorf("the import changed the configuration or left the stage:\n%s", diff)
	}
	written := candidates()
	if len(written["geändert"]) != 100 || len(written["N-0007"]) == 0 || len(written["F-0"]) != 0 {
		t.Fatalf("the index proposes %d for geändert, %d for N-0007, %d for F-0", len(written["geändert"]), len(written["N-0007"]), len(written["F-0"]))
	}
	rebuildSearch(t, s)
	if diff := cmp.Diff(written, candidates()); diff != "" {
		t.Errorf("candidates differ from the rebuilt index (-written +rebuilt):\n%s", diff)
	}
	// A hashsize set beforehand stays.
	if _, err := s.write(t.Context(), store.Write{}, func(t *wtx) error { return t.searchHashSize(2 << 20) }); err != nil {
		t.Fatal(err)
	}
	set := config()
	for i := range recs {
		recs[i].Attributes["note"] = "wieder"
	}
	if _, err := s.ImportRecords(t.Context(), store.Write{}, chunksOf(recs, store.MaxBatch, -1)); err != nil {
		t.Fatal(err)
	}
	if err := s.IndexSearchBacklog(t.Context()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(set, config()); diff != "" || !slices.Contains(set, "hashsize=2097152") {
		t.Errorf("the import changed a configured hashsize %v:\n%s", set, diff)
	}
}

// rebuildSearch replaces s's search index with one computed from the
// stored rows in SQL (writeSearchFrom).
func rebuildSearch(t *testing.T, s *Store) {
	t.Helper()
	if _, err := s.write(t.Context(), store.Write{}, func(t *wtx) error {
		if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM record_search`); err != nil {
			return err
		}
		return t.writeSearchFrom(0)
	}); err != nil {
		t.Fatal(err)
	}
}
