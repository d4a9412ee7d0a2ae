package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
	"github.com/portcullis-dev/portcullis/internal/store/storetest"
)

// TestConformance runs the storage conformance suite against both
// databases: SQLite on a temporary file (a file, not ":memory:", so that
// the durability tests can reopen it) and PostgreSQL on a fresh pgtest
// database (skipped when no PostgreSQL is available, failed in CI).
func TestConformance(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		storetest.RunAll(t, storetest.Backend{
			Open: func(t *testing.T, o storetest.Options) (store.Store, string) {
				dsn := filepath.Join(t.TempDir(), "portcullis.db")
				return openStore(t, dsn, o), dsn
			},
			Reopen: openStore,
		})
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		storetest.RunAll(t, storetest.Backend{
			Open: func(t *testing.T, o storetest.Options) (store.Store, string) {
				dsn := pgtest.DSN(t)
				return openStore(t, dsn, o), dsn
			},
			Reopen:    openStore,
			MultiNode: true,
		})
	})
}

// openStore opens a store on dsn and closes it when t ends.
func openStore(t *testing.T, dsn string, o storetest.Options) store.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{Clock: o.Clock})
	if err != nil {
		t.Fatalf("sqlstore.Open(%s): %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
