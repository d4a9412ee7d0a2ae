package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String() + errb.String(), err
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"nope"}, {"policy"}, {"policy", "check"}, {"token", "create"}, {"audit"}, {"serve", "--bogus"}, {"backup"}} {
		_, err := runCLI(t, args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: error %v, want a usage error", args, err)
		}
	}
}

func TestPolicyCheckAndApply(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, policy.DefaultYAML(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("roles: []\nobject_types: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "policy", "check", good)
	if err != nil || !strings.Contains(out, "policy ok") {
		t.Fatalf("check good: %v %s", err, out)
	}
	if _, err := runCLI(t, "policy", "check", bad); err == nil || !strings.Contains(err.Error(), "invalid policy") {
		t.Fatalf("check bad: %v", err)
	}
	db := filepath.Join(dir, "p.db")
	out, err = runCLI(t, "policy", "apply", good, "--db", db) // flags may follow the file
	if err != nil || !strings.Contains(out, "policy version") {
		t.Fatalf("apply: %v %s", err, out)
	}
	if _, err := runCLI(t, "policy", "apply", good, bad, "--db", db); !errors.As(err, new(usageError)) {
		t.Fatalf("two files: %v, want a usage error", err)
	}
	out, err = runCLI(t, "audit", "verify", "--db", db)
	if err != nil || !strings.Contains(out, "audit chain ok") {
		t.Fatalf("audit verify: %v %s", err, out)
	}
	backup := filepath.Join(dir, "copy.db")
	out, err = runCLI(t, "backup", "--db", db, backup)
	if err != nil || !strings.Contains(out, "backup written") {
		t.Fatalf("backup: %v %s", err, out)
	}
	out, err = runCLI(t, "audit", "verify", "--db", backup)
	if err != nil || !strings.Contains(out, "audit chain ok") {
		t.Fatalf("verify the backup: %v %s", err, out)
	}
}

func TestTokenCreate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	if _, err := runCLI(t, "migrate", "--db", db); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "token", "create", "--db", db, "--user", "nobody", "--name", "x"); err == nil {
		t.Fatal("token for a missing user succeeded")
	}
}

// TestImportWritesSearchIndex imports records through the command: a file
// large enough that the store writes its search entries behind the
// import is indexed before the command exits, and says so; a small one
// is indexed in its own transaction and says nothing about it.
func TestImportWritesSearchIndex(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "i.db")
	if _, err := runCLI(t, "migrate", "--db", db); err != nil {
		t.Fatal(err)
	}
	file := func(name string, from, n int) string {
		var b strings.Builder
		b.WriteString("id,date,attr.number,attr.status\n")
		for i := from; i < from+n; i++ {
			fmt.Fprintf(&b, "SO%d,2025-01-02,SO%d,open\n", i, i)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, c := range []struct {
		file      string
		n         int
		indexLine bool
	}{{file("big.csv", 0, 6000), 6000, true}, {file("small.csv", 6000, 10), 10, false}} {
		out, err := runCLI(t, "import", "--db", db, "--kind", "records", "--type", "sales_order", c.file)
		if err != nil || !strings.Contains(out, fmt.Sprintf("imported %d records", c.n)) {
			t.Fatalf("import %s: %v\n%s", c.file, err, out)
		}
		if got := strings.Contains(out, "search index written"); got != c.indexLine {
			t.Errorf("import %s: says it wrote the search index %v, want %v:\n%s", c.file, got, c.indexLine, out)
		}
	}
	st, err := sqlstore.Open(context.Background(), db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.SearchBacklog(context.Background()); err != nil || n != 0 {
		t.Errorf("backlog after the command: %d keys (%v), want none", n, err)
	}
}

func TestVersion(t *testing.T) {
	out, err := runCLI(t, "version")
	if err != nil || !strings.HasPrefix(out, "portcullis ") {
		t.Fatalf("%v %q", err, out)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"25MiB": 25 << 20, "1000": 1000, "10 KB": 10_000, "2GiB": 2 << 30, "512B": 512, "3MB": 3_000_000} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "1.5MiB", "lots", "2TiB", "5000GiB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) is accepted", in)
		}
	}
	if _, err := runCLI(t, "serve", "--max-file-size", "huge"); err == nil || !strings.Contains(err.Error(), "--max-file-size") {
		t.Errorf("serve --max-file-size huge: %v", err)
	}
}

func TestGCPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, headroom int64
		want           int
	}{
		{0, 256 * mib, gcPercentMax},         // nothing live yet
		{20 * mib, 256 * mib, gcPercentMax},  // the demo: capped
		{64 * mib, 256 * mib, 400},           // medium
		{128 * mib, 256 * mib, 200},          // 256 MiB of headroom
		{300 * mib, 256 * mib, gcPercentMin}, // large: never below the Go default
		{1 << 40, 1 << 40, gcPercentMin},     // no overflow at the largest headroom
		{1 * mib, 1 << 40, gcPercentMax},     // nor at the smallest heap
		{50 * mib, 0, gcPercentMin},          // no headroom asked
	} {
		if got := gcPercent(c.live, c.headroom); got != c.want {
			t.Errorf("gcPercent(%d MiB, %d MiB) = %d, want %d", c.live/mib, c.headroom/mib, got, c.want)
		}
	}
}

func TestGCLimit(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct{ live, headroom, want int64 }{
		{0, 256 * mib, 256 * mib},
		{20 * mib, 256 * mib, 276 * mib},
		{300 * mib, 256 * mib, 600 * mib}, // never tighter than GOGC=100
		{1 * mib, 0, 64 * mib},
	} {
		if got := gcLimit(c.live, c.headroom); got != c.want {
			t.Errorf("gcLimit(%d MiB, %d MiB) = %d MiB, want %d MiB", c.live/mib, c.headroom/mib, got/mib, c.want/mib)
		}
	}
}

// TestStartGCTuner checks that the tuner sets GOGC and the memory limit
// from the live heap and puts both back when stopped, and that it leaves
// them alone when the operator set GOGC or GOMEMLIMIT, or asked for no
// headroom.
func TestStartGCTuner(t *testing.T) {
	gogc := func() int { p := debug.SetGCPercent(100); debug.SetGCPercent(p); return p }
	defer debug.SetGCPercent(gogc())
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	runtime.GC()
	debug.SetGCPercent(123)
	debug.SetMemoryLimit(math.MaxInt64)
	stop := startGCTuner(1 << 40) // any live heap of a test gets the cap
	if p, l := gogc(), debug.SetMemoryLimit(-1); p != gcPercentMax || l < 1<<40 || l == math.MaxInt64 {
		t.Errorf("GOGC = %d, memory limit %d with 1 TiB of headroom, want %d and live + 1 TiB", p, l, gcPercentMax)
	}
	stop()
	if p, l := gogc(), debug.SetMemoryLimit(-1); p != 123 || l != math.MaxInt64 {
		t.Errorf("after stop: GOGC = %d, memory limit %d, want both back", p, l)
	}
	startGCTuner(0)()
	if p := gogc(); p != 123 {
		t.Errorf("GOGC = %d with no headroom, want it left at 123", p)
	}
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "123")
			stop := startGCTuner(1 << 40)
			if p, l := gogc(), debug.SetMemoryLimit(-1); p != 123 || l != math.MaxInt64 {
				t.Errorf("GOGC = %d, memory limit %d with $%s set, want both left alone", p, l, env)
			}
			stop()
		})
	}
}
