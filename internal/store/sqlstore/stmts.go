package sqlstore

import (
	"container/list"
	"context"
	"database/sql"
	"sync"
)

// stmtCache holds the hot read statements (GetRecord, small GetRecords,
// TokenByHash, SessionByHash) prepared once for the read pool: database/sql
// prepares a *sql.Stmt lazily on each connection it runs on and keeps it
// there, so SQLite (modernc) no longer parses the query on every call, and
// PostgreSQL skips pgx's statement-cache lookup and describe round trip.
// Only a fixed, small set of query texts may go through it (it never
// forgets one). The zero value is ready to use; the statements die with the
// pool when the store closes.
type stmtCache struct {
	mu sync.Mutex // serializes preparation
	m  sync.Map   // query text (dialect placeholders) → *sql.Stmt
}

// prepared returns the statement for q on the read pool, preparing it on
// first use, or nil when it cannot be prepared now (the caller then runs q
// unprepared; the next call tries again).
func (s *Store) prepared(ctx context.Context, q string) *sql.Stmt {
	if st, ok := s.stmts.m.Load(q); ok {
		return st.(*sql.Stmt)
	}
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if st, ok := s.stmts.m.Load(q); ok {
		return st.(*sql.Stmt)
	}
	st, err := s.rdb.PrepareContext(ctx, q)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("sqlstore: prepare", "err", err)
		}
		return nil
	}
	s.stmts.m.Store(q, st)
	return st
}

// pointCtx is the context of a point read (a primary or unique key
// lookup) through readRow or readRows. On SQLite such a read takes
// microseconds and cancelling it is pointless, while a cancellable context
// costs two goroutines per query (database/sql's and the driver's
// watchers): it drops the cancellation. PostgreSQL keeps it, since its
// reads cross a network that may hang.
func (s *Store) pointCtx(ctx context.Context) context.Context {
	if s.dialect.cancelPointReads() || ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// readRow runs the one-row point read q (dialect placeholders) on the
// read pool as a prepared statement.
func (s *Store) readRow(ctx context.Context, q string, args ...any) *sql.Row {
	ctx = s.pointCtx(ctx)
	if st := s.prepared(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.rdb.QueryRowContext(ctx, q, args...)
}

// readRows runs the point read q (dialect placeholders; a handful of
// keys) on the read pool as a prepared statement.
func (s *Store) readRows(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx = s.pointCtx(ctx)
	if st := s.prepared(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.rdb.QueryContext(ctx, q, args...)
}

// listStmtCap bounds the list statements kept prepared. A list's SQL text
// depends on its shape (the user's branches, the number of accounts
// inlined, filters, sort), so there are many; the busy ones stay.
const listStmtCap = 256

// listStmts holds prepared list statements by SQL text, the least recently
// used dropped beyond listStmtCap. A statement evicted while a query runs
// on it is closed by database/sql once that query ends.
type listStmts struct {
	mu    sync.Mutex
	m     map[string]*list.Element // of *listStmt
	order list.List                // most recently used first
}

type listStmt struct {
	sql  string
	stmt *sql.Stmt
}

// queryList runs the list query q on the read pool through a cached
// prepared statement, preparing it on first use (without the cache when it
// cannot be prepared).
func (s *Store) queryList(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	c := &s.lists
	c.mu.Lock()
	if e, ok := c.m[q]; ok {
		c.order.MoveToFront(e)
		st := e.Value.(*listStmt).stmt
		c.mu.Unlock()
		return st.QueryContext(ctx, args...)
	}
	c.mu.Unlock()
	st, err := s.rdb.PrepareContext(ctx, q)
	if err != nil {
		return s.rdb.QueryContext(ctx, q, args...)
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*list.Element{}
	}
	if e, ok := c.m[q]; ok { // prepared meanwhile by another request
		c.mu.Unlock()
		st.Close()
		return e.Value.(*listStmt).stmt.QueryContext(ctx, args...)
	}
	c.m[q] = c.order.PushFront(&listStmt{sql: q, stmt: st})
	var evicted *sql.Stmt
	if c.order.Len() > listStmtCap {
		old := c.order.Remove(c.order.Back()).(*listStmt)
		delete(c.m, old.sql)
		evicted = old.stmt
	}
	c.mu.Unlock()
	if evicted != nil {
		evicted.Close()
	}
	return st.QueryContext(ctx, args...)
}
