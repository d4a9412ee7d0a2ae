package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
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
// of the schema are written independently). Each record also holds the
// SHA-256 of the file as applied: an applied migration whose embedded file
// was edited since fails migrate and Open with ErrMigrationEdited (a
// schema change is a new file, never an edit). Records from before
// checksums were kept get the embedded file's checksum on first use.
//
//go:embed migrations
var migrationFiles embed.FS

// migration is one embedded migration file.
type migration struct {
	version int
	name    string // file name, the key in schema_migrations
	sql     string
	sum     string // hex SHA-256 of sql
}

// migrations returns the dialect's migrations in apply order.
func migrations(d dialect) ([]migration, error) {
	dir := "migrations/" + d.name()
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
		sum := sha256.Sum256(b)
		out = append(out, migration{version: v, name: e.Name(), sql: string(b), sum: hex.EncodeToString(sum[:])})
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
    applied_at BIGINT NOT NULL,
    checksum   TEXT
)`

// ErrMigrationEdited is returned by migrate and Open when an applied
// migration's embedded file differs from the one that was applied.
var ErrMigrationEdited = errors.New("an applied migration was edited")

// migrate applies the dialect's pending migrations to db, after checking
// the checksums of the applied ones.
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
	unlock, err := d.lockMigrations(ctx, conn)
	if err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer unlock()
	if _, err := conn.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	// Databases migrated before checksums were kept lack the column.
	if _, err := conn.ExecContext(ctx, `SELECT checksum FROM schema_migrations WHERE 1 = 0`); err != nil {
		if _, err := conn.ExecContext(ctx, `ALTER TABLE schema_migrations ADD COLUMN checksum TEXT`); err != nil {
			return fmt.Errorf("migrate: add checksums: %w", err)
		}
	}
	applied, err := appliedMigrations(ctx, conn)
	if err != nil {
		return err
	}
	for _, m := range ms {
		sum, ok := applied[m.name]
		switch {
		case !ok:
			if err := applyMigration(ctx, conn, d, m); err != nil {
				return err
			}
		case sum == "":
			if _, err := conn.ExecContext(ctx, d.rebind(`UPDATE schema_migrations SET checksum = ? WHERE name = ?`), m.sum, m.name); err != nil {
				return fmt.Errorf("migrate %s: record checksum: %w", m.name, err)
			}
		case sum != m.sum:
			return fmt.Errorf("migrate: %w: %s was applied with checksum %s, the embedded file has %s; add a new migration instead of editing an applied one",
				ErrMigrationEdited, m.name, sum, m.sum)
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
	if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO schema_migrations (name, version, applied_at, checksum) VALUES (?, ?, ?, ?)`),
		m.name, m.version, time.Now().UnixMicro(), m.sum); err != nil {
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

// appliedMigrations returns the checksum of every applied migration by
// name ("" when none was recorded).
func appliedMigrations(ctx context.Context, q querier) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, checksum FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[string]string{}
	for rows.Next() {
		var name string
		var sum sql.NullString
		if err := rows.Scan(&name, &sum); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[name] = sum.String
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
		sum, ok := applied[m.name]
		if !ok {
			return fmt.Errorf("%w: %s", ErrMigrationsPending, m.name)
		}
		if sum != "" && sum != m.sum {
			return fmt.Errorf("%w: %s", ErrMigrationEdited, m.name)
		}
	}
	return nil
}
