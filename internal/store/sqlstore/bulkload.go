package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io"

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
// their planner statistics (deferredIndexes, as a large import does), put
// back exactly as sqlite_master held them, also when the load fails, so
// the database ends as the ordinary write path leaves it
// (TestLoadRecords_SameAsImport). The search index's entries are staged
// and written with one statement per transaction, as a large import's
// (stageSearch), and the lookup of stored records is skipped (wtx.allNew).
// PostgreSQL writes the stream as a sequence of imports (ImportRecords'
// COPY), loadTxRecords at a time.
func (s *Store) LoadRecords(ctx context.Context, w store.Write, next func() ([]*access.Record, error)) (res store.BatchResult, err error) {
	if s.dialect.name() != "sqlite" {
		return s.loadByImports(ctx, w, next)
	}
	var deferred *deferredIndexes
	if _, err := s.runTx(ctx, w, false, func(t *wtx) error {
		var empty bool
		if err := t.tx.QueryRowContext(t.ctx, `SELECT NOT EXISTS (SELECT 1 FROM records)`).Scan(&empty); err != nil {
			return fmt.Errorf("load records: %w", err)
		}
		if !empty {
			return errors.New("load records: the records table is not empty")
		}
		var err error
		deferred, err = t.dropRecordIndexes() // the load has children
		return err
	}); err != nil {
		return store.BatchResult{}, err
	}
	defer func() {
		// Put the indexes back even when the load failed or its context
		// ended: the records written so far stay, and must be indexed like
		// any others.
		if ferr := s.finishLoad(context.WithoutCancel(ctx), w, deferred); ferr != nil && err == nil {
			res, err = store.BatchResult{}, ferr
		}
	}()

	chunks, stop := s.startEncoder(next, false) // every entry is staged
	defer stop()
	for done := false; !done; {
		n := 0
		rev, err := s.write(ctx, w, func(t *wtx) error {
			t.indexesDeferred = true // the batch's order is then the key's
			t.allNew = true
			if err := t.stageSearch(); err != nil {
				return err
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
			return t.flushSearchStage()
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

// finishLoad creates the dropped indexes again.
func (s *Store) finishLoad(ctx context.Context, w store.Write, deferred *deferredIndexes) error {
	_, err := s.runTx(ctx, w, false, func(t *wtx) error {
		t.indexesDeferred = true
		return deferred.rebuild(t)
	})
	return err
}
