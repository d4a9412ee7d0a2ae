package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// loadTxRecords is about the number of records LoadRecords writes in one
// transaction: enough that commits and revisions do not matter, few enough
// that the write-ahead log stays far below the database's size.
var loadTxRecords = 1_000_000

// LoadRecords writes the stream of new records next returns into a store
// whose records table is empty: the bulk load of `bench gen`, which
// generates into a fresh database. Unlike ImportRecords it is not one
// transaction: it commits about every loadTxRecords records (each commit a
// revision, as a Batch is), so that the write-ahead log does not grow to
// the size of the database; a failure leaves the records of the committed
// transactions. The caller guarantees that no (type, id) appears twice in
// the stream, and that nothing else writes records meanwhile.
//
// On SQLite the maintenance that costs most per row is done in bulk instead
// (measured in the README, "Bulk paths"): the secondary indexes of records
// are dropped for the load and created again, sorted, at its end, with
// their planner statistics (deferredIndexes, as a large import does); and
// the AFTER INSERT triggers of records whose body is one INSERT ... VALUES
// over NEW (the search index's record_search_insert, migration 0012) are
// dropped and their INSERT run instead as one INSERT ... SELECT over each
// transaction's new rows, in pk order, before it commits: one statement
// per transaction instead of one trigger program per row, and an FTS5
// target buffers its terms up to loadHashSize instead of flushing a small
// segment at every 400-row INSERT and merging them again and again. All of
// it is put back exactly as sqlite_master and the FTS5 configuration held
// it, also when the load fails, so the database ends as the ordinary write
// path leaves it (TestLoadRecords_SameAsImport). Other triggers stay and
// run per row. PostgreSQL writes the stream as a sequence of imports
// (ImportRecords' COPY), loadTxRecords at a time.
func (s *Store) LoadRecords(ctx context.Context, w store.Write, next func() ([]*access.Record, error)) (res store.BatchResult, err error) {
	if s.dialect.name() != "sqlite" {
		return s.loadByImports(ctx, w, next)
	}
	var bulk *bulkLoad
	if _, err := s.runTx(ctx, w, false, func(t *wtx) error {
		var empty bool
		if err := t.tx.QueryRowContext(t.ctx, `SELECT NOT EXISTS (SELECT 1 FROM records)`).Scan(&empty); err != nil {
			return fmt.Errorf("load records: %w", err)
		}
		if !empty {
			return errors.New("load records: the records table is not empty")
		}
		var err error
		bulk, err = t.dropForLoad()
		return err
	}); err != nil {
		return store.BatchResult{}, err
	}
	defer func() {
		// Put the indexes and triggers back even when the load failed or
		// its context ended: the records written so far stay, and must be
		// indexed and searchable like any others.
		if ferr := s.finishLoad(context.WithoutCancel(ctx), w, bulk); ferr != nil && err == nil {
			res, err = store.BatchResult{}, ferr
		}
	}()

	chunks := make(chan importChunk, 1)
	stop := make(chan struct{})
	defer func() {
		close(stop)
		for range chunks { // wait for the encoder to stop
		}
	}()
	go s.encodeChunks(next, chunks, stop)
	for done := false; !done; {
		n := 0
		rev, err := s.write(ctx, w, func(t *wtx) error {
			t.indexesDeferred = true // the batch's order is then the key's
			var from int64
			if err := t.tx.QueryRowContext(t.ctx, `SELECT coalesce(max(pk), 0) FROM records`).Scan(&from); err != nil {
				return fmt.Errorf("load records: %w", err)
			}
			for n < loadTxRecords {
				ch, ok := <-chunks
				if !ok {
					done = true
					break
				}
				if ch.err != nil {
					return ch.err
				}
				if err := t.upsertRecords(ch.rows); err != nil {
					return err
				}
				n += len(ch.rows)
			}
			if n == 0 {
				return errNoop
			}
			// The dropped triggers' inserts over the transaction's rows, in
			// pk order, one statement each.
			for _, tr := range bulk.triggers {
				if _, err := t.tx.ExecContext(t.ctx, tr.backfill, from); err != nil {
					return fmt.Errorf("load records: %s: %w", tr.name, err)
				}
			}
			return nil
		})
		if err != nil {
			return store.BatchResult{}, err
		}
		if n > 0 {
			res.Upserted += n
			res.Revision = rev
		}
	}
	return res, nil
}

// loadByImports is LoadRecords as a sequence of ImportRecords, each of
// about loadTxRecords records.
func (s *Store) loadByImports(ctx context.Context, w store.Write, next func() ([]*access.Record, error)) (store.BatchResult, error) {
	var res store.BatchResult
	for eof := false; !eof; {
		n := 0
		r, err := s.ImportRecords(ctx, w, func() ([]*access.Record, error) {
			if n >= loadTxRecords {
				return nil, io.EOF
			}
			recs, err := next()
			if errors.Is(err, io.EOF) {
				eof = true
			}
			n += len(recs)
			return recs, err
		})
		if err != nil {
			return store.BatchResult{}, err
		}
		if r.Upserted > 0 { // none: the stream ended on a transaction boundary
			res.Upserted += r.Upserted
			res.Revision = r.Revision
		}
	}
	return res, nil
}

// bulkLoad is what LoadRecords dropped on SQLite, to put back when it ends.
type bulkLoad struct {
	indexes  *deferredIndexes
	triggers []loadTrigger
}

// loadTrigger is an AFTER INSERT trigger of records that LoadRecords runs
// per chunk instead of per row.
type loadTrigger struct {
	name, create string
	// backfill is the trigger's INSERT as INSERT ... SELECT over the rows
	// of records named NEW whose pk is above the parameter.
	backfill string
	// target is the table the trigger inserts into; fts is set when that
	// is an FTS5 table, whose hashsize the load raises, with the value
	// its configuration held before (none: the default).
	target   string
	fts      bool
	hashsize sql.NullString
}

// loadHashSize is the FTS5 hashsize during a load: the pending terms an
// FTS5 table buffers before it writes them as a segment (default 1 MB,
// a few hundred records' trigrams). Each segment is merged into larger
// ones again and again as the index grows (automerge); with 128 MB one
// transaction's insert makes a few large segments, which measured 16–17
// µs of CPU per record against 23–36 with the default (README, "Bulk
// paths"), at about 250 MB more memory while the load runs.
const loadHashSize = 128 << 20

// ftsDefaultHashSize is FTS5's default hashsize (FTS5_DEFAULT_HASHSIZE).
const ftsDefaultHashSize = 1 << 20

// insertTrigger matches a trigger that runs one INSERT ... VALUES (...)
// after each insert into records: its head (up to the column list) and its
// values.
var insertTrigger = regexp.MustCompile(`(?is)^CREATE\s+TRIGGER\s+("?\w+"?)\s+AFTER\s+INSERT\s+ON\s+"?records"?\s+BEGIN\s+` +
	`(INSERT\s+INTO\s+"?(\w+)"?\s*\([^()]*\))\s*VALUES\s*\((.*)\)\s*;\s*END$`)

// loadTriggers returns the triggers of records that LoadRecords can run per
// chunk, from their sqlite_master text.
func (t *wtx) loadTriggers() ([]loadTrigger, error) {
	rs, err := t.tx.QueryContext(t.ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'records' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []loadTrigger
	for rs.Next() {
		var name, q string
		if err := rs.Scan(&name, &q); err != nil {
			return nil, err
		}
		m := insertTrigger.FindStringSubmatch(strings.TrimSpace(q))
		// One statement only: a ';' inside the values would be a second
		// one (or a literal this rewriting does not need to understand).
		if m == nil || strings.Contains(m[4], ";") || strings.Contains(m[4], "OLD.") {
			continue
		}
		out = append(out, loadTrigger{name: name, create: q, target: m[3],
			backfill: m[2] + " SELECT " + m[4] + " FROM records AS NEW WHERE NEW.pk > ? ORDER BY NEW.pk"})
	}
	return out, rs.Err()
}

// dropForLoad drops the secondary indexes of records and the triggers
// LoadRecords runs per chunk, and returns what finishLoad puts back.
func (t *wtx) dropForLoad() (*bulkLoad, error) {
	b := &bulkLoad{}
	var err error
	if b.triggers, err = t.loadTriggers(); err != nil {
		return nil, fmt.Errorf("load records: triggers: %w", err)
	}
	for i := range b.triggers {
		tr := &b.triggers[i]
		if _, err := t.tx.ExecContext(t.ctx, `DROP TRIGGER "`+tr.name+`"`); err != nil {
			return nil, fmt.Errorf("load records: %w", err)
		}
		if err := t.tx.QueryRowContext(t.ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? AND sql LIKE 'CREATE VIRTUAL TABLE % USING fts5%')`,
			tr.target).Scan(&tr.fts); err != nil {
			return nil, fmt.Errorf("load records: %w", err)
		}
		if !tr.fts {
			continue
		}
		err := t.tx.QueryRowContext(t.ctx, `SELECT v FROM "`+tr.target+`_config" WHERE k = 'hashsize'`).Scan(&tr.hashsize)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("load records: %s configuration: %w", tr.target, err)
		}
		if err := t.ftsHashSize(tr.target, loadHashSize); err != nil {
			return nil, err
		}
	}
	if b.indexes, err = t.dropRecordIndexes(); err != nil {
		return nil, err
	}
	return b, nil
}

// finishLoad creates the dropped indexes and triggers again. The triggers'
// inserts ran with each chunk, inside its transaction, so every committed
// row has them.
func (s *Store) finishLoad(ctx context.Context, w store.Write, b *bulkLoad) error {
	_, err := s.runTx(ctx, w, false, func(t *wtx) error {
		t.indexesDeferred = true
		if err := b.indexes.rebuild(t); err != nil {
			return err
		}
		for _, tr := range b.triggers {
			if _, err := t.tx.ExecContext(t.ctx, tr.create); err != nil {
				return fmt.Errorf("load records: recreate %s: %w", tr.name, err)
			}
			if !tr.fts {
				continue
			}
			// Back to what the configuration held: the value it had, or
			// none. Setting the default first makes every connection,
			// this one included, reload the configuration.
			var size any = ftsDefaultHashSize
			if tr.hashsize.Valid {
				size = tr.hashsize.String
			}
			if err := t.ftsHashSize(tr.target, size); err != nil {
				return err
			}
			if !tr.hashsize.Valid {
				if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM "`+tr.target+`_config" WHERE k = 'hashsize'`); err != nil {
					return fmt.Errorf("load records: %s configuration: %w", tr.target, err)
				}
			}
		}
		return nil
	})
	return err
}

// ftsHashSize sets the hashsize of the FTS5 table tbl.
func (t *wtx) ftsHashSize(tbl string, size any) error {
	if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO "`+tbl+`" ("`+tbl+`", rank) VALUES ('hashsize', ?)`, size); err != nil {
		return fmt.Errorf("load records: %s hashsize: %w", tbl, err)
	}
	return nil
}
