package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// tiny is the smallest size that holds every user class.
var tiny = Size{Name: "tiny", Customers: 60, Distributors: 3, Users: 150, DirectGrants: 250, Records: 4000, KeyOrders: 700}

var testEpoch = time.Date(2026, time.March, 2, 0, 0, 0, 0, time.UTC)

// mustGenerate generates a dataset into a new SQLite file and returns its
// path, the open store and the meta.
func mustGenerate(tb testing.TB, size Size, seed uint64) (string, *testStore, *Meta) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "bench.db")
	ctx := context.Background()
	st := mustOpen(tb, path)
	meta, err := Generate(ctx, st, st.Engine(), GenOptions{Size: size, Seed: seed, Epoch: testEpoch})
	if err != nil {
		tb.Fatal(err)
	}
	return path, st, meta
}

// testStore is a store with the engine a follower keeps in step with it.
type testStore struct {
	*sqlstore.Store
	f *follow.Follower
}

// Engine returns the store's engine.
func (s *testStore) Engine() *access.Engine { return s.f.Engine() }

// Close stops the follower and closes the store.
func (s *testStore) Close() error {
	s.f.Close()
	return s.Store.Close()
}

// mustOpen opens a store with a follower on dsn, closed when tb ends.
func mustOpen(tb testing.TB, dsn string) *testStore {
	tb.Helper()
	st, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	f, err := follow.Start(context.Background(), st, follow.Options{})
	if err != nil {
		st.Close()
		tb.Fatal(err)
	}
	ts := &testStore{Store: st, f: f}
	tb.Cleanup(func() { ts.Close() })
	return ts
}

// dbChecksum hashes what a store holds, read back through the storage
// interface: accounts, users, groups with members, grants (without the ids
// and instants the store assigns) and every record.
func dbChecksum(tb testing.TB, st store.Store) string {
	tb.Helper()
	ctx := context.Background()
	h := sha256.New()
	put := func(kind string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		h.Write([]byte(kind))
		h.Write(b)
	}
	for cur := ""; ; {
		as, next, err := st.ListAccounts(ctx, store.AccountFilter{Limit: 500, Cursor: cur})
		if err != nil {
			tb.Fatal(err)
		}
		for _, a := range as {
			put("account", a)
		}
		if cur = next; cur == "" {
			break
		}
	}
	for cur := ""; ; {
		us, next, err := st.ListUsers(ctx, store.UserFilter{Limit: 500, Cursor: cur})
		if err != nil {
			tb.Fatal(err)
		}
		for _, u := range us {
			put("user", u)
		}
		if cur = next; cur == "" {
			break
		}
	}
	for cur := ""; ; {
		gs, next, err := st.ListGroups(ctx, store.GroupFilter{Limit: 500, Cursor: cur})
		if err != nil {
			tb.Fatal(err)
		}
		for _, g := range gs {
			put("group", g)
		}
		if cur = next; cur == "" {
			break
		}
	}
	var grants []string
	for cur := ""; ; {
		gs, next, err := st.ListGrants(ctx, store.GrantFilter{Limit: 500, Cursor: cur})
		if err != nil {
			tb.Fatal(err)
		}
		for _, g := range gs {
			g.ID, g.CreatedAt, g.UpdatedAt, g.CreatedBy = "", time.Time{}, time.Time{}, ""
			b, _ := json.Marshal(g)
			grants = append(grants, string(b))
		}
		if cur = next; cur == "" {
			break
		}
	}
	sortStrings(grants)
	put("grants", grants)
	for _, t := range policy.Default().Types() {
		for cur := ""; ; {
			recs, next, err := st.ListRecords(ctx, store.RecordQuery{Type: t.Name, Predicate: &access.Predicate{Type: t.Name, All: true},
				Sort: "id", Limit: 500, Cursor: cur})
			if err != nil {
				tb.Fatal(err)
			}
			for _, r := range recs {
				r.UpdatedAt, r.Revision = time.Time{}, 0
				put("record", r)
			}
			if cur = next; cur == "" {
				break
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestGenerate_Deterministic(t *testing.T) {
	_, st1, m1 := mustGenerate(t, tiny, 7)
	_, st2, m2 := mustGenerate(t, tiny, 7)
	_, st3, m3 := mustGenerate(t, tiny, 8)
	if m1.Checksum != m2.Checksum {
		t.Errorf("generation checksums differ for the same seed: %s, %s", m1.Checksum, m2.Checksum)
	}
	if m1.Checksum == m3.Checksum {
		t.Errorf("seeds 7 and 8 generated the same data")
	}
	d1, d2, d3 := dbChecksum(t, st1), dbChecksum(t, st2), dbChecksum(t, st3)
	if d1 != d2 {
		t.Errorf("the databases of two generations with the same seed differ")
	}
	if d1 == d3 {
		t.Errorf("the databases of seeds 7 and 8 are equal")
	}
	c := m1.Counts
	if c.Records != tiny.Records || c.DirectGrants != tiny.DirectGrants || c.Users != tiny.Users+6 {
		t.Errorf("counts = %+v, want %d records, %d direct grants, %d users", c, tiny.Records, tiny.DirectGrants, tiny.Users+6)
	}
}

// TestGenerate_Classes checks that the user classes exist with the reach
// BENCHMARKS.md asks for, and that what the store lists for each matches
// what the generator counted.
func TestGenerate_Classes(t *testing.T) {
	_, st, meta := mustGenerate(t, tiny, 1)
	loaded, err := LoadMeta(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Checksum != meta.Checksum || len(loaded.Classes) != 4 || loaded.AdminToken == "" {
		t.Fatalf("stored meta %+v differs from the generated one", loaded)
	}
	eng := st.Engine()
	byName := map[string]Class{}
	for _, c := range meta.Classes {
		byName[c.Name] = c
		if u, ok := eng.User(c.User); !ok || u.Status != access.StatusActive {
			t.Errorf("class %s: user %s missing or inactive", c.Name, c.User)
		}
	}
	accounts := func(user string) int {
		p, err := eng.Predicate(user, "sales_order", policy.Read)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range p.Accounts {
			n += len(c.Accounts)
		}
		return n
	}
	now := eng.Now()
	for _, tc := range []struct {
		class            string
		grants, accounts int
	}{
		{"single", 1, byName["single"].Reach},
		{"distributor", 1, 101},
		{"multi", 50, byName["multi"].Reach},
		{"key", 1, 9},
	} {
		c := byName[tc.class]
		if len(c.GrantAccounts) != tc.grants {
			t.Errorf("class %s: %d grants, want %d", tc.class, len(c.GrantAccounts), tc.grants)
		}
		if got := accounts(c.User); got != tc.accounts || c.Reach != tc.accounts {
			t.Errorf("class %s: predicate covers %d accounts, meta says %d, want %d", tc.class, got, c.Reach, tc.accounts)
		}
		// Count what the store lists for the user.
		p, err := eng.Predicate(c.User, "sales_order", policy.Read)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for cur := ""; ; {
			recs, next, err := st.ListRecords(context.Background(), store.RecordQuery{Type: "sales_order", Predicate: p, Limit: 500, Cursor: cur})
			if err != nil {
				t.Fatal(err)
			}
			n += len(recs)
			if cur = next; cur == "" {
				break
			}
		}
		if want := c.ExpectedOrders(now); n != want || n == 0 {
			t.Errorf("class %s: the store lists %d orders, the generator counted %d", tc.class, n, want)
		}
	}
	if got := byName["key"].ExpectedOrders(now); got != tiny.KeyOrders {
		t.Errorf("the key account user sees %d orders, want %d", got, tiny.KeyOrders)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// TestRun runs every workload briefly over a tiny dataset on SQLite: each
// must complete without errors or wrong answers. Series are measured for
// 300 ms (bench run --duration 1s would take the test past 20 s).
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every workload")
	}
	path, st, _ := mustGenerate(t, tiny, 1)
	st.Close() // Run opens its own
	testRun(t, path)
}

// TestRun_Postgres is TestRun on PostgreSQL, where revoke-visible runs
// across two store instances kept in step by LISTEN/NOTIFY.
func TestRun_Postgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every workload")
	}
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	st := mustOpen(t, dsn)
	if _, err := Generate(ctx, st, st.Engine(), GenOptions{Size: tiny, Seed: 1, Epoch: testEpoch}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	rep := testRun(t, dsn, "list-first", "list-deep", "revoke-visible", "import")
	if rep.Dataset.Backend != "postgres" {
		t.Errorf("backend = %s", rep.Dataset.Backend)
	}
}

func testRun(t *testing.T, dsn string, workloads ...string) *Report {
	t.Helper()
	var log bytes.Buffer
	rep, err := Run(context.Background(), RunOptions{DSN: dsn, Duration: 300 * time.Millisecond, Log: &log, Workloads: workloads})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Log(log.String() + out.String())
	if !rep.OK() {
		t.Fatal("the run failed")
	}
	names := map[string]bool{}
	for _, r := range rep.Results {
		names[strings.SplitN(r.Name, "/", 2)[0]] = true
		if r.Ops == 0 && r.Name != "memory" {
			t.Errorf("%s: no operations measured", r.Name)
		}
	}
	if len(workloads) == 0 {
		workloads = Workloads
	}
	for _, w := range workloads {
		if !names[w] {
			t.Errorf("workload %s reported nothing", w)
		}
	}
	// The report survives JSON and compares with itself.
	file := filepath.Join(t.TempDir(), "r.json")
	if err := rep.WriteJSON(file); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(file)
	if err != nil {
		t.Fatal(err)
	}
	var cmp bytes.Buffer
	Compare(&cmp, rep, back, "a", "b")
	if !strings.Contains(cmp.String(), "list-first/key") || !strings.Contains(cmp.String(), "1.00") {
		t.Errorf("compare output lacks the ratios:\n%s", cmp.String())
	}
	return rep
}
