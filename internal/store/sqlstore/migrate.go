package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationFiles holds the schema migrations, one directory per dialect
// (migrations/sqlite, migrations/postgres). A file is named
// "<version>_<name>.sql"; files apply in (version, file name) order, each in
// its own transaction, and are recorded by file name in schema_migrations,
// so two files may share a version number (the core and the records parts
// of the schema are written independently).
//
//go:embed migrations
var migrationFiles embed.FS

// migration is one embedded migration file.
type migration struct {
	version int
	name    string // file name, the key in schema_migrations
	sql     string
}

// migrations returns the dialect's migrations in apply order.
func migrations(d dialect) ([]migration, error) {
	dir := "migrations/sqlite"
	if d.pg {
		dir = "migrations/postgres"
	}
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be <version>_<name>.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].version != out[j].version {
			return out[i].version < out[j].version
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    name       TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    applied_at BIGINT NOT NULL
)`

// migrationLockKey is the PostgreSQL advisory lock that keeps two nodes from
// migrating at once.
const migrationLockKey = 0x706f7274 // "port"

// migrate applies the dialect's pending migrations to db.
func migrate(ctx context.Context, db *sql.DB, d dialect) error {
	ms, err := migrations(d)
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Close()
	if d.pg {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockKey)
	}
	if _, err := conn.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	applied, err := appliedMigrations(ctx, conn)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.name] {
			continue
		}
		if err := applyMigration(ctx, conn, d, m); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, conn *sql.Conn, d dialect, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: begin: %w", m.name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migrate %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO schema_migrations (name, version, applied_at) VALUES (?, ?, ?)`),
		m.name, m.version, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("migrate %s: record: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s: commit: %w", m.name, err)
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func appliedMigrations(ctx context.Context, q querier) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[name] = true
	}
	return applied, rows.Err()
}

// Migrate applies pending migrations to the database dsn names (see Open
// for the forms of dsn) and returns; it is `portcullis migrate`. Open
// migrates too, so calling it first is optional.
func Migrate(ctx context.Context, dsn string) error {
	s := &Store{}
	if err := s.connect(dsn); err != nil {
		return err
	}
	defer s.closeDBs()
	return migrate(ctx, s.db, s.dialect)
}

// ErrMigrationsPending is returned by MigrationsCurrent when the database
// lacks an embedded migration.
var ErrMigrationsPending = errors.New("database migrations pending")

// MigrationsCurrent reports whether the database is reachable and every
// embedded migration has been applied; it is the readiness check behind
// Ping. A pending migration is ErrMigrationsPending.
func (s *Store) MigrationsCurrent(ctx context.Context) error {
	ms, err := migrations(s.dialect)
	if err != nil {
		return err
	}
	applied, err := appliedMigrations(ctx, s.rdb)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if !applied[m.name] {
			return fmt.Errorf("%w: %s", ErrMigrationsPending, m.name)
		}
	}
	return nil
}
