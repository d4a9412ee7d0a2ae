package sqlstore

import (
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// recordIndexes returns the CREATE statements of the indexes of records
// and their planner statistics.
func recordIndexes(t *testing.T, s *Store) (map[string]string, map[string]string) {
	t.Helper()
	idx, stats := map[string]string{}, map[string]string{}
	rs, err := s.db.Query(`SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'`)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var name, q string
		if err := rs.Scan(&name, &q); err != nil {
			t.Fatal(err)
		}
		idx[name] = q
	}
	rs.Close()
	rs, err = s.db.Query(`SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'records'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var name, st string
		if err := rs.Scan(&name, &st); err != nil {
			t.Fatal(err)
		}
		stats[name] = st
	}
	return idx, stats
}

// rootPages returns the root pages of the indexes of records: a rebuilt
// index gets new ones.
func rootPages(t *testing.T, s *Store) string {
	t.Helper()
	var out string
	if err := s.db.QueryRow(`SELECT group_concat(name || '=' || rootpage, ' ') FROM (SELECT name, rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' ORDER BY name)`).Scan(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// rootOf returns the root page of the index name.
func rootOf(t *testing.T, s *Store, name string) (root int) {
	t.Helper()
	if err := s.db.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = ?`, name).Scan(&root); err != nil {
		t.Fatal(err)
	}
	return root
}

// writerSortSettings returns the writer connection's cache_size and
// threads.
func writerSortSettings(t *testing.T, s *Store) [2]int {
	t.Helper()
	var out [2]int
	if _, err := s.write(t.Context(), store.Write{}, func(wt *wtx) error {
		if err := wt.tx.QueryRowContext(wt.ctx, "PRAGMA cache_size").Scan(&out[0]); err != nil {
			return err
		}
		if err := wt.tx.QueryRowContext(wt.ctx, "PRAGMA threads").Scan(&out[1]); err != nil {
			return err
		}
		return errNoop
	}); err != nil {
		t.Fatal(err)
	}
	if out[0] == -rebuildSortKiB || out[1] != 0 {
		t.Fatalf("writer settings %v: want its own cache and no sort threads", out)
	}
	return out
}

// TestImportKeepsUpdatedInOrder: an import of new records whose ids
// ascend keeps records_updated (its keys arrive in order) while it drops
// the other indexes; one whose order breaks in a later chunk drops it
// there and builds it again. Either way the index answers for every
// record, and the file is intact.
func TestImportKeepsUpdatedInOrder(t *testing.T) {
	old := deferIndexMin
	deferIndexMin = 4
	t.Cleanup(func() { deferIndexMin = old })
	for _, c := range []struct {
		name string
		ids  []int // chunks of three
		kept bool
	}{
		{"Ascending", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, true},
		{"BreaksInTheThirdChunk", []int{1, 2, 3, 4, 5, 6, 12, 7, 8, 9, 10, 11}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := recOpen(t, filepath.Join(t.TempDir(), "order.db"))
			updated0, date0 := rootOf(t, s, "records_updated"), rootOf(t, s, "records_date")
			k := 0
			next := func() ([]*access.Record, error) {
				if k == len(c.ids) {
					return nil, io.EOF
				}
				var chunk []*access.Record
				for _, id := range c.ids[k : k+3] {
					chunk = append(chunk, salesOrder(fmt.Sprintf("SO-%03d", id), "c1", "2025-02-01", "open", 1))
				}
				k += 3
				return chunk, nil
			}
			if res, err := s.ImportRecords(t.Context(), store.Write{}, next); err != nil || res.Upserted != len(c.ids) {
				t.Fatalf("ImportRecords = %+v, %v", res, err)
			}
			if updated, date := rootOf(t, s, "records_updated"), rootOf(t, s, "records_date"); (updated == updated0) != c.kept || date == date0 {
				t.Errorf("root pages of records_updated %d -> %d, records_date %d -> %d: want records_updated kept %v, records_date rebuilt", updated0, updated, date0, date, c.kept)
			}
			page, _, err := s.ListRecords(t.Context(), store.RecordQuery{Type: "sales_order", Predicate: &access.Predicate{Type: "sales_order", All: true}, Sort: "updated_at", Limit: 100})
			if err != nil || len(page) != len(c.ids) {
				t.Fatalf("list by updated_at: %d records, %v; want %d", len(page), err, len(c.ids))
			}
			var bad string
			if err := s.db.QueryRow("PRAGMA integrity_check").Scan(&bad); err != nil || bad != "ok" {
				t.Fatalf("integrity_check: %q, %v", bad, err)
			}
		})
	}
}

// TestImportDefersIndexes imports enough records into a small table that
// the import drops the secondary indexes of records and builds them again
// before it commits: afterwards the indexes and their statistics are as
// before, the lists that use them answer, and a failed import leaves them
// untouched.
func TestImportDefersIndexes(t *testing.T) {
	old := deferIndexMin
	deferIndexMin = 4
	t.Cleanup(func() { deferIndexMin = old })
	s := recOpen(t, filepath.Join(t.TempDir(), "defer.db"))
	recPut(t, s, salesOrder("SO-0", "c1", "2025-01-01", "open", 1))
	if _, err := s.db.Exec("ANALYZE"); err != nil {
		t.Fatal(err)
	}
	idx0, stats0 := recordIndexes(t, s)
	root0 := rootPages(t, s)
	parent0, owner0 := rootOf(t, s, "records_parent"), rootOf(t, s, "records_owner")
	if len(idx0) < 5 || len(stats0) == 0 {
		t.Fatalf("indexes %v, statistics %v: want the indexes of the migrations, analyzed", idx0, stats0)
	}
	gen := func(from, n int, bad bool) func() ([]*access.Record, error) {
		k := from
		return func() ([]*access.Record, error) {
			if k >= from+n {
				return nil, io.EOF
			}
			var chunk []*access.Record
			for range 3 {
				r := salesOrder(fmt.Sprintf("SO-%d", k), fmt.Sprintf("c%d", k%3), fmt.Sprintf("2025-02-%02d", 1+k%28), "open", float64(k))
				if bad && k == from+n-1 {
					r.Date = "2025-13-01"
				}
				chunk = append(chunk, r)
				k++
			}
			return chunk, nil
		}
	}
	settings0 := writerSortSettings(t, s)
	// Four chunks of three: the indexes go before the second.
	res, err := s.ImportRecords(t.Context(), store.Write{}, gen(1, 12, false))
	if err != nil || res.Upserted != 12 {
		t.Fatalf("ImportRecords = %+v, %v", res, err)
	}
	// The rebuild sorted with worker threads in a small cache: the writer
	// has its own settings again.
	if got := writerSortSettings(t, s); got != settings0 {
		t.Errorf("writer's cache_size and threads after the import %v, want %v", got, settings0)
	}
	idx1, stats1 := recordIndexes(t, s)
	if root0, root1 := rootPages(t, s), rootPages(t, s); root0 == "" || root0 != root1 {
		t.Fatal("rootPages is not stable")
	}
	if diff := cmp.Diff(idx0, idx1); diff != "" {
		t.Errorf("indexes after the import (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(stats0, stats1); diff != "" {
		t.Errorf("statistics after the import (-before +after):\n%s", diff)
	}
	root1 := rootPages(t, s)
	if root1 == root0 {
		t.Errorf("the import did not rebuild the indexes (root pages %s)", root1)
	}
	// No row had a parent: the partial index of children stayed, the
	// others were built again.
	if parent, owner := rootOf(t, s, "records_parent"), rootOf(t, s, "records_owner"); parent != parent0 || owner == owner0 {
		t.Errorf("root pages of records_parent %d -> %d, records_owner %d -> %d: want records_parent kept, records_owner rebuilt", parent0, parent, owner0, owner)
	}
	var bad string
	if err := s.db.QueryRow("PRAGMA integrity_check").Scan(&bad); err != nil || bad != "ok" {
		t.Fatalf("integrity_check: %q, %v", bad, err)
	}
	for _, q := range []store.RecordQuery{
		{Predicate: ownerPred("sales_order", []string{"c1"})},
		{Predicate: &access.Predicate{Type: "sales_order", All: true}},
	} {
		q.Type, q.Sort, q.Limit = "sales_order", "-date", 100
		page, _, err := s.ListRecords(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		want := 13
		if !q.Predicate.All {
			want = 5 // SO-0 and the four of c1 among SO-1..SO-12
		}
		if len(page) != want {
			t.Errorf("list %+v: %d records, want %d", q.Predicate, len(page), want)
		}
	}

	// A bad last chunk, after the indexes went: nothing changes.
	rev := s.Revision()
	if _, err := s.ImportRecords(t.Context(), store.Write{}, gen(100, 30, true)); access.ErrorCode(err) != access.CodeInvalid {
		t.Fatalf("import with a bad chunk: %v", err)
	}
	idx2, stats2 := recordIndexes(t, s)
	if root := rootPages(t, s); root != root1 {
		t.Errorf("root pages after a failed import %s, want %s", root, root1)
	}
	if diff := cmp.Diff(idx0, idx2); diff != "" {
		t.Errorf("indexes after a failed import (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(stats0, stats2); diff != "" {
		t.Errorf("statistics after a failed import (-before +after):\n%s", diff)
	}
	if s.Revision() != rev {
		t.Errorf("a failed import moved the revision")
	}
	if _, err := s.GetRecord(t.Context(), "sales_order", "SO-100"); access.ErrorCode(err) != access.CodeNotFound {
		t.Errorf("a failed import wrote SO-100: %v", err)
	}
}
