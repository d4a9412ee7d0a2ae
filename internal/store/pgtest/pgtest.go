// Package pgtest gives tests a throwaway PostgreSQL database without Docker.
//
// DSN returns a connection string to a fresh, empty database that is dropped
// when the test ends. All databases of one test binary live on one server,
// which is started lazily on first use. If the environment variable
// PORTCULLIS_TEST_POSTGRES holds a DSN, that existing server is used (the
// role must be allowed to create databases, and the server must be PostgreSQL
// 13 or newer); otherwise a private cluster is created with the initdb and
// pg_ctl found on PATH or in the newest /usr/lib/postgresql/*/bin, listening
// only on a Unix socket in a temporary directory. When running as root, the
// cluster runs as the "postgres" system user, or "nobody" if that is absent,
// because PostgreSQL refuses to run as root.
//
// If no server is available the test is skipped, unless CI=true, in which case
// it fails: a missing dependency must not pass CI silently. A package using
// pgtest stops the cluster from its TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		pgtest.Stop()
//		os.Exit(code)
//	}
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// errUnavailable marks the absence of any PostgreSQL, which skips tests
// outside CI; every other error fails them.
var errUnavailable = errors.New("PostgreSQL not available")

// shared is the one server of the test binary, started on first use.
var shared struct {
	once sync.Once
	mu   sync.Mutex // guards srv and err once started
	srv  *server
	err  error
}

// server is a PostgreSQL server on which DSN creates databases. dir is empty
// for an external server, which Stop leaves alone.
type server struct {
	adminDSN string // connection string of a maintenance database
	pgCtl    string
	dir      string // temporary directory holding data, socket and log
	cred     *syscall.Credential
}

// DSN returns a connection string to a new, empty database with a unique name,
// created on the shared server and dropped (with any connections still open
// to it) in tb.Cleanup.
func DSN(tb testing.TB) string {
	tb.Helper()
	shared.once.Do(func() { shared.srv, shared.err = start() })
	shared.mu.Lock()
	s, err := shared.srv, shared.err
	shared.mu.Unlock()
	if errors.Is(err, errUnavailable) && !inCI() {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}

	var b [4]byte
	rand.Read(b[:])
	name := "pgtest_" + sanitize(tb.Name()) + "_" + hex.EncodeToString(b[:])
	if err := s.exec("CREATE DATABASE " + name + " TEMPLATE template0"); err != nil {
		tb.Fatalf("pgtest: creating database: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: dropping database %s: %v", name, err)
		}
	})
	return withDB(s.adminDSN, name)
}

// Stop stops the cluster DSN started, if any, and removes its files. It is
// meant to be deferred, or called after m.Run, in TestMain; DSN fails after it.
func Stop() {
	stopped := errors.New("pgtest: DSN called after Stop")
	shared.once.Do(func() { shared.err = stopped })
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if s := shared.srv; s != nil && s.dir != "" {
		s.command(s.pgCtl, "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop").Run()
		os.RemoveAll(s.dir)
	}
	shared.srv, shared.err = nil, stopped
}

// start connects to PORTCULLIS_TEST_POSTGRES or starts a private cluster.
func start() (*server, error) {
	if dsn := os.Getenv("PORTCULLIS_TEST_POSTGRES"); dsn != "" {
		s := &server{adminDSN: dsn}
		if err := s.exec("SELECT 1"); err != nil {
			return nil, fmt.Errorf("pgtest: PORTCULLIS_TEST_POSTGRES: %w", err)
		}
		return s, nil
	}
	initdb, pgCtl, err := findBinaries()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &server{pgCtl: pgCtl, dir: dir}
	if os.Geteuid() == 0 {
		if s.cred, err = unprivileged(); err == nil {
			err = os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid))
		}
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root: %w", err)
		}
	}

	data := filepath.Join(dir, "data")
	out, err := s.command(initdb, "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: %s failed: %v\n%s", initdb, err, out)
	}
	conf := fmt.Sprintf("\n# pgtest: private, fast, unsafe\nlisten_addresses = ''\nport = 5432\n"+
		"unix_socket_directories = '%s'\nfsync = off\nsynchronous_commit = off\n"+
		"full_page_writes = off\nmax_connections = 200\n", strings.ReplaceAll(dir, "'", "''"))
	if err := appendFile(filepath.Join(data, "postgresql.conf"), conf); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	logFile := filepath.Join(dir, "postgres.log")
	out, err = s.command(pgCtl, "-D", data, "-l", logFile, "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(logFile)
		s.command(pgCtl, "-D", data, "-m", "immediate", "stop").Run()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: %s start failed: %v\n%s\nserver log:\n%s", pgCtl, err, out, log)
	}
	s.adminDSN = (&url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/postgres",
		RawQuery: url.Values{"host": {dir}, "port": {"5432"}, "sslmode": {"disable"}}.Encode()}).String()
	return s, nil
}

// findBinaries returns initdb and pg_ctl from PATH, else from the newest
// /usr/lib/postgresql/*/bin (where Debian installs them, off PATH).
func findBinaries() (initdb, pgCtl string, err error) {
	initdb, err1 := exec.LookPath("initdb")
	pgCtl, err2 := exec.LookPath("pg_ctl")
	if err1 == nil && err2 == nil {
		return initdb, pgCtl, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		initdb, pgCtl = filepath.Join(d, "initdb"), filepath.Join(d, "pg_ctl")
		if isFile(initdb) && isFile(pgCtl) {
			return initdb, pgCtl, nil
		}
	}
	return "", "", fmt.Errorf("%w: no initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin, "+
		"and PORTCULLIS_TEST_POSTGRES is unset", errUnavailable)
}

// unprivileged returns the credentials of the "postgres" user, else "nobody".
func unprivileged() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		if u, err = user.Lookup("nobody"); err != nil {
			return nil, fmt.Errorf("no postgres or nobody user: %w", err)
		}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// command returns a command run in the cluster directory as the cluster's user.
func (s *server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = s.dir
	cmd.WaitDelay = 10 * time.Second
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd
}

// exec runs one statement on the maintenance database.
func (s *server) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.adminDSN)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDB returns dsn, a URL or keyword/value string, naming database db.
func withDB(dsn, db string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path, u.RawPath = "/"+db, ""
		return u.String()
	}
	return dsn + " dbname=" + db // a later keyword overrides an earlier one
}

// sanitize turns a test name into a lower-case identifier fragment.
func sanitize(name string) string {
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '_'
	}, name)
	return name[:min(len(name), 40)]
}

// inCI reports whether CI=true, where a missing PostgreSQL fails tests.
func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// appendFile appends text to the file at path.
func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	return errors.Join(err, f.Close())
}

// isFile reports whether path exists and is not a directory.
func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}
