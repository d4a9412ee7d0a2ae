package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// TestMigrate_ErrEdited checks that an applied migration whose recorded
// checksum differs from the embedded file fails Open and Migrate, and that
// a record without a checksum (from before checksums) gets one.
func TestMigrate_ErrEdited(t *testing.T) {
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "m.db")
	s, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE schema_migrations SET checksum = NULL WHERE name = '0002_records.sql'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE schema_migrations SET checksum = 'edited' WHERE name = '0001_core.sql'`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, dsn, Options{}); !errors.Is(err, ErrMigrationEdited) {
		t.Fatalf("Open after an edit: %v, want ErrMigrationEdited", err)
	}
	if err := Migrate(ctx, dsn); !errors.Is(err, ErrMigrationEdited) {
		t.Fatalf("Migrate after an edit: %v, want ErrMigrationEdited", err)
	}
	ms, err := migrations(&sqliteDialect{})
	if err != nil {
		t.Fatal(err)
	}
	s = &Store{}
	if err := s.connect(dsn); err != nil {
		t.Fatal(err)
	}
	defer s.closeDBs()
	if _, err := s.db.ExecContext(ctx, `UPDATE schema_migrations SET checksum = ? WHERE name = '0001_core.sql'`, ms[0].sum); err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, s.db, s.dialect); err != nil {
		t.Fatalf("migrate with the right checksums: %v", err)
	}
	var sum string
	if err := s.db.QueryRowContext(ctx, `SELECT checksum FROM schema_migrations WHERE name = '0002_records.sql'`).Scan(&sum); err != nil || sum != ms[1].sum {
		t.Fatalf("checksum of an old record = %q, %v; want %q", sum, err, ms[1].sum)
	}
}

// TestBackup checks that Backup writes a database Open can read and
// refuses an existing file.
func TestBackup(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, filepath.Join(t.TempDir(), "b.db"))
	mustPutAccount(t, s, access.Account{ID: "A", Name: "A", Inherit: true})
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := s.Backup(ctx, path); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	wantCode(t, s.Backup(ctx, path), access.CodeInvalid)
	c, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.GetAccount(ctx, "A"); err != nil {
		t.Fatalf("the backup lacks account A: %v", err)
	}
}
