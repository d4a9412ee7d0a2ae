package pgtest_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// connect opens a connection to dsn that is closed when the test ends.
func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connecting to %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// tableExists reports whether the public schema of conn's database has table.
func tableExists(t *testing.T, conn *pgx.Conn, table string) bool {
	t.Helper()
	var exists bool
	err := conn.QueryRow(context.Background(),
		"SELECT to_regclass('public.' || $1) IS NOT NULL", table).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	return exists
}

func TestDSNGivesDistinctEmptyDatabases(t *testing.T) {
	ctx := context.Background()
	dsn1, dsn2 := pgtest.DSN(t), pgtest.DSN(t)
	if dsn1 == dsn2 {
		t.Fatalf("two calls returned the same DSN %q", dsn1)
	}
	c1, c2 := connect(t, dsn1), connect(t, dsn2)

	for _, c := range []*pgx.Conn{c1, c2} {
		var n int
		err := c.QueryRow(ctx, "SELECT count(*) FROM pg_class c JOIN pg_namespace n "+
			"ON n.oid = c.relnamespace WHERE n.nspname = 'public'").Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s: fresh database has %d relations in public, want 0", c.Config().Database, n)
		}
	}

	if _, err := c1.Exec(ctx, "CREATE TABLE widgets (id int PRIMARY KEY); INSERT INTO widgets VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if !tableExists(t, c1, "widgets") {
		t.Error("widgets missing from the database it was created in")
	}
	if tableExists(t, c2, "widgets") {
		t.Error("widgets visible in the other database: DSN did not give distinct databases")
	}
}

func TestDSNDropsDatabaseOnCleanup(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		cfg, err := pgx.ParseConfig(pgtest.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		name = cfg.Database
		// A connection left open must not prevent the drop.
		conn, err := pgx.Connect(context.Background(), cfg.ConnString())
		if err != nil {
			t.Fatal(err)
		}
		_ = conn // deliberately leaked
	})
	if name == "" {
		t.Skip("inner test created no database")
	}
	var exists bool
	err := connect(t, pgtest.DSN(t)).QueryRow(context.Background(),
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestDSNInParallel(t *testing.T) {
	for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			conn := connect(t, pgtest.DSN(t))
			if _, err := conn.Exec(context.Background(), "CREATE TABLE t (x int)"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
