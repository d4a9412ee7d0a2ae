package sqlstore

import (
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
