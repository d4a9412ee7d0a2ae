// Package sqlstore implements store.Store over database/sql, one code base
// for two databases: SQLite (modernc.org/sqlite, the embedded default) and
// PostgreSQL (jackc/pgx through its database/sql driver). What differs
// between them is isolated in dialect (placeholders, column types in the
// migrations, notifications); the SQL the methods send is otherwise the same.
//
// # Consistency
//
// Every write runs in one transaction (Store.write) that first increments the
// one-row revision table, which also serializes writers: SQLite has a single
// writer connection whose transactions are BEGIN IMMEDIATE, and on PostgreSQL
// the UPDATE of the revision row holds its row lock until commit, so
// revisions commit in order and the audit hash chain has one tail. Changes to
// the access model append (revision, kind, key) rows to change_log; after
// commit the store catches its access engine up from the change log (catchUp)
// before the write method returns. On PostgreSQL the transaction also sends
// pg_notify('portcullis', revision), and a follower goroutine, listening on a
// dedicated connection and polling every 250 ms, runs the same catch-up so
// other nodes see a change within a second. WaitRevision polls the change log
// itself, so a min_revision request never depends on a notification.
//
// # Storage conventions
//
// Instants are stored as BIGINT microseconds since the Unix epoch (UTC) on
// both databases: exact, comparable in SQL and free of time-zone and
// text-format differences (see toMicros, fromMicros). Booleans are BOOLEAN on
// PostgreSQL and INTEGER 0/1 on SQLite; database/sql converts both to bool.
// JSON documents are JSONB on PostgreSQL and TEXT on SQLite, except the audit
// log's before/after, which are TEXT on both because the hash chain commits
// to their exact bytes (JSONB would re-encode them).
//
// # Helpers for the record files of this package
//
// Store.write runs a write transaction (wtx: exec, query, queryRow with ?
// placeholders, and rev, the transaction's new revision); record writes do
// not add change_log rows, they only bump the revision. Store.read is the
// read pool, Store.rebind turns ? into the dialect's placeholders, and
// Store.pg says whether the database is PostgreSQL.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Store is the SQL implementation of store.Store. It is safe for concurrent
// use. Create it with Open and release it with Close.
type Store struct {
	dialect dialect
	dsn     string // the PostgreSQL DSN, for the follower's own connection
	// db is the write connection pool: on SQLite exactly one connection
	// whose transactions are BEGIN IMMEDIATE; on PostgreSQL a pool.
	db *sql.DB
	// rdb is the read pool: on SQLite separate query_only connections
	// (the same pool as db for an in-memory database); on PostgreSQL db.
	rdb   *sql.DB
	eng   *access.Engine
	clock func() time.Time
	log   *slog.Logger

	// applyMu serializes catchUp; applied is the newest revision the
	// engine reflects, readable without the lock.
	applyMu sync.Mutex
	applied atomic.Int64

	// policies caches compiled policy versions by version number
	// (version 0 is the built-in default). Guarded by polMu.
	polMu    sync.Mutex
	policies map[int]cachedPolicy

	// auth caches tokens and sessions by hash (authcache.go); stmts holds
	// the hot read statements prepared once for the read pool (stmts.go).
	auth  authCache
	stmts stmtCache

	stop     context.CancelFunc // stops the follower
	done     chan struct{}      // closed when the follower has returned
	closeMu  sync.Mutex
	isClosed bool
}

var _ store.Store = (*Store)(nil)

// Options configure Open.
type Options struct {
	// Clock returns the current time; nil means time.Now. Tests inject a
	// fixed clock. The engine uses it too.
	Clock func() time.Time
	// Logger receives the follower's and catch-up's problems; nil means
	// slog.Default().
	Logger *slog.Logger
	// PollInterval is how often the follower polls the revision besides
	// listening for notifications; zero means 250 ms.
	PollInterval time.Duration
}

// IsPostgres reports whether dsn selects PostgreSQL ("postgres://" or
// "postgresql://"); anything else is a SQLite file path.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to the database dsn names, applies pending migrations, loads
// the access engine (the newest stored policy, else policy.Default(), and
// every account, user, group, membership and grant) and starts following
// other nodes' changes. dsn "postgres://..." or "postgresql://..." selects
// PostgreSQL; anything else is a SQLite file path, ":memory:" a private
// in-memory database (for tests).
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	s := &Store{dsn: dsn, clock: opts.Clock, log: opts.Logger, policies: map[int]cachedPolicy{}}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.connect(dsn); err != nil {
		return nil, err
	}
	if err := migrate(ctx, s.db, s.dialect); err != nil {
		s.closeDBs()
		return nil, err
	}
	if !s.dialect.pg {
		// Refresh the planner's statistics where they are missing or stale
		// (a bounded, approximate ANALYZE: cheap even on large files). The
		// list queries pin their indexes anyway; this serves the rest.
		if _, err := s.db.ExecContext(ctx, "PRAGMA analysis_limit=1000; PRAGMA optimize=0x10002"); err != nil {
			s.log.Warn("sqlite optimize", "err", err)
		}
	}
	s.eng = access.NewEngine(policy.Default(), s.clock)
	if err := s.reload(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	interval := opts.PollInterval
	if interval <= 0 {
		interval = 250 * time.Millisecond
	}
	fctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan struct{})
	go s.follow(fctx, interval)
	return s, nil
}

// connect opens the database handles for dsn.
func (s *Store) connect(dsn string) error {
	if IsPostgres(dsn) {
		s.dialect = dialect{pg: true}
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(10)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s.db, s.rdb = db, db
		return nil
	}
	const pragmas = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	if dsn == ":memory:" {
		// A named shared-cache memory database, unique to this Store, that
		// lives as long as its one connection. Reads share the writer
		// connection: several shared-cache connections would meet table
		// locks that busy_timeout does not wait for.
		name := "portcullis-" + randomID(10)
		db, err := sql.Open("sqlite", "file:"+name+"?mode=memory&cache=shared&_txlock=immediate&"+pragmas)
		if err != nil {
			return fmt.Errorf("open sqlite: %w", err)
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		s.db, s.rdb = db, db
		return nil
	}
	path := strings.TrimPrefix(dsn, "sqlite://")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	// The writer's page cache is 64 MiB instead of 2 MiB: a batch of
	// 10,000 records dirties thousands of index pages, which with the
	// default the writer spilled and read back mid-transaction (the SQL
	// of a batch measured about a third less CPU with the larger cache).
	// It checkpoints every 10,000 WAL pages (40 MiB) instead of 1,000, so
	// that the index pages consecutive batches rewrite are copied into
	// the database once rather than once a batch (9% more records per
	// CPU second).
	const writer = "&_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint(10000)"
	wdb, err := sql.Open("sqlite", path+sep+"_txlock=immediate&_pragma=journal_mode(WAL)&"+pragmas+writer)
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	// Connecting the writer first switches the file to WAL before readers
	// open it.
	if err := wdb.Ping(); err != nil {
		wdb.Close()
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	rdb, err := sql.Open("sqlite", path+sep+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		wdb.Close()
		return fmt.Errorf("open sqlite: %w", err)
	}
	rdb.SetMaxOpenConns(4)
	rdb.SetMaxIdleConns(4)
	s.db, s.rdb = wdb, rdb
	return nil
}

func (s *Store) closeDBs() {
	if s.rdb != s.db {
		s.rdb.Close()
	}
	s.db.Close()
}

// Close stops the follower and closes the database. It is safe to call more
// than once.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.isClosed {
		return nil
	}
	s.isClosed = true
	s.stop()
	<-s.done
	var err error
	if s.rdb != s.db {
		err = s.rdb.Close()
	}
	return errors.Join(err, s.db.Close())
}

// Engine returns the access engine kept in step with the database.
func (s *Store) Engine() *access.Engine { return s.eng }

// Ping reports whether the database is reachable and every embedded
// migration has been applied (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.MigrationsCurrent(ctx) }

// DB returns the write handle, for tools (backup, tests) that need raw SQL.
// Writes through it bypass the revision, change log and audit log.
func (s *Store) DB() *sql.DB { return s.db }

// Postgres reports whether the store runs on PostgreSQL.
func (s *Store) Postgres() bool { return s.dialect.pg }

// dialect holds what differs between SQLite and PostgreSQL at run time. The
// schema differences live in the per-dialect migration files.
type dialect struct {
	pg bool
}

// pg reports whether the database is PostgreSQL.
func (s *Store) pg() bool { return s.dialect.pg }

// rebind turns the ? placeholders of q into the dialect's: $1, $2... on
// PostgreSQL. A ? inside a quoted string literal is left alone.
func (s *Store) rebind(q string) string { return s.dialect.rebind(q) }

func (d dialect) rebind(q string) string {
	if !d.pg || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
			b.WriteByte(c)
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// read returns the read pool. Queries on it see committed data only.
func (s *Store) read() *sql.DB { return s.rdb }

// queryRow runs a one-row query on the read pool, rebinding placeholders.
func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.rdb.QueryRowContext(ctx, s.rebind(q), args...)
}

// query runs a query on the read pool, rebinding placeholders.
func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.rdb.QueryContext(ctx, s.rebind(q), args...)
}

// wtx is a write transaction of Store.write. Its methods take ?
// placeholders.
type wtx struct {
	s     *Store
	tx    *sql.Tx
	ctx   context.Context
	rev   int64     // the revision this transaction commits (0 for Log)
	now   time.Time // the store clock at the start, truncated to µs
	noop  bool
	audit []store.AuditEntry // entries to append at commit
	chg   bool               // a change_log row was written
}

func (t *wtx) exec(q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, t.s.rebind(q), args...)
}

func (t *wtx) query(q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(t.ctx, t.s.rebind(q), args...)
}

func (t *wtx) queryRow(q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(t.ctx, t.s.rebind(q), args...)
}

// exists reports whether q returns a row.
func (t *wtx) exists(q string, args ...any) (bool, error) {
	var one int
	err := t.queryRow(q, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// change appends a change_log row: the access-model entity kind/key changed
// in this transaction. Kinds are account, user, group, member (key
// "<group>/<user>"), grant and policy (key "current").
func (t *wtx) change(kind, key string) error {
	_, err := t.exec(`INSERT INTO change_log (revision, kind, key) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, t.rev, kind, key)
	if err != nil {
		return fmt.Errorf("append change log: %w", err)
	}
	t.chg = true
	return nil
}

// logf queues an audit entry for this transaction; before and after are
// marshalled to JSON (nil stays absent).
func (t *wtx) logf(actor, action, target string, before, after any) error {
	e := store.AuditEntry{Time: t.now, Actor: actor, Action: action, Target: target}
	var err error
	if e.Before, err = marshalAudit(before); err != nil {
		return err
	}
	if e.After, err = marshalAudit(after); err != nil {
		return err
	}
	t.audit = append(t.audit, e)
	return nil
}

// errNoop, returned by a write function, rolls the transaction back and makes
// write return the current revision: nothing changed.
var errNoop = errors.New("no change")

// write runs fn in a write transaction that increments the revision first
// (serializing writers, see the package comment), appends fn's queued audit
// entries to the chain, notifies other nodes on PostgreSQL, commits, and
// catches the engine up before returning the new revision. When fn returns
// errNoop nothing is written and the current revision is returned.
func (s *Store) write(ctx context.Context, fn func(t *wtx) error) (int64, error) {
	return s.runTx(ctx, true, fn)
}

func (s *Store) runTx(ctx context.Context, bump bool, fn func(t *wtx) error) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	t := &wtx{s: s, tx: tx, ctx: ctx, now: s.now()}
	if bump {
		err = t.queryRow(`UPDATE revision SET rev = rev + 1 WHERE id = 1 RETURNING rev`).Scan(&t.rev)
	} else if s.pg() {
		// Log does not change the revision but must still queue behind
		// writers for the tail of the audit chain.
		err = t.queryRow(`SELECT rev FROM revision WHERE id = 1 FOR UPDATE`).Scan(&t.rev)
	}
	if err != nil {
		return 0, fmt.Errorf("bump revision: %w", err)
	}
	if err := fn(t); err != nil {
		if errors.Is(err, errNoop) {
			tx.Rollback()
			return s.currentRevision(ctx)
		}
		return 0, err
	}
	if err := t.appendAudit(); err != nil {
		return 0, err
	}
	if bump && s.pg() {
		if _, err := t.exec(`SELECT pg_notify('portcullis', ?)`, strconv.FormatInt(t.rev, 10)); err != nil {
			return 0, fmt.Errorf("notify: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	if bump {
		// The write is acknowledged: catch up even if ctx ends now, so the
		// engine reflects it before the method returns.
		if err := s.catchUp(context.WithoutCancel(ctx)); err != nil {
			// The write is committed; the follower retries the catch-up.
			s.log.Error("sqlstore: catch up after write", "revision", t.rev, "err", err)
		}
	}
	return t.rev, nil
}

// currentRevision reads the committed revision.
func (s *Store) currentRevision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.queryRow(ctx, `SELECT rev FROM revision WHERE id = 1`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	return rev, nil
}

// now returns the store clock truncated to the microsecond, the precision
// instants are stored with.
func (s *Store) now() time.Time { return s.clock().UTC().Truncate(time.Microsecond) }

// toMicros converts an instant to its stored form.
func toMicros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts a stored instant back, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros converts an optional instant to its stored form.
func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// ptrMicros converts an optional stored instant back.
func ptrMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// nullString stores "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// randomID returns n random characters of [a-z2-7].
func randomID(n int) string {
	b := make([]byte, (n*5+7)/8)
	rand.Read(b)
	return idEncoding.EncodeToString(b)[:n]
}

// notFound returns a not_found error.
func notFound(format string, args ...any) error {
	return access.Errorf(access.CodeNotFound, format, args...)
}

// invalid returns an invalid error.
func invalid(format string, args ...any) error {
	return access.Errorf(access.CodeInvalid, format, args...)
}

// conflict returns a conflict error.
func conflict(format string, args ...any) error {
	return access.Errorf(access.CodeConflict, format, args...)
}

// limit returns the page size for a requested limit.
func limit(n int) int {
	switch {
	case n <= 0:
		return store.DefaultListLimit
	case n > store.MaxListLimit:
		return store.MaxListLimit
	}
	return n
}

// escapeLike escapes LIKE wildcards; queries use ESCAPE '\'.
func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// placeholders returns "?, ?, ..." for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// urlRedacted returns dsn without its password, for logs.
func urlRedacted(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres"
	}
	return u.Redacted()
}

// queryer is what reader needs: *sql.DB and *sql.Tx both are.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader runs the model's read queries on a pool or inside a transaction,
// so that Get methods, write validation and catch-up share them.
type reader struct {
	s   *Store
	q   queryer
	ctx context.Context
}

func (r reader) query(q string, args ...any) (*sql.Rows, error) {
	return r.q.QueryContext(r.ctx, r.s.rebind(q), args...)
}

func (r reader) queryRow(q string, args ...any) *sql.Row {
	return r.q.QueryRowContext(r.ctx, r.s.rebind(q), args...)
}

// strings returns the first column of every row of q.
func (r reader) strings(q string, args ...any) ([]string, error) {
	rows, err := r.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// reader returns a reader inside the write transaction.
func (t *wtx) reader() reader { return reader{s: t.s, q: t.tx, ctx: t.ctx} }

// pool returns a reader on the read pool.
func (s *Store) pool(ctx context.Context) reader { return reader{s: s, q: s.rdb, ctx: ctx} }
