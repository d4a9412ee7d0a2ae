package sqlstore

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// holdIndexer keeps s's indexer from starting until the returned function
// runs (kicks meanwhile are remembered and dropped).
func holdIndexer(s *Store) (release func()) {
	s.closeMu.Lock()
	for s.idx.running { // the run Open started
		s.closeMu.Unlock()
		time.Sleep(time.Millisecond)
		s.closeMu.Lock()
	}
	s.idx.running = true
	s.closeMu.Unlock()
	return func() {
		s.closeMu.Lock()
		s.idx.running, s.idx.again = false, false
		s.closeMu.Unlock()
	}
}

// backlogOf reads s's search backlog.
func backlogOf(t *testing.T, s *Store) []pkRange {
	t.Helper()
	var out []pkRange
	if _, err := s.runTx(t.Context(), store.Write{}, false, func(t *wtx) error {
		if err := t.loadBacklog(); err != nil {
			return err
		}
		out = slices.Clone(t.backlog)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSearchBacklog checks the search index written behind a large batch
// (searchbacklog.go): the batch's keys go to the backlog without entries;
// while they are there a search takes the scan plan and finds them, also
// after the records were updated or deleted, and small writes keep
// writing their own entries; once the indexer has run the backlog is
// empty, the search takes the index again, and the index proposes
// exactly the candidates of one rebuilt from the stored rows. A backlog
// left by a store that closed is written by the next one at Open.
func TestSearchBacklog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := recOpen(t, path)
	release := holdIndexer(s)
	order := func(id string, i int, note string) *access.Record {
		return salesOrder(id, fmt.Sprintf("c%d", i%7), "2025-01-02", note, float64(i))
	}
	recBatch(t, s, store.RecordBatch{Upsert: []*access.Record{order("SO-0", 0, "vorher")}})
	var big []*access.Record
	for i := range searchBehindMin {
		big = append(big, order(fmt.Sprintf("B-%05d", i), i, fmt.Sprintf("gross %d", i)))
	}
	recBatch(t, s, store.RecordBatch{Upsert: big})
	if got, want := backlogOf(t, s), []pkRange{{2, 1 + searchBehindMin}}; !cmp.Equal(got, want, cmp.AllowUnexported(pkRange{})) {
		t.Fatalf("backlog after a batch of %d: %v, want %v", searchBehindMin, got, want)
	}
	if n, err := s.SearchBacklog(t.Context()); err != nil || n != searchBehindMin {
		t.Fatalf("SearchBacklog = %d, %v; want %d", n, err, searchBehindMin)
	}
	candidates := func(term string) []int64 {
		t.Helper()
		q, args, _ := s.dialect.searchCandidatesSQL("sales_order", term)
		set, err := s.readCandidates(t.Context(), 1<<20, q, args)
		if err != nil || set == nil {
			t.Fatalf("%q: %+v %v", term, set, err)
		}
		slices.Sort(set.pks)
		return set.pks
	}
	if got := candidates("gross 1"); len(got) != 0 {
		t.Fatalf("the backlog's records have entries: %v", got)
	}
	// Small writes inside and after the backlog's range: an update and a
	// delete of backlog records write no entries, a new record does.
	recBatch(t, s, store.RecordBatch{Upsert: []*access.Record{order("B-00007", 7, "geändert"), order("N-1", 1, "klein")}})
	if _, err := s.DeleteRecord(t.Context(), store.Write{}, "sales_order", "B-00008"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutRecord(t.Context(), store.Write{}, order("B-00009", 9, "einzeln")); err != nil {
		t.Fatal(err)
	}
	if got := candidates("geändert"); len(got) != 0 {
		t.Fatalf("an update in the backlog wrote an entry: %v", got)
	}
	if got := candidates("einzeln"); len(got) != 0 {
		t.Fatalf("a single update in the backlog wrote an entry: %v", got)
	}
	if got := candidates("klein"); len(got) != 1 {
		t.Fatalf("a new record after the backlog has %d entries, want 1", len(got))
	}
	// The search finds the backlog's records by its scan plan.
	staff := &access.Predicate{Type: "sales_order", All: true}
	search := func(term string) []string {
		t.Helper()
		q := store.RecordQuery{Type: "sales_order", Predicate: staff, Sort: "id", Limit: 50,
			Search: &store.TextSearch{Text: term, Fields: []string{"status"}}}
		if set, err := s.searchCandidates(t.Context(), q); err != nil {
			t.Fatal(err)
		} else if pending, _ := s.searchPending(t.Context()); pending && set != nil {
			t.Fatalf("%q: index candidates while the backlog is not empty", term)
		}
		return listAllPages(t, s, q, s.dialect.largeAccountSet())
	}
	wants := map[string][]string{"geändert": {"B-00007"}, "einzeln": {"B-00009"}, "klein": {"N-1"}, "vorher": {"SO-0"}}
	for _, term := range []string{"gross 4999", "gross 7", "gross 8", "gross 9"} {
		wants[term] = nil
		for i := range searchBehindMin {
			if i != 7 && i != 8 && i != 9 && strings.Contains(fmt.Sprintf("gross %d", i), term) {
				wants[term] = append(wants[term], fmt.Sprintf("B-%05d", i))
			}
		}
	}
	check := func(when string) {
		t.Helper()
		for term, want := range wants {
			if diff := cmp.Diff(want, search(term), cmpEmpty); diff != "" {
				t.Errorf("%s: search %q (-want +got):\n%s", when, term, diff)
			}
		}
	}
	check("backlog")

	// The indexer, two keys a transaction short of a chunk boundary.
	release()
	prev := backlogChunk
	backlogChunk = 1234
	t.Cleanup(func() { backlogChunk = prev })
	if err := s.IndexSearchBacklog(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := backlogOf(t, s); len(got) != 0 {
		t.Fatalf("backlog after the indexer: %v", got)
	}
	if n, err := s.SearchBacklog(t.Context()); err != nil || n != 0 {
		t.Fatalf("SearchBacklog after the indexer = %d, %v; want 0", n, err)
	}
	check("indexed")
	written := map[string][]int64{}
	for term := range wants {
		written[term] = candidates(term)
	}
	if len(written["geändert"]) != 1 || len(written["gross 4999"]) != 1 || len(written["gross 8"]) != len(wants["gross 8"]) {
		t.Fatalf("the indexed entries propose %v", written)
	}
	rebuildSearch(t, s)
	for term, want := range written {
		if diff := cmp.Diff(want, candidates(term)); diff != "" {
			t.Errorf("%q: indexed behind vs rebuilt (-behind +rebuilt):\n%s", term, diff)
		}
	}

	// A backlog the store closed with is written by the next Open.
	holdIndexer(s)
	var more []*access.Record
	for i := range searchBehindMin {
		more = append(more, order(fmt.Sprintf("C-%05d", i), i, "später"))
	}
	recBatch(t, s, store.RecordBatch{Upsert: more})
	if len(backlogOf(t, s)) != 1 {
		t.Fatal("no backlog after the second batch")
	}
	s.Close()
	s = recOpen(t, path)
	deadline := time.Now().Add(30 * time.Second)
	for {
		pending, err := s.searchPending(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !pending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the backlog left at Close was not written after Open")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := candidates("später"); len(got) != searchBehindMin {
		t.Fatalf("after Open the index proposes %d for the second batch, want %d", len(got), searchBehindMin)
	}
}

// TestAddRange checks addRange and inRanges against a set of keys.
func TestAddRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		var rs []pkRange
		set := map[int64]bool{}
		for range 1 + rng.IntN(8) {
			lo := int64(rng.IntN(60))
			r := pkRange{lo, lo + int64(rng.IntN(6))}
			rs = addRange(rs, r)
			for k := r.lo; k <= r.hi; k++ {
				set[k] = true
			}
		}
		for i, r := range rs {
			if r.lo > r.hi || (i > 0 && rs[i-1].hi+1 >= r.lo) {
				t.Fatalf("ranges not sorted, disjoint and apart: %v", rs)
			}
		}
		for k := int64(-1); k <= 70; k++ {
			if inRanges(rs, k) != set[k] {
				t.Fatalf("inRanges(%v, %d) = %v", rs, k, !set[k])
			}
		}
	}
}

// TestStoredSearchValues checks that the indexer's entry of a stored
// record (its JSON read by tokens) holds the values the write path's
// entry holds (from the decoded map): the same id and the same string
// values, whose order among the columns follows the map or the JSON.
func TestStoredSearchValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	words := []string{"", "open", "ID-1", "Müller", `a"b\c`, "<&>", "中文"}
	values := func(cols []string) []string {
		var out []string
		for k, c := range cols {
			if k == len(cols)-1 && len(cols) == searchColumns {
				out = append(out, strings.Split(c, searchSep)...)
				continue
			}
			out = append(out, c)
		}
		slices.Sort(out)
		return out
	}
	for range 300 {
		attrs := map[string]any{}
		for k := range rng.IntN(12) {
			name := fmt.Sprintf("f%d", k)
			switch rng.IntN(5) {
			case 0:
				attrs[name] = float64(rng.IntN(100))
			case 1:
				attrs[name] = map[string]any{"inner": words[rng.IntN(len(words))]}
			case 2:
				attrs[name] = []any{words[rng.IntN(len(words))], true, nil}
			default:
				attrs[name] = words[rng.IntN(len(words))]
			}
		}
		raw, err := json.Marshal(attrs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := storedSearchValues("ID-1", raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		want := searchValues("ID-1", attrs)
		if got[0] != "ID-1" {
			t.Fatalf("%s: stored %q", raw, got)
		}
		// The same distinct values; with fewer than searchColumns-1 of
		// them (the id included) no column is full and the order decides
		// nothing, so the columns hold exactly the same values.
		if diff := cmp.Diff(slices.Compact(values(want)), slices.Compact(values(got))); diff != "" {
			t.Fatalf("%s: distinct values (-map +stored):\n%s", raw, diff)
		}
		if len(slices.Compact(values(want))) < searchColumns-1 {
			if diff := cmp.Diff(values(want), values(got)); diff != "" {
				t.Fatalf("%s (-map +stored):\n%s", raw, diff)
			}
		}
	}
	for _, bad := range []string{`[1]`, `{"a":`, `"s"`} {
		if _, err := storedSearchValues("x", []byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if got, err := storedSearchValues("x", nil); err != nil || !slices.Equal(got, []string{"x"}) {
		t.Errorf("no attributes: %q %v", got, err)
	}
}

// TestSearchBacklog_NoIndexer opens a store as the one-shot commands do:
// a large batch leaves its backlog, no indexer starts, and
// IndexSearchBacklog writes it.
func TestSearchBacklog_NoIndexer(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "n.db"), Options{Clock: func() time.Time { return testNow }, NoIndexer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var big []*access.Record
	for i := range searchBehindMin {
		big = append(big, salesOrder(fmt.Sprintf("N-%05d", i), "c1", "2025-01-02", "open", float64(i)))
	}
	recBatch(t, s, store.RecordBatch{Upsert: big})
	s.closeMu.Lock()
	started := s.idx.ctx != nil || s.idx.running
	s.closeMu.Unlock()
	if started {
		t.Fatal("an indexer started although the store was opened with NoIndexer")
	}
	if n, err := s.SearchBacklog(t.Context()); err != nil || n != searchBehindMin {
		t.Fatalf("SearchBacklog = %d, %v; want %d", n, err, searchBehindMin)
	}
	if err := s.IndexSearchBacklog(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SearchBacklog(t.Context()); err != nil || n != 0 {
		t.Fatalf("SearchBacklog after IndexSearchBacklog = %d, %v; want 0", n, err)
	}
}
