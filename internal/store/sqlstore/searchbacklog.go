package sqlstore

// This file writes the SQLite search index behind the large writes
// (migration 0015, #14 item 6, #16). A batch or import chunk that inserts
// at least searchBehindMin records does not write their entries into
// record_search in its own transaction (a third of an import's writer
// time): it adds the range of their row keys to search_backlog, and the
// store's indexer writes the entries after the commit, backlogChunk keys
// a transaction, computed from the stored rows.
//
// The invariant: a key in the backlog has no entry in record_search. So
// every write of entries (writeSearch, writeSearchFrom) and every delete
// (deleteSearch) leaves the backlog's keys alone: a record updated,
// deleted or created (a reused key) inside a range is indexed, or not,
// from its stored row when the indexer reaches it. The indexer takes the
// lowest keys of the first range out of the backlog and writes their
// entries in one transaction, so no entry is written twice.
//
// Queries never depend on the index being complete: while the backlog
// holds any key, the list search takes its scan plan, which tests the
// LIKE verifier on the rows themselves (searchCandidates). Every node
// starts the indexer at Open and after a commit or a catch-up that may
// have added a range, so a backlog left by a node that stopped is written
// by the next one.

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/portcullis-dev/portcullis/internal/parallel"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// searchBehindMin is the number of records one batch or import chunk
// inserts from which their entries are written behind. Smaller writes
// (an API batch of a few hundred, a portal form) keep writing theirs, so
// a search right after them still takes the index.
const searchBehindMin = 5000

// backlogChunk is the most keys the indexer indexes in one transaction,
// which holds the writer for about half a second.
var backlogChunk int64 = 50_000

// pkRange is the row keys lo to hi, both included.
type pkRange struct{ lo, hi int64 }

// addRange returns rs, sorted, disjoint and not adjacent, with r merged in.
func addRange(rs []pkRange, r pkRange) []pkRange {
	out := make([]pkRange, 0, len(rs)+1)
	for _, x := range rs {
		switch {
		case x.hi+1 < r.lo:
			out = append(out, x)
		case r.hi+1 < x.lo:
			out = append(out, r)
			r = x
		default: // overlapping or adjacent
			r = pkRange{min(r.lo, x.lo), max(r.hi, x.hi)}
		}
	}
	return append(out, r)
}

// inRanges reports whether pk is in one of rs (sorted).
func inRanges(rs []pkRange, pk int64) bool {
	i, _ := slices.BinarySearchFunc(rs, pk, func(x pkRange, pk int64) int {
		switch {
		case x.hi < pk:
			return -1
		case x.lo > pk:
			return 1
		}
		return 0
	})
	return i < len(rs) && rs[i].lo <= pk && pk <= rs[i].hi
}

// loadBacklog reads the backlog into t, once per transaction (the
// transaction is the only writer, so it stays as read).
func (t *wtx) loadBacklog() error {
	if t.backlogRead {
		return nil
	}
	rows, err := t.tx.QueryContext(t.ctx, `SELECT lo, hi FROM search_backlog ORDER BY lo`)
	if err != nil {
		return fmt.Errorf("search backlog: %w", err)
	}
	defer rows.Close()
	t.backlog = t.backlog[:0]
	for rows.Next() {
		var r pkRange
		if err := rows.Scan(&r.lo, &r.hi); err != nil {
			return fmt.Errorf("search backlog: %w", err)
		}
		t.backlog = append(t.backlog, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("search backlog: %w", err)
	}
	t.backlogRead = true
	return nil
}

// setBacklog replaces the backlog with rs (a few rows).
func (t *wtx) setBacklog(rs []pkRange) error {
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM search_backlog`); err != nil {
		return fmt.Errorf("search backlog: %w", err)
	}
	for _, r := range rs {
		if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO search_backlog (lo, hi) VALUES (?, ?)`, r.lo, r.hi); err != nil {
			return fmt.Errorf("search backlog: %w", err)
		}
	}
	t.backlog, t.backlogRead = rs, true
	return nil
}

// addBacklog puts the keys lo to hi, which have no entries, in the
// backlog, and has the indexer started after the commit.
func (t *wtx) addBacklog(lo, hi int64) error {
	if err := t.loadBacklog(); err != nil {
		return err
	}
	if err := t.setBacklog(addRange(t.backlog, pkRange{lo, hi})); err != nil {
		return err
	}
	t.backlogAdded = true
	return nil
}

// outsideBacklog returns the elements of xs whose keys are not in t's
// backlog, in a new slice (xs itself when the backlog is empty).
func outsideBacklog[T any](t *wtx, xs []T, key func(T) int64) ([]T, error) {
	if len(xs) == 0 {
		return xs, nil
	}
	if err := t.loadBacklog(); err != nil {
		return nil, err
	}
	if len(t.backlog) == 0 {
		return xs, nil
	}
	out := make([]T, 0, len(xs))
	for _, x := range xs {
		if !inRanges(t.backlog, key(x)) {
			out = append(out, x)
		}
	}
	return out, nil
}

// SearchBacklog returns how many record keys the search index's backlog
// holds (an upper bound of the records whose entries are still to be
// written: a key's record may have been deleted since); always 0 on
// PostgreSQL.
func (s *Store) SearchBacklog(ctx context.Context) (int64, error) {
	if s.dialect.name() != "sqlite" {
		return 0, nil
	}
	var n int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT coalesce(sum(hi - lo + 1), 0) FROM search_backlog`).Scan(&n); err != nil {
		return 0, fmt.Errorf("search backlog: %w", err)
	}
	return n, nil
}

// searchPending reports whether the search index has a backlog (SQLite;
// always false on PostgreSQL).
func (s *Store) searchPending(ctx context.Context) (bool, error) {
	n, err := s.SearchBacklog(ctx)
	return n > 0, err
}

// IndexSearchBacklog writes the entries of the whole search backlog now,
// in the caller's goroutine (the indexer does the same behind the writes;
// tests and the bench call this to wait for it). It is a no-op on
// PostgreSQL.
func (s *Store) IndexSearchBacklog(ctx context.Context) error {
	for {
		done, err := s.indexBacklogOnce(ctx)
		if err != nil || done {
			return err
		}
	}
}

// indexBacklogOnce writes the entries of the backlog's first backlogChunk
// keys in one transaction; done is true when the backlog was empty.
func (s *Store) indexBacklogOnce(ctx context.Context) (done bool, err error) {
	if pending, err := s.searchPending(ctx); err != nil || !pending {
		return true, err
	}
	done = true
	_, err = s.runTx(ctx, store.Write{}, false, func(t *wtx) error {
		if err := t.loadBacklog(); err != nil {
			return err
		}
		if len(t.backlog) == 0 {
			return nil // another node wrote it
		}
		done = false
		first := t.backlog[0]
		end := min(first.hi, first.lo+backlogChunk-1)
		rest := slices.Clone(t.backlog[1:])
		if end < first.hi {
			rest = append([]pkRange{{end + 1, first.hi}}, rest...)
		}
		// Out of the backlog first, so that writeSearch writes them.
		if err := t.setBacklog(rest); err != nil {
			return err
		}
		entries, err := t.storedEntries(first.lo, end)
		if err != nil {
			return err
		}
		if len(entries) > searchInsertRows {
			if err := t.stageSearch(); err != nil {
				return err
			}
		}
		if err := t.writeSearch(nil, entries); err != nil {
			return err
		}
		return t.flushSearchStage()
	})
	return done, err
}

// storedEntries computes the index entries of the stored records with
// keys lo to hi from their rows, as the write path computes them from the
// records (searchValues): the top-level string values of the attributes,
// read by a streaming decoder on every core.
func (t *wtx) storedEntries(lo, hi int64) ([]searchEntry, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT pk, id, attributes FROM records WHERE pk BETWEEN ? AND ? ORDER BY pk`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("search backlog: %w", err)
	}
	defer rows.Close()
	var entries []searchEntry
	var ids []string
	var raws [][]byte
	for rows.Next() {
		var pk int64
		var id string
		var raw []byte
		if err := rows.Scan(&pk, &id, &raw); err != nil {
			return nil, fmt.Errorf("search backlog: %w", err)
		}
		entries = append(entries, searchEntry{pk: pk})
		ids, raws = append(ids, id), append(raws, raw)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search backlog: %w", err)
	}
	errs := make([]error, len(entries))
	parallel.For(len(entries), func(i int) {
		entries[i].vals, errs[i] = storedSearchValues(ids[i], raws[i])
	})
	for i, err := range errs {
		if err != nil {
			// The record is indexed by its id and the backlog goes on (a
			// failed transaction would be retried for ever).
			t.s.log.Warn("sqlstore: search backlog: attributes not indexed", "pk", entries[i].pk, "err", err)
		}
	}
	return entries, nil
}

// storedSearchValues is searchValues of id and the stored attributes
// raw (a JSON object, or empty). raw is the store's own JSON; should it
// not parse, the values are the id alone, with the error.
func storedSearchValues(id string, raw []byte) ([]string, error) {
	vals, err := parseSearchValues(id, raw)
	if err != nil {
		return []string{id}, err
	}
	return vals, nil
}

// parseSearchValues is storedSearchValues without the fallback.
func parseSearchValues(id string, raw []byte) ([]string, error) {
	c := newSearchCols(id)
	if len(raw) == 0 {
		return c.columns(), nil
	}
	dec := jsontext.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, fmt.Errorf("attributes are not a JSON object (%v)", err)
	}
	for dec.PeekKind() == '"' {
		if _, err := dec.ReadToken(); err != nil { // the name
			return nil, err
		}
		if dec.PeekKind() != '"' {
			if err := dec.SkipValue(); err != nil {
				return nil, err
			}
			continue
		}
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		c.add(tok.String())
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return nil, fmt.Errorf("attributes are not a JSON object (%v)", err)
	}
	return c.columns(), nil
}

// indexer runs the store's indexer goroutine, one at a time.
type indexer struct {
	ctx     context.Context // ends at Close
	cancel  context.CancelFunc
	running bool // a goroutine is indexing; guarded by Store.closeMu
	again   bool // a kick came while it ran; guarded by Store.closeMu
	done    chan struct{}
}

// kickIndexer starts the indexer unless it runs (then it looks once more
// when it is done), the store is closed, or it was opened with NoIndexer
// (SQLite only).
func (s *Store) kickIndexer() {
	if s.dialect.name() != "sqlite" || s.noIndexer {
		return
	}
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.isClosed {
		return
	}
	if s.idx.running {
		s.idx.again = true
		return
	}
	if s.idx.ctx == nil {
		s.idx.ctx, s.idx.cancel = context.WithCancel(context.Background())
	}
	s.idx.running, s.idx.again = true, false
	s.idx.done = make(chan struct{})
	go s.runIndexer(s.idx.ctx, s.idx.done)
}

// runIndexer writes the backlog until it is empty and no kick came
// meanwhile; it retries a failed transaction after a pause.
func (s *Store) runIndexer(ctx context.Context, done chan struct{}) {
	defer close(done)
	for {
		finished, err := s.indexBacklogOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn("sqlstore: search backlog", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		if finished {
			s.closeMu.Lock()
			if !s.idx.again {
				s.idx.running = false
				s.closeMu.Unlock()
				return
			}
			s.idx.again = false
			s.closeMu.Unlock()
		}
	}
}

// stopIndexer ends the indexer and waits for it (under closeMu, with the
// store marked closed).
func (s *Store) stopIndexer() {
	if s.idx.cancel == nil {
		return
	}
	s.idx.cancel()
	if done := s.idx.done; s.idx.running {
		s.closeMu.Unlock()
		<-done
		s.closeMu.Lock()
	}
}
