package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// dialect is what differs between SQLite and PostgreSQL at run time:
// connecting, placeholders, revision locking, notifications, backups and
// the SQL fragments of the list queries (list.go). The schema differences
// live in the per-dialect migration files. sqliteDialect and
// postgresDialect implement it; the method code of the store never asks
// which one it has.
type dialect interface {
	// name is "sqlite" or "postgres"; it is also the directory of the
	// dialect's migrations.
	name() string
	// open connects: the write pool and the read pool, which never share
	// connections (see the lock order in the package comment).
	open() (db, rdb *sql.DB, err error)
	// close releases what open and waitForChange hold besides the pools.
	close() error
	// rebind turns the ? placeholders of q into the dialect's.
	rebind(q string) string
	// lockRevision is the statement a transaction that does not bump the
	// revision runs to queue behind writers ("" when the write pool's one
	// connection already serializes them).
	lockRevision() string
	// notify tells other nodes, inside the write transaction, that rev
	// commits.
	notify(t *wtx, rev int64) error
	// waitForChange blocks until another node may have committed or ctx
	// ends (store.ChangeStore.WaitForChange).
	waitForChange(ctx context.Context) error
	// readTxOptions are the options of a read transaction that sees one
	// consistent snapshot.
	readTxOptions() *sql.TxOptions
	// lockMigrations keeps other processes from migrating until unlock.
	lockMigrations(ctx context.Context, conn *sql.Conn) (unlock func(), err error)
	// tune runs after migrations (SQLite refreshes planner statistics).
	tune(ctx context.Context, db *sql.DB) error
	// backup writes a consistent copy of the database to path.
	backup(ctx context.Context, db *sql.DB, path string) error
	// cancelPointReads reports whether point reads keep their context's
	// cancellation (see Store.pointCtx).
	cancelPointReads() bool
	// redacted is the database's name for logs, without a password.
	redacted() string

	listDialect
	searchDialect
}

// newDialect returns the dialect of dsn: "postgres://..." or
// "postgresql://..." is PostgreSQL, anything else a SQLite file path or
// ":memory:".
func newDialect(dsn string) dialect {
	if IsPostgres(dsn) {
		return &postgresDialect{dsn: dsn}
	}
	return &sqliteDialect{dsn: dsn}
}

// RedactDSN returns dsn for logs: a URL without its password (url.URL.
// Redacted), anything else unchanged. It is the one redactor of the
// module.
func RedactDSN(dsn string) string {
	if !strings.Contains(dsn, "://") {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable database URL)"
	}
	return u.Redacted()
}

// sqliteDialect is SQLite through modernc.org/sqlite: one writer
// connection whose transactions are BEGIN IMMEDIATE, and a pool of
// query_only readers on the same WAL file.
type sqliteDialect struct {
	dsn string
	// tmpDir holds the private database of ":memory:", removed on close.
	tmpDir string
	// rdb is the read pool open made; watch is waitForChange's own
	// connection from it (taken on its first call), version the
	// data_version and rev the revision last read there; wmu guards the
	// four.
	rdb     *sql.DB
	wmu     sync.Mutex
	watch   *sql.Conn
	version int64
	rev     int64
}

// sqliteWatchInterval is how often waitForChange asks SQLite whether
// another connection committed: `PRAGMA data_version` reads the WAL
// index's header, a few microseconds, so 40 times a second cost nothing
// measurable and let a node see another process's writes within tens of
// milliseconds (the revoke-visible target is 100 ms).
const sqliteWatchInterval = 25 * time.Millisecond

// sqlitePragmas: synchronous FULL makes every commit sync the WAL, so a
// power loss loses no acknowledged write (DESIGN §4; NORMAL would only
// survive a crash of the process). A batch or import is one commit, so
// the sync costs it nothing measurable per record.
const sqlitePragmas = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"

func (d *sqliteDialect) name() string { return "sqlite" }

func (d *sqliteDialect) open() (*sql.DB, *sql.DB, error) {
	path := strings.TrimPrefix(d.dsn, "sqlite://")
	if d.dsn == ":memory:" {
		// A private temporary file rather than a shared-cache memory
		// database: the latter would need reads and writes to share one
		// connection, and a catch-up reading under applyMu would then wait
		// for the connection a writer holds while that writer waits for
		// applyMu. On tmpfs (/dev/shm) the file costs no disk I/O.
		base := os.TempDir()
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			base = "/dev/shm"
		}
		dir, err := os.MkdirTemp(base, "portcullis-")
		if err != nil {
			return nil, nil, fmt.Errorf("open sqlite: temporary database: %w", err)
		}
		d.tmpDir = dir
		path = filepath.Join(dir, "portcullis.db")
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	// The writer's page cache is 64 MiB instead of 2 MiB: a batch of
	// 10,000 records dirties thousands of index pages, which with the
	// default the writer spilled and read back mid-transaction (the SQL
	// of a batch measured about a third less CPU with the larger cache).
	// It never checkpoints: the store's checkpointer copies the WAL into
	// the database behind the writes, at most once a second, so no commit
	// waits for a copy (checkpoint.go).
	const writer = "&_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint(0)"
	wdb, err := sql.Open("sqlite", path+sep+"_txlock=immediate&_pragma=journal_mode(WAL)&"+sqlitePragmas+writer)
	if err != nil {
		d.close()
		return nil, nil, fmt.Errorf("open sqlite: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	// Connecting the writer first switches the file to WAL before readers
	// open it.
	if err := wdb.Ping(); err != nil {
		wdb.Close()
		d.close()
		return nil, nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	rdb, err := sql.Open("sqlite", path+sep+sqlitePragmas+"&_pragma=query_only(1)")
	if err != nil {
		wdb.Close()
		d.close()
		return nil, nil, fmt.Errorf("open sqlite: %w", err)
	}
	// Four readers for queries, and one that waitForChange keeps.
	rdb.SetMaxOpenConns(5)
	rdb.SetMaxIdleConns(5)
	d.rdb = rdb
	return wdb, rdb, nil
}

func (d *sqliteDialect) close() error {
	d.wmu.Lock()
	if d.watch != nil {
		d.watch.Close()
		d.watch = nil
	}
	d.rdb = nil
	d.wmu.Unlock()
	if d.tmpDir == "" {
		return nil
	}
	err := os.RemoveAll(d.tmpDir)
	d.tmpDir = ""
	return err
}

// rebind leaves ? alone: SQLite takes it.
func (d *sqliteDialect) rebind(q string) string { return q }

// lockRevision is empty: the one writer connection serializes every
// transaction of the store, and BEGIN IMMEDIATE those of other processes.
func (d *sqliteDialect) lockRevision() string { return "" }

// notify does nothing: other processes on the same file watch its
// data_version (waitForChange).
func (d *sqliteDialect) notify(*wtx, int64) error { return nil }

func (d *sqliteDialect) waitForChange(ctx context.Context) error {
	t := time.NewTicker(sqliteWatchInterval)
	defer t.Stop()
	for {
		if changed, err := d.changed(ctx); err != nil || changed {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// changed reports whether a revision was committed since its last call.
// It reads `PRAGMA data_version` on the watch connection, a few
// microseconds: the value changes whenever another connection (this
// process's writer, or any connection of another process) has changed
// the file in between. That is more than a revision: a write that bumps
// none (a session, the search indexer) changes it, and a commit that
// starts the WAL over after a complete checkpoint changes it twice (as
// the WAL restarts, then as its frames land). Only when it changed does
// changed read the revision, and it reports a change when the revision
// moved. A new watch connection (the first call, or the first after an
// error) reports a change, since what was committed before it is
// unknown.
func (d *sqliteDialect) changed(ctx context.Context) (bool, error) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if d.rdb == nil {
		return false, errors.New("watch: the store is closed")
	}
	fresh := d.watch == nil
	if fresh {
		conn, err := d.rdb.Conn(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return false, fmt.Errorf("watch: %w", err)
		}
		d.watch = conn
	}
	var v int64
	rev := d.rev
	err := d.watch.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
	if err == nil && (fresh || v != d.version) {
		err = d.watch.QueryRowContext(ctx, "SELECT rev FROM revision WHERE id = 1").Scan(&rev)
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		d.watch.Close()
		d.watch = nil
		return false, fmt.Errorf("watch: %w", err)
	}
	changed := fresh || rev != d.rev
	d.version, d.rev = v, rev
	return changed, nil
}

// readTxOptions is nil: a WAL read transaction sees one snapshot.
func (d *sqliteDialect) readTxOptions() *sql.TxOptions { return nil }

// lockMigrations relies on the migration transactions' own write lock.
func (d *sqliteDialect) lockMigrations(context.Context, *sql.Conn) (func(), error) {
	return func() {}, nil
}

// tune refreshes the planner's statistics where they are missing or stale
// (a bounded, approximate ANALYZE: cheap even on large files). The list
// queries pin their indexes anyway; this serves the rest.
func (d *sqliteDialect) tune(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, "PRAGMA analysis_limit=1000; PRAGMA optimize=0x10002")
	return err
}

// backup copies the database with VACUUM INTO, which reads one snapshot.
func (d *sqliteDialect) backup(ctx context.Context, db *sql.DB, path string) error {
	_, err := db.ExecContext(ctx, "VACUUM INTO ?", path)
	return err
}

// cancelPointReads is false: a point read takes microseconds, while a
// cancellable context costs two goroutines per query.
func (d *sqliteDialect) cancelPointReads() bool { return false }

func (d *sqliteDialect) redacted() string {
	if d.dsn == ":memory:" {
		return d.dsn
	}
	return strings.TrimPrefix(d.dsn, "sqlite://")
}

// postgresDialect is PostgreSQL through jackc/pgx's database/sql driver,
// plus one pgx connection of its own that LISTENs for other nodes'
// revisions.
type postgresDialect struct {
	dsn string

	// lmu guards listener, the LISTEN connection of waitForChange
	// (opened on first use, dropped on failure, closed by close).
	lmu      sync.Mutex
	listener *pgx.Conn
	closed   bool
}

func (d *postgresDialect) name() string { return "postgres" }

// open returns two pools on the server: writers (who hold a connection
// while they wait for the revision row lock) and readers (including
// catch-up), so that a catch-up never waits for a connection a waiting
// writer holds.
func (d *postgresDialect) open() (*sql.DB, *sql.DB, error) {
	wdb, err := sql.Open("pgx", d.dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("open postgres: %w", err)
	}
	wdb.SetMaxOpenConns(10)
	wdb.SetMaxIdleConns(5)
	wdb.SetConnMaxIdleTime(5 * time.Minute)
	rdb, err := sql.Open("pgx", d.dsn)
	if err != nil {
		wdb.Close()
		return nil, nil, fmt.Errorf("open postgres: %w", err)
	}
	rdb.SetMaxOpenConns(20)
	rdb.SetMaxIdleConns(10)
	rdb.SetConnMaxIdleTime(5 * time.Minute)
	return wdb, rdb, nil
}

func (d *postgresDialect) close() error {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	d.closed = true
	if d.listener == nil {
		return nil
	}
	err := d.listener.Close(context.Background())
	d.listener = nil
	return err
}

// rebind turns the ? placeholders of q into $1, $2... A ? inside a quoted
// string literal is left alone.
func (d *postgresDialect) rebind(q string) string {
	if !strings.Contains(q, "?") {
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

// lockRevision makes a transaction that does not bump the revision (Log)
// queue behind writers for the tail of the audit chain.
func (d *postgresDialect) lockRevision() string {
	return `SELECT rev FROM revision WHERE id = 1 FOR UPDATE`
}

// notify sends pg_notify('portcullis', rev), delivered at commit.
func (d *postgresDialect) notify(t *wtx, rev int64) error {
	_, err := t.exec(`SELECT pg_notify('portcullis', ?)`, strconv.FormatInt(rev, 10))
	return err
}

// waitForChange waits for a notification on the LISTEN connection,
// connecting it first when needed. Notifications that arrive between
// calls wait in the connection, so none is missed while it stays up; when
// it fails it is dropped and the next call reconnects (the follower polls
// meanwhile, and catches up after reconnecting).
func (d *postgresDialect) waitForChange(ctx context.Context) error {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	if d.closed {
		<-ctx.Done()
		return ctx.Err()
	}
	if d.listener == nil {
		conn, err := pgx.Connect(ctx, d.dsn)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		if _, err := conn.Exec(ctx, "LISTEN portcullis"); err != nil {
			conn.Close(context.WithoutCancel(ctx))
			return fmt.Errorf("listen: %w", err)
		}
		d.listener = conn
		// Changes committed before LISTEN took effect: report one so the
		// caller catches up.
		return nil
	}
	_, err := d.listener.WaitForNotification(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && !d.listener.IsClosed() {
		return ctx.Err()
	}
	d.listener.Close(context.WithoutCancel(ctx))
	d.listener = nil
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("listen: %w", errors.Join(err, errors.New("listener connection closed")))
}

func (d *postgresDialect) readTxOptions() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
}

// migrationLockKey is the PostgreSQL advisory lock that keeps two nodes from
// migrating at once.
const migrationLockKey = 0x706f7274 // "port"

func (d *postgresDialect) lockMigrations(ctx context.Context, conn *sql.Conn) (func(), error) {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		return nil, err
	}
	return func() {
		conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockKey)
	}, nil
}

// tune does nothing: autovacuum keeps PostgreSQL's statistics.
func (d *postgresDialect) tune(context.Context, *sql.DB) error { return nil }

// backup is not done by the store on PostgreSQL.
func (d *postgresDialect) backup(context.Context, *sql.DB, string) error {
	return access.Errorf(access.CodeInvalid, "backup copies SQLite databases; for PostgreSQL use pg_dump")
}

// cancelPointReads is true: PostgreSQL's reads cross a network that may
// hang.
func (d *postgresDialect) cancelPointReads() bool { return true }

func (d *postgresDialect) redacted() string { return RedactDSN(d.dsn) }
