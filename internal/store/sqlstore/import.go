package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// ImportRecords upserts the chunks next returns in one write transaction
// (store.RecordStore). A file import is all or nothing like a batch, but
// larger than store.MaxBatch: rather than raising the batch limit (a
// records:batch body is buffered whole), the import keeps one transaction
// open and pulls chunks of at most store.MaxBatch records, so a
// million-record file needs memory for one chunk, not for the file. Each
// chunk is encoded on every core and written with Batch's statements
// (upsertRecords); other writers wait for the import's commit, as they
// wait for any write.
func (s *Store) ImportRecords(ctx context.Context, w store.Write, next func() ([]*access.Record, error)) (store.BatchResult, error) {
	var res store.BatchResult
	rev, err := s.write(ctx, w, func(t *wtx) error {
		// A goroutine encodes the next chunk while this one is written.
		// The search columns are left to the writer: most of a large
		// import's entries go to the backlog.
		chunks, stop := s.startEncoder(next, true)
		defer stop()
		var before int64 // about the number of records the table held
		var deferred *deferredIndexes
		newTypes := map[string]bool{} // onlyNewTypes
		var order importOrder
		if s.dialect.name() == "sqlite" {
			if err := t.tx.QueryRowContext(t.ctx, "SELECT coalesce(max(pk), 0) FROM records").Scan(&before); err != nil {
				return fmt.Errorf("import records: %w", err)
			}
		}
		for ch := range chunks {
			if ch.err != nil {
				return ch.err
			}
			// A full first chunk: the file has more. Its search entries
			// go to the stage, written at the end with one statement
			// (stageSearch).
			if s.dialect.name() == "sqlite" && res.Upserted == 0 && len(ch.rows) == store.MaxBatch {
				if err := t.stageSearch(); err != nil {
					return err
				}
			}
			unstored, err := t.onlyNewTypes(ch.rows, newTypes)
			if err != nil {
				return err
			}
			order.add(ch.rows, unstored)
			if n := res.Upserted + len(ch.rows); s.dialect.name() == "sqlite" && deferred == nil && n >= deferIndexMin && int64(n) >= before {
				// Kept: the partial index of the rows with a parent when
				// this chunk has none (rows without one cost it nothing,
				// while building it again reads the whole table), and
				// records_updated while the rows append to it.
				var keep []string
				if !hasParents(ch.rows) {
					keep = append(keep, "records_parent")
				}
				if !order.broken {
					keep = append(keep, "records_updated")
				}
				if deferred, err = t.dropRecordIndexes(keep...); err != nil {
					return err
				}
			} else if deferred != nil && order.broken && deferred.keeps("records_updated") {
				if err := deferred.drop(t, "records_updated"); err != nil {
					return err
				}
			}
			t.unstored = unstored
			if err := t.upsertRecords(ch.rows); err != nil {
				return err
			}
			t.unstored = false
			res.Upserted += len(ch.rows)
		}
		if res.Upserted == 0 {
			return errNoop
		}
		if deferred != nil {
			if err := deferred.rebuild(t); err != nil {
				return err
			}
		}
		return t.flushSearchStage()
	})
	if err != nil {
		return store.BatchResult{}, err
	}
	res.Revision = rev
	return res, nil
}

// onlyNewTypes reports whether every row's type held no record when the
// import began: then none of the rows can be stored (the caller names
// each (type, id) once), and the chunk needs no lookup (wtx.unstored).
// types remembers the answer per type; a type is asked about when first
// seen, before the import writes any record of it.
func (t *wtx) onlyNewTypes(rows []recordRow, types map[string]bool) (bool, error) {
	all := true
	for i := range rows {
		isNew, seen := types[rows[i].typ]
		if !seen {
			if err := t.queryRow(`SELECT NOT EXISTS (SELECT 1 FROM records WHERE type = ?)`, rows[i].typ).Scan(&isNew); err != nil {
				return false, fmt.Errorf("import records: %w", err)
			}
			types[rows[i].typ] = isNew
		}
		all = all && isNew
	}
	return all, nil
}

// importChunk is a chunk of an import, encoded for its rows, or the error
// that ends the import.
type importChunk struct {
	rows []recordRow
	err  error
}

// startEncoder runs encodeChunks over next in a goroutine and returns its
// chunks, and the function that stops it and waits for it to end;
// searchLater is encodeRecord's.
func (s *Store) startEncoder(next func() ([]*access.Record, error), searchLater bool) (<-chan importChunk, func()) {
	chunks := make(chan importChunk, 1)
	done := make(chan struct{})
	go s.encodeChunks(next, chunks, done, searchLater)
	return chunks, func() {
		close(done)
		for range chunks { // wait for the encoder to stop
		}
	}
}

// encodeChunks pulls the chunks of an import from next, checks and
// encodes each (on every core), and sends them to out until next ends or
// fails, a chunk is bad, or stop closes; it closes out.
func (s *Store) encodeChunks(next func() ([]*access.Record, error), out chan<- importChunk, stop <-chan struct{}, searchLater bool) {
	defer close(out)
	for {
		recs, err := next()
		if errors.Is(err, io.EOF) {
			return
		}
		var ch importChunk
		switch {
		case err != nil:
			ch.err = err
		case len(recs) > store.MaxBatch:
			ch.err = access.Errorf(access.CodeTooLarge, "an import chunk holds at most %d records, not %d", store.MaxBatch, len(recs))
		default:
			ch.rows, ch.err = s.encodeChunk(recs, searchLater)
		}
		select {
		case out <- ch:
		case <-stop:
			return
		}
		if ch.err != nil {
			return
		}
	}
}

// encodeChunk encodes one import chunk, failing on invalid records and on
// a (type, id) named twice in it.
func (s *Store) encodeChunk(recs []*access.Record, searchLater bool) ([]recordRow, error) {
	rows, items := s.encodeBatch(recs, searchLater)
	items = append(items, duplicateItems(recs, make(map[access.Ref]int, len(recs)), "chunk")...)
	if len(items) > 0 {
		sort.SliceStable(items, func(a, b int) bool { return items[a].Index < items[b].Index })
		return nil, &access.Error{Code: access.CodeInvalid,
			Message: fmt.Sprintf("%d of %d import items are invalid", len(items), len(recs)), Items: items}
	}
	return rows, nil
}

// deferIndexMin is the number of records an import must have written
// with the chunk at hand, and at least as many as the table held when it
// began, for it to drop the secondary indexes of records before that
// chunk, for the rest of the import (SQLite only; see deferredIndexes).
// One full chunk: sorting 10,000 keys costs less than inserting them into
// four B-trees (the first chunks of a million-record import took 100-128
// ms with the indexes, ~40 ms without).
var deferIndexMin = store.MaxBatch

// hasParents reports whether a row of rows has a parent.
func hasParents(rows []recordRow) bool {
	for i := range rows {
		if rows[i].parentID != nil {
			return true
		}
	}
	return false
}

// deferredIndexes are the secondary indexes of records an import dropped
// inside its transaction, to build them again, sorted, before it commits:
// inserting a million rows into four B-trees at random places costs far
// more than sorting them once (a CREATE INDEX). Only SQLite does this: its
// readers keep their WAL snapshot, with the indexes, until the import
// commits, and the one writer connection runs nothing else meanwhile.
// PostgreSQL would lock records against every reader for the import's
// duration. The planner statistics of the indexes are put back as they
// were.
type deferredIndexes struct {
	create []string    // the CREATE INDEX statements, as sqlite_master has them
	stats  [][3]string // their sqlite_stat1 rows (tbl, idx, stat)
	kept   []string    // the secondary indexes not dropped (yet)
	// analyzed is set when the database has sqlite_stat1 (asked once).
	analyzed bool
}

// dropRecordIndexes drops every index of records but its key
// (records_type_id, which the import's lookups and upserts need) and those
// named in keep, and returns what rebuild needs.
func (t *wtx) dropRecordIndexes(keep ...string) (*deferredIndexes, error) {
	var names []string
	if err := func() error {
		rs, err := t.tx.QueryContext(t.ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' AND name <> 'records_type_id' AND sql IS NOT NULL ORDER BY name`)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var name string
			if err := rs.Scan(&name); err != nil {
				return err
			}
			names = append(names, name)
		}
		return rs.Err()
	}(); err != nil {
		return nil, fmt.Errorf("defer record indexes: %w", err)
	}
	d := &deferredIndexes{}
	if err := t.tx.QueryRowContext(t.ctx, `SELECT count(*) > 0 FROM sqlite_master WHERE name = 'sqlite_stat1'`).Scan(&d.analyzed); err != nil {
		return nil, fmt.Errorf("defer record indexes: %w", err)
	}
	for _, name := range names {
		if slices.Contains(keep, name) {
			d.kept = append(d.kept, name)
		} else if err := d.drop(t, name); err != nil {
			return nil, err
		}
	}
	t.indexesDeferred = true
	return d, nil
}

// keeps reports whether name is an index of records the import kept.
func (d *deferredIndexes) keeps(name string) bool { return slices.Contains(d.kept, name) }

// drop drops the index name of records and keeps its statement and its
// statistics for rebuild.
func (d *deferredIndexes) drop(t *wtx, name string) error {
	var q string
	if err := t.tx.QueryRowContext(t.ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`, name).Scan(&q); err != nil {
		return fmt.Errorf("defer record index %s: %w", name, err)
	}
	if d.analyzed {
		if err := func() error {
			rs, err := t.tx.QueryContext(t.ctx, `SELECT tbl, idx, stat FROM sqlite_stat1 WHERE idx = ?`, name)
			if err != nil {
				return err
			}
			defer rs.Close()
			for rs.Next() {
				var st [3]string
				if err := rs.Scan(&st[0], &st[1], &st[2]); err != nil {
					return err
				}
				d.stats = append(d.stats, st)
			}
			return rs.Err()
		}(); err != nil {
			return fmt.Errorf("defer record index %s: %w", name, err)
		}
	}
	if _, err := t.tx.ExecContext(t.ctx, `DROP INDEX "`+name+`"`); err != nil {
		return fmt.Errorf("defer record index %s: %w", name, err)
	}
	d.create = append(d.create, q)
	d.kept = slices.DeleteFunc(d.kept, func(k string) bool { return k == name })
	return nil
}

// importOrder follows whether an import's rows so far append to
// records_updated: all new (no record of their type was stored, so the
// import names each once), of one type, and in ascending id order. Their
// keys (type, the transaction's updated_at, id) then arrive in the
// index's order, each after the last, which costs less than building the
// index again (a shuffled file would cost a third more: README, "Bulk
// paths, tenth round"). The first chunk that breaks the order has the
// import drop the index after all.
type importOrder struct {
	broken  bool   // some row so far was stored, of another type or out of order
	typ, id string // the last row's
}

// add follows the import's next chunk; unstored is onlyNewTypes' answer.
func (o *importOrder) add(rows []recordRow, unstored bool) {
	o.broken = o.broken || !unstored
	for i := 0; !o.broken && i < len(rows); i++ {
		r := &rows[i]
		if o.typ == "" {
			o.typ = r.typ
		}
		o.broken = r.typ != o.typ || r.id <= o.id
		o.id = r.id
	}
}

// Sorting for the index rebuild. SQLite's sorter keeps as many keys in
// memory as the connection's page cache holds (the writer's 64 MiB: every
// key of a million records) and sorts them on one thread. With worker
// threads and a smaller cache it sorts runs of rebuildSortKiB in the
// workers while the main thread reads the table, and merges them on
// several threads: CREATE INDEX takes ~25 % less time on two cores, for
// more CPU in all (README, "Bulk paths, eighth round").
const (
	rebuildThreads = 2
	rebuildSortKiB = 4096
)

// rebuild creates the dropped indexes again and restores their statistics.
func (d *deferredIndexes) rebuild(t *wtx) (err error) {
	var cache int
	if err := t.tx.QueryRowContext(t.ctx, "PRAGMA cache_size").Scan(&cache); err != nil {
		return fmt.Errorf("rebuild record indexes: %w", err)
	}
	if _, err := t.tx.ExecContext(t.ctx, fmt.Sprintf("PRAGMA threads = %d", rebuildThreads)); err != nil {
		return fmt.Errorf("rebuild record indexes: %w", err)
	}
	if _, err := t.tx.ExecContext(t.ctx, fmt.Sprintf("PRAGMA cache_size = -%d", rebuildSortKiB)); err != nil {
		return fmt.Errorf("rebuild record indexes: %w", err)
	}
	defer func() {
		// The writer's settings again, whatever happened: they belong to
		// the connection, which outlives the transaction. A context that
		// ended has rolled the transaction back already; the connection
		// then takes them directly.
		restore := func(q string) error {
			ctx := context.WithoutCancel(t.ctx)
			_, err := t.tx.ExecContext(ctx, q)
			if errors.Is(err, sql.ErrTxDone) {
				_, err = t.conn.ExecContext(ctx, q)
			}
			return err
		}
		err1 := restore("PRAGMA threads = 0")
		err2 := restore(fmt.Sprintf("PRAGMA cache_size = %d", cache))
		if err == nil && (err1 != nil || err2 != nil) {
			err = fmt.Errorf("rebuild record indexes: restore the writer's settings: %w", errors.Join(err1, err2))
		}
	}()
	for _, q := range d.create {
		if _, err := t.tx.ExecContext(t.ctx, q); err != nil {
			return fmt.Errorf("rebuild record indexes: %w", err)
		}
	}
	for _, st := range d.stats {
		if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)`, st[0], st[1], st[2]); err != nil {
			return fmt.Errorf("rebuild record indexes: statistics: %w", err)
		}
	}
	t.indexesDeferred = false
	return nil
}
