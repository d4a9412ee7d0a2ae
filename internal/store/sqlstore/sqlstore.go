// Package sqlstore implements store.Store over database/sql, one code base
// for two databases: SQLite (modernc.org/sqlite, the embedded default) and
// PostgreSQL (jackc/pgx through its database/sql driver). What differs
// between them is one unexported interface, dialect, with two types,
// sqliteDialect and postgresDialect (dialect.go, listdialect.go:
// connections, placeholders, notifications, backups, list SQL fragments
// and plan hints), plus the per-dialect migration files; the method code
// never asks which database it runs on.
//
// # Consistency
//
// Every write runs in one transaction (Store.write) that first increments the
// one-row revision table, which also serializes writers: SQLite has a single
// writer connection whose transactions are BEGIN IMMEDIATE, and on PostgreSQL
// the UPDATE of the revision row holds its row lock until commit, so
// revisions commit in order and the audit hash chain has one tail. Changes to
// the access model append (revision, kind, key) rows to change_log. On
// PostgreSQL the transaction also sends pg_notify('portcullis', revision).
//
// The store keeps one attached store.Follower (the access engine, package
// follow) and its own caches (current policy, tokens and sessions) in step
// with the change log (catchUp): after commit, before the write method
// returns; inside a write transaction whose store.Write has a Check, after
// the revision bump and before the Check, reading through the transaction
// itself up to the revision before its own; and whenever CatchUp or
// WaitRevision runs (the follower's goroutine calls CatchUp on every
// notification, WaitForChange, and poll).
//
// # Lock order
//
// A writer holds, in this order: a write-pool connection, the writer lock
// (SQLite: the one writer connection and BEGIN IMMEDIATE; PostgreSQL: the
// revision row lock), then applyMu while it catches up for its Check, then
// the engine's own lock inside Follower.Apply. A catch-up outside a write
// holds applyMu and then a read-pool connection. Nothing holding applyMu
// ever asks for a write-pool connection or the writer lock, and the read
// pool never shares connections with the write pool (":memory:" is a
// private temporary file, not a shared-cache memory database whose reads
// would need the writer's connection; PostgreSQL has two pools), so a
// catch-up can always finish while writers queue behind the one it waits
// for.
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
// placeholders, and rev, the transaction's new revision); record writes
// name their records in change_log (wtx.recordChanged) for the head cache
// only, since the access model holds no records. Store.read is the
// read pool, Store.rebind turns ? into the dialect's placeholders, and
// Store.dialect renders whatever else differs (dialect.go).
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Store is the SQL implementation of store.Store. It is safe for concurrent
// use. Create it with Open and release it with Close.
type Store struct {
	dialect dialect
	// auditKey keys the audit chain (Options.AuditKey); nil for none.
	auditKey []byte
	// noIndexer is Options.NoIndexer.
	noIndexer bool
	// db is the write connection pool: on SQLite exactly one connection
	// whose transactions are BEGIN IMMEDIATE; on PostgreSQL a pool.
	db *sql.DB
	// rdb is the read pool, which never shares a connection with db: on
	// SQLite query_only connections, on PostgreSQL a second pool.
	rdb   *sql.DB
	clock func() time.Time
	log   *slog.Logger

	// applyMu serializes catch-up and guards follower; applied is the
	// newest revision the follower and the caches reflect, readable
	// without the lock.
	applyMu  sync.Mutex
	follower store.Follower
	applied  atomic.Int64
	// current is the compiled policy of the applied revision.
	current atomic.Pointer[policy.Policy]

	// policies caches compiled policy versions by version number
	// (version 0 is the built-in default). Guarded by polMu.
	polMu    sync.Mutex
	policies map[int]cachedPolicy

	// auth caches tokens and sessions by hash (authcache.go); stmts holds
	// the hot read statements prepared once for the read pool (stmts.go).
	auth  authCache
	stmts stmtCache
	// heads caches record heads for decisions (headcache.go);
	// recordPrune is when writes prune the record rows of change_log
	// (recordChangesKept, recordChangesPruneEvery; smaller in tests).
	heads       headCache
	recordPrune struct{ every, kept int64 }
	// teams is the set of principals with team entries, which lists seek
	// alone (teamprincipals.go).
	teams teamPrincipals
	// searchCap is the candidate cap of the search index (searchindex.go):
	// 0 for searchCandidateCap, below 0 to switch the index off (tests).
	searchCap int
	lists     listStmts // the list statements, prepared once per SQL text (stmts.go)
	// idx writes the search backlog behind the writes (searchbacklog.go).
	idx indexer
	// ckpt copies the SQLite WAL into the database behind the writes
	// (checkpoint.go).
	ckpt checkpointer

	closeMu  sync.Mutex
	isClosed bool
}

// setPolicy makes p the current policy.
func (s *Store) setPolicy(p *policy.Policy) { s.current.Store(p) }

// policyNow returns the current policy.
func (s *Store) policyNow() *policy.Policy { return s.current.Load() }

var _ store.Store = (*Store)(nil)

// Options configure Open.
type Options struct {
	// Clock returns the current time; nil means time.Now. Tests inject a
	// fixed clock (and give the engine the same one).
	Clock func() time.Time
	// Logger receives catch-up's problems; nil means slog.Default().
	Logger *slog.Logger
	// AuditKey, when set (--audit-key), chains every audit entry this
	// store writes with HMAC-SHA256 under it, and VerifyAudit checks those
	// entries with it (audit.go). It is a secret kept outside the
	// database.
	AuditKey []byte
	// NoIndexer keeps the SQLite search index's indexer from running
	// behind the writes (searchbacklog.go): a one-shot command writes the
	// backlog it leaves itself, with IndexSearchBacklog, instead of
	// leaving an indexer to be stopped mid-way at Close.
	NoIndexer bool
}

// IsPostgres reports whether dsn selects PostgreSQL ("postgres://" or
// "postgresql://"); anything else is a SQLite file path.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to the database dsn names, applies pending migrations and
// loads the current policy. dsn "postgres://..." or "postgresql://..."
// selects PostgreSQL; anything else is a SQLite file path, ":memory:" a
// private temporary database removed on Close (for tests). Attach a
// follower (package follow) to keep an access engine in step; the store's
// only goroutines are SQLite's: the search index's indexer
// (searchbacklog.go) and the checkpointer (checkpoint.go), which Close
// stops.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	s := &Store{clock: opts.Clock, log: opts.Logger, policies: map[int]cachedPolicy{}, auditKey: opts.AuditKey, noIndexer: opts.NoIndexer}
	s.recordPrune.every, s.recordPrune.kept = recordChangesPruneEvery, recordChangesKept
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
	if err := s.dialect.tune(ctx, s.db); err != nil {
		s.log.Warn("sqlstore: tune", "db", s.dialect.redacted(), "err", err)
	}
	s.setPolicy(policy.Default())
	s.teams.start(s.loadTeamPrincipals)
	if err := s.reload(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	s.kickIndexer() // a backlog another node left
	s.startCheckpointer()
	return s, nil
}

// connect opens the database handles for dsn.
func (s *Store) connect(dsn string) error {
	s.dialect = newDialect(dsn)
	db, rdb, err := s.dialect.open()
	if err != nil {
		return err
	}
	s.db, s.rdb = db, rdb
	return nil
}

func (s *Store) closeDBs() error {
	return errors.Join(s.rdb.Close(), s.db.Close(), s.dialect.close())
}

// Close closes the database (and removes the temporary file of
// ":memory:"). Stop the attached follower first. It is safe to call more
// than once.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.isClosed {
		return nil
	}
	s.isClosed = true
	s.stopIndexer()
	s.stopCheckpointer()
	s.teams.stop()
	return s.closeDBs()
}

// Backup writes a consistent copy of the database to path, which must not
// exist yet: on SQLite with VACUUM INTO; on PostgreSQL it fails with
// CodeInvalid (use pg_dump).
func (s *Store) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return access.Errorf(access.CodeInvalid, "%s exists; choose a new file", path)
	}
	if err := s.dialect.backup(ctx, s.db, path); err != nil {
		var ae *access.Error
		if errors.As(err, &ae) {
			return err
		}
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Ping reports whether the database is reachable and every embedded
// migration has been applied (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.MigrationsCurrent(ctx) }

// Collectors returns Prometheus collectors of the connection pools'
// statistics (db_name "portcullis" for the write pool, the name it always
// had, and "portcullis_read" for the read pool) and of the record head
// cache (headcache.go).
func (s *Store) Collectors() []prometheus.Collector {
	return append([]prometheus.Collector{
		collectors.NewDBStatsCollector(s.db, "portcullis"),
		collectors.NewDBStatsCollector(s.rdb, "portcullis_read"),
	}, s.heads.collectors()...)
}

// rebind turns the ? placeholders of q into the dialect's.
func (s *Store) rebind(q string) string { return s.dialect.rebind(q) }

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
	conn  *sql.Conn // tx's connection
	ctx   context.Context
	rev   int64              // the revision this transaction commits (0 for Log)
	now   time.Time          // the store clock at the start, truncated to µs
	audit []store.AuditEntry // entries to append at commit
	actor string             // the write's audit actor (store.Write.Actor)
	by    string             // the write's created_by (store.Write.Creator)
	pfx   string             // put before every audit action (store.Write.AuditPrefix)
	chg   bool               // a change_log row was written
	// recs are the records this transaction writes, for change_log rows
	// of kind record (recordChanged); recsAll replaces them when there
	// are more than changeRecordsMax.
	recs    []access.Ref
	recsAll bool
	// review is the access review whose closing makes this transaction's
	// revocations (store.ReviewStore.CloseReview): their audit entries
	// name it.
	review string
	// joined is set when a write inside an Atomic scope wrote something.
	joined bool
	// indexesDeferred is set while an import has dropped the secondary
	// indexes of records (deferredIndexes).
	indexesDeferred bool
	// searchStaged is set while the search index's entries go to a
	// temporary table (stageSearch).
	searchStaged bool
	// allNew is set while LoadRecords writes records that cannot exist
	// (into an empty table, no (type, id) twice): upsertRecords skips
	// the lookup of stored records, and a row that exists after all
	// fails the insert's count check.
	allNew bool
	// unstored is set while ImportRecords writes a chunk whose records
	// cannot be stored: their types held no record when the import
	// began, and an import names each (type, id) once. upsertRecords
	// skips the lookup then too, but unlike allNew the search entries
	// of a large chunk still go to the backlog.
	unstored bool
	// q runs the transaction's exec, queryRow and reader queries.
	q *txStmts
	// backlog is the search index's backlog as this transaction sees it,
	// once backlogRead; backlogAdded is set when it added keys
	// (searchbacklog.go).
	backlog                   []pkRange
	backlogRead, backlogAdded bool
}

func (t *wtx) exec(q string, args ...any) (sql.Result, error) {
	return t.q.ExecContext(t.ctx, t.s.rebind(q), args...)
}

func (t *wtx) queryRow(q string, args ...any) *sql.Row {
	return t.q.QueryRowContext(t.ctx, t.s.rebind(q), args...)
}

// txStmts is a write transaction's queryer that prepares an exec or
// single-row query text the second time the transaction runs it and reuses the statement from then
// on (it dies with the transaction). A one-entity write runs each of its
// statements once and pays nothing; a bulk write in one transaction (an
// Atomic scope of thousands of accounts, users or grants, an import)
// stops parsing the same few statements again for every entity, which was
// a third of its CPU time on SQLite.
type txStmts struct {
	tx   *sql.Tx
	seen map[string]*sql.Stmt // a nil value: run once, not prepared
}

// stmt returns the prepared statement for q, or nil to run q unprepared.
func (c *txStmts) stmt(ctx context.Context, q string) *sql.Stmt {
	st, ok := c.seen[q]
	if !ok {
		if c.seen == nil {
			c.seen = map[string]*sql.Stmt{}
		}
		c.seen[q] = nil
		return nil
	}
	if st == nil {
		var err error
		if st, err = c.tx.PrepareContext(ctx, q); err != nil {
			return nil // the query reports its own error unprepared
		}
		c.seen[q] = st
	}
	return st
}

func (c *txStmts) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.tx.ExecContext(ctx, q, args...)
}

// QueryContext runs q unprepared: a prepared SQLite statement serves one
// cursor at a time, and a caller may run the same query again while
// iterating its rows (a tree walk). Exec and QueryRow finish with the call
// (a Row is scanned at once), so they may share one statement.
func (c *txStmts) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.tx.QueryContext(ctx, q, args...)
}

func (c *txStmts) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.tx.QueryRowContext(ctx, q, args...)
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

// changeRecordsMax is the most records a transaction names in change_log
// one by one (kind record, key "<type>/<id>"); a transaction that writes
// more appends one row of kind records (key "*") instead, so an import
// adds one row, not one per record. Catch-up drops the named records from
// the head cache, or empties it for "*" (headcache.go).
const changeRecordsMax = 100

// The record rows of change_log (and the norecords rows) serve only the
// head cache and are pruned:
// every recordChangesPruneEvery revisions a write deletes those older
// than recordChangesKept revisions. A node further behind meets revisions
// without rows, which empty its head cache (invalidateHeads): it loses
// hits, never correctness.
const (
	recordChangesKept       = 10_000
	recordChangesPruneEvery = 1_000
)

// recordChanged notes that the transaction writes the record typ/id.
func (t *wtx) recordChanged(typ, id string) {
	switch {
	case t.recsAll:
	case len(t.recs) >= changeRecordsMax:
		t.recs, t.recsAll = nil, true
	default:
		t.recs = append(t.recs, access.Ref{Type: typ, ID: id})
	}
}

// logRecords appends the change_log rows of the records noted by
// recordChanged, or one row of kind norecords for a revision that writes
// no records and names nothing else: a revision without any row is one
// that an older binary wrote, and empties the head cache.
func (t *wtx) logRecords() error {
	switch {
	case t.recsAll:
		return t.change(changeAllRecords, "*")
	case len(t.recs) == 0 && !t.chg:
		return t.change(changeNoRecords, "")
	}
	for _, ref := range t.recs {
		if err := t.change(changeRecord, recordChangeKey(ref)); err != nil {
			return err
		}
	}
	return nil
}

// change appends a change_log row: the entity kind/key changed in this
// transaction. Kinds are the access model's account, user, group, member
// (key "<group>/<user>"), grant and policy (key "current"), the
// revocations of revision.go, and record and records (recordChanged).
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
	e := store.AuditEntry{Time: t.now, Actor: actor, Action: t.pfx + action, Target: target}
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
// (serializing writers, see the package comment), runs w.Check against the
// caught-up follower, appends fn's queued audit entries to the chain,
// notifies other nodes, commits, and catches the follower up before
// returning the new revision. When fn returns errNoop nothing is written
// and the current revision is returned.
func (s *Store) write(ctx context.Context, w store.Write, fn func(t *wtx) error) (int64, error) {
	return s.runTx(ctx, w, true, fn)
}

func (s *Store) runTx(ctx context.Context, w store.Write, bump bool, fn func(t *wtx) error) (int64, error) {
	if outer, ok := ctx.Value(atomicKey{}).(*wtx); ok && outer.s == s {
		return outer.join(w, fn)
	}
	// The transaction runs on a connection of its own so that a bulk
	// write can reach the driver's connection (PostgreSQL's COPY) inside
	// it.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	t := &wtx{s: s, tx: tx, conn: conn, ctx: ctx, now: s.now(), actor: w.Actor, by: w.Creator(), pfx: w.AuditPrefix, q: &txStmts{tx: tx}}
	if bump {
		err = t.queryRow(`UPDATE revision SET rev = rev + 1 WHERE id = 1 RETURNING rev`).Scan(&t.rev)
	} else if q := s.dialect.lockRevision(); q != "" {
		err = t.queryRow(q).Scan(&t.rev)
	}
	if err != nil {
		return 0, fmt.Errorf("bump revision: %w", err)
	}
	if w.Check != nil {
		if !bump {
			return 0, errors.New("sqlstore: a Check needs a revision-bumping write")
		}
		// Every revision before ours is committed and no other can commit
		// until we do: bring the follower to rev-1, through this
		// transaction, and check.
		if err := s.catchUpTx(t, t.rev-1); err != nil {
			return 0, err
		}
		if err := w.Check(); err != nil {
			return 0, err
		}
	}
	if err := fn(t); err != nil {
		if errors.Is(err, errNoop) {
			tx.Rollback()
			return s.currentRevision(ctx)
		}
		return 0, err
	}
	if bump {
		// Only a new revision can name records for other nodes.
		if err := t.logRecords(); err != nil {
			return 0, err
		}
	}
	if bump && t.rev%s.recordPrune.every == 0 {
		if _, err := t.exec(`DELETE FROM change_log WHERE revision < ? AND kind IN (?, ?, ?)`, t.rev-s.recordPrune.kept, changeRecord, changeAllRecords, changeNoRecords); err != nil {
			return 0, fmt.Errorf("prune change log: %w", err)
		}
	}
	if err := t.appendMail(w.Mail); err != nil {
		return 0, err
	}
	if err := t.appendAudit(); err != nil {
		return 0, err
	}
	if bump {
		if err := s.dialect.notify(t, t.rev); err != nil {
			return 0, fmt.Errorf("notify: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	s.kickCheckpointer()
	if t.backlogAdded {
		s.kickIndexer()
	}
	if bump {
		// The write is acknowledged: catch up even if ctx ends now, so the
		// follower reflects it before the method returns.
		if err := s.catchUp(context.WithoutCancel(ctx)); err != nil {
			// The write is committed; the next catch-up retries.
			s.log.Error("sqlstore: catch up after write", "revision", t.rev, "err", err)
		}
	}
	return t.rev, nil
}

// atomicKey is the context key of an Atomic scope's transaction.
type atomicKey struct{}

// Atomic runs fn with a context in which every write of this store joins
// one transaction, at one revision: all of fn's writes commit together
// when fn returns nil, and none when it returns an error (w.Check is
// checked once, first; each write's own Check when it joins). Reads inside
// fn see the state before the scope. Imports use it to make a file all or
// nothing. No write of another store may run inside fn.
func (s *Store) Atomic(ctx context.Context, w store.Write, fn func(ctx context.Context) error) (int64, error) {
	if _, ok := ctx.Value(atomicKey{}).(*wtx); ok {
		return 0, errors.New("sqlstore: Atomic scopes do not nest")
	}
	return s.write(ctx, w, func(t *wtx) error {
		if err := fn(context.WithValue(ctx, atomicKey{}, t)); err != nil {
			return err
		}
		if !t.joined {
			return errNoop // nothing changed: no revision
		}
		return nil
	})
}

// join runs a write inside the Atomic scope of t: with the write's own
// actor and creator, and its Check against the engine as it was when the
// scope began. A write with nothing to change (errNoop) changes nothing.
func (t *wtx) join(w store.Write, fn func(t *wtx) error) (int64, error) {
	if w.Check != nil {
		if err := w.Check(); err != nil {
			return 0, err
		}
	}
	actor, by, pfx := t.actor, t.by, t.pfx
	t.actor, t.by, t.pfx = w.Actor, w.Creator(), w.AuditPrefix
	defer func() { t.actor, t.by, t.pfx = actor, by, pfx }()
	if err := fn(t); err != nil {
		if errors.Is(err, errNoop) {
			return t.rev, nil
		}
		return 0, err
	}
	if err := t.appendMail(w.Mail); err != nil {
		return 0, err
	}
	t.joined = true
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
func (t *wtx) reader() reader { return reader{s: t.s, q: t.q, ctx: t.ctx} }

// pool returns a reader on the read pool.
func (s *Store) pool(ctx context.Context) reader { return reader{s: s, q: s.rdb, ctx: ctx} }

// Backend names the database: "sqlite" or "postgres" (for reports).
func (s *Store) Backend() string { return s.dialect.name() }

// benchMetaTable is the benchmark's key-value table (package bench).
const benchMetaTable = `CREATE TABLE IF NOT EXISTS bench_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`

// SetBenchMeta stores the benchmark dataset's description (package bench),
// creating its table when missing. It is for the benchmark only, not part
// of store.Store, and bypasses the revision, the change log and the audit
// log: the description is no data of the access model.
func (s *Store) SetBenchMeta(ctx context.Context, value string) error {
	if _, err := s.db.ExecContext(ctx, benchMetaTable); err != nil {
		return fmt.Errorf("create bench_meta: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO bench_meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`), "dataset", value); err != nil {
		return fmt.Errorf("save bench_meta: %w", err)
	}
	return nil
}

// BenchMeta returns what SetBenchMeta stored, or a not_found error.
func (s *Store) BenchMeta(ctx context.Context) (string, error) {
	var v string
	err := s.queryRow(ctx, `SELECT value FROM bench_meta WHERE key = ?`, "dataset").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("no bench dataset in this database")
	}
	if err != nil {
		return "", notFound("no bench dataset in this database (%v)", err)
	}
	return v, nil
}

// pageByID reads one page of a list in id order (the keyset every
// id-ordered list shares): SELECT columns FROM table where the conditions
// of where (their arguments in args) hold and id is after cursor's, at
// most n items, and the next page's cursor ("" on the last page). scan
// reads a row, id names an item; what names the list in errors. The
// result is never nil.
func pageByID[T any](ctx context.Context, s *Store, what, columns, table string, where []string, args []any,
	cursor string, n int, scan func(rowScanner) (T, error), id func(T) string) ([]T, string, error) {
	if cursor != "" {
		after, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		where, args = append(where, "id > ?"), append(args, after)
	}
	q := `SELECT ` + columns + ` FROM ` + table
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.query(ctx, q+" ORDER BY id LIMIT ?", append(args, n+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list %s: %w", what, err)
		}
		out = append(out, item)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list %s: %w", what, err)
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		next = encodeCursor(id(out[n-1]))
	}
	return out, next, nil
}
