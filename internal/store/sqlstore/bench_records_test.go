package sqlstore

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
)

// benchStore opens a store for a benchmark: SQLite on a file in a
// temporary directory (WAL, as served), or PostgreSQL from pgtest when
// PORTCULLIS_BENCH_PG=1.
func benchStore(b *testing.B) *Store {
	b.Helper()
	if os.Getenv("PORTCULLIS_BENCH_PG") == "1" {
		return recOpen(b, pgtest.DSN(b))
	}
	return recOpen(b, filepath.Join(b.TempDir(), "bench.db"))
}

// BenchmarkBatch measures Batch with 10,000 realistic sales orders (three
// lines each, 2% with team entries) per call into a growing table, the
// records:batch import of BENCHMARKS.md. It reports records/s. SameDay
// dates every order alike (the first benchmark of #14); Spread dates them
// over three years and scatters owners over 20,000 accounts as real
// imports do, so every secondary index is written at random places.
func BenchmarkBatch(b *testing.B) {
	b.Run("SameDay", func(b *testing.B) { benchBatch(b, false) })
	b.Run("Spread", func(b *testing.B) { benchBatch(b, true) })
}

func benchBatch(b *testing.B, spread bool) {
	s := benchStore(b)
	if drop := os.Getenv("PORTCULLIS_BENCH_DROP"); drop != "" {
		for _, ix := range strings.Split(drop, ",") {
			if _, err := s.db.Exec("DROP INDEX " + ix); err != nil {
				b.Fatal(err)
			}
		}
	}
	const size = 10000
	rng := rand.New(rand.NewPCG(1, 2))
	n := 0
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		recs := make([]*access.Record, size)
		for i := range recs {
			owner, date := fmt.Sprintf("c%05d", n%20000), "2025-03-01"
			if spread {
				owner = fmt.Sprintf("c%05d", rng.IntN(20000))
				date = testNow.AddDate(0, 0, -rng.IntN(3*365)).Format(time.DateOnly)
			}
			recs[i] = salesOrder(fmt.Sprintf("SO%08d", n), owner, date, "open", float64(n%1000))
			if n%50 == 0 {
				recs[i].Teams = []access.TeamEntry{{Principal: "user:u1", Access: access.AccessRead}}
			}
			n++
		}
		b.StartTimer()
		if _, err := s.Batch(context.Background(), store.Write{}, store.RecordBatch{Upsert: recs}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	// Shared machines make wall time noisy; the process CPU time per
	// record (generation included, so an upper bound) is steadier.
	b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "records/cpu-s")
	reportServerCPU(b, s, n)
}

// reportServerCPU reports, on PostgreSQL, records per CPU-second of the
// database server: the CPU time of this database's backends (started for
// the benchmark, so migrations included) from /proc.
func reportServerCPU(b *testing.B, s *Store, n int) {
	if s.dialect.name() != "postgres" {
		return
	}
	rs, err := s.db.Query("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
	if err != nil {
		b.Fatal(err)
	}
	defer rs.Close()
	var ticks int64
	for rs.Next() {
		var pid int
		if err := rs.Scan(&pid); err != nil {
			b.Fatal(err)
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return // not a local server
		}
		f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += ut + st
	}
	if ticks > 0 {
		b.ReportMetric(float64(n)/(float64(ticks)/100), "records/pg-cpu-s")
	}
}

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// listBenchOrders is the number of sales orders generated;
// PORTCULLIS_BENCH_ORDERS scales it (BENCHMARKS.md's 5,000,000 shape
// needs about 25x the default).
func listBenchOrders() int {
	if n, err := strconv.Atoi(os.Getenv("PORTCULLIS_BENCH_ORDERS")); err == nil && n > 0 {
		return n
	}
	return 200000
}

// listBenchKey is the key account's share: 200,000 orders when the
// dataset is large enough, else 40% of it.
func listBenchKey(total int) int { return min(200000, total*2/5) }

// benchListStore builds the list dataset: sales orders over 4,000
// accounts with one key account holding listBenchKey of them, dates over
// three years, five statuses.
func benchListStore(b *testing.B) *Store {
	b.Helper()
	s := recOpen(b, filepath.Join(b.TempDir(), "list.db"))
	total := listBenchOrders()
	key := listBenchKey(total)
	rng := rand.New(rand.NewPCG(1, 1))
	statuses := []string{"open", "confirmed", "shipped", "invoiced", "closed"}
	var batch []*access.Record
	start := time.Now()
	for i := range total {
		owner := "key"
		if i >= key {
			owner = fmt.Sprintf("c%04d", rng.IntN(4000))
		}
		date := testNow.AddDate(0, 0, -rng.IntN(3*365)).Format(time.DateOnly)
		batch = append(batch, salesOrder(fmt.Sprintf("SO%08d", i), owner, date, statuses[rng.IntN(5)], float64(rng.IntN(1000))))
		if len(batch) == store.MaxBatch || i == total-1 {
			recBatch(b, s, store.RecordBatch{Upsert: batch})
			batch = batch[:0]
		}
	}
	if _, err := s.db.Exec("ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("list dataset: %d orders (key account %d) in %v", total, key, time.Since(start).Round(time.Millisecond))
	return s
}

// BenchmarkListFirstPage measures one page of 50 sales orders, newest
// first, for the user classes of BENCHMARKS.md (list-first), on SQLite.
// The predicates are what the engine produces for those users (an owner
// clause per condition; the team-account branch comes with every clause).
func BenchmarkListFirstPage(b *testing.B) {
	s := benchListStore(b)
	accts := func(from, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("c%04d", from+i)
		}
		return out
	}
	classes := []struct {
		name string
		q    store.RecordQuery
	}{
		{"SingleAccount", store.RecordQuery{Predicate: ownerPred("sales_order", accts(7, 1))}},
		{"Distributor100", store.RecordQuery{Predicate: ownerPred("sales_order", accts(100, 100))}},
		{"Multi50", store.RecordQuery{Predicate: ownerPred("sales_order", accts(1000, 50))}},
		{"KeyAccount", store.RecordQuery{Predicate: ownerPred("sales_order", []string{"key"})}},
		{"KeyPlus49", store.RecordQuery{Predicate: ownerPred("sales_order", append(accts(2000, 49), "key"))}},
		{"Accounts2000", store.RecordQuery{Predicate: ownerPred("sales_order", accts(0, 2000))}},
		{"Staff", store.RecordQuery{Predicate: &access.Predicate{Type: "sales_order", All: true}}},
		{"KeyAccountFiltered", store.RecordQuery{Predicate: ownerPred("sales_order", []string{"key"}),
			DateFrom: "2025-01-01", Attrs: map[string][]any{"status": {"open"}}}},
		{"Multi50Filtered", store.RecordQuery{Predicate: ownerPred("sales_order", accts(1000, 50)),
			DateFrom: "2025-01-01", Attrs: map[string][]any{"status": {"open"}}}},
	}
	for _, c := range classes {
		c.q.Type, c.q.Limit, c.q.Sort = "sales_order", 50, "-date"
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				recs, _, err := s.ListRecords(b.Context(), c.q)
				if err != nil || len(recs) == 0 {
					b.Fatalf("%d records, %v", len(recs), err)
				}
			}
		})
		// list-deep: page 20 through the cursor.
		b.Run(c.name+"/Page20", func(b *testing.B) {
			q := c.q
			for range 19 {
				_, next, err := s.ListRecords(b.Context(), q)
				if err != nil || next == "" {
					b.Skipf("fewer than 20 pages: %v", err)
				}
				q.Cursor = next
			}
			for b.Loop() {
				if _, _, err := s.ListRecords(b.Context(), q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkImportRecords measures ImportRecords of PORTCULLIS_BENCH_IMPORT
// (default 300,000) sales orders spread like BenchmarkBatch/Spread into a
// fresh store, chunks of store.MaxBatch generated ahead, one transaction per
// iteration (run with -benchtime 1x). It reports records/s and records per
// CPU-second of the import alone. Deferred is what an import does (on
// SQLite: drop the secondary indexes after deferIndexMin records, build
// them at the end); InPlace keeps them throughout.
func BenchmarkImportRecords(b *testing.B) {
	for _, c := range []struct {
		name string
		min  int
	}{{"Deferred", deferIndexMin}, {"InPlace", 1 << 62}} {
		b.Run(c.name, func(b *testing.B) {
			old := deferIndexMin
			deferIndexMin = c.min
			defer func() { deferIndexMin = old }()
			benchImport(b)
		})
	}
}

func benchImport(b *testing.B) {
	total := 300_000
	if n, err := strconv.Atoi(os.Getenv("PORTCULLIS_BENCH_IMPORT")); err == nil && n > 0 {
		total = n
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var chunks [][]*access.Record
	for n := 0; n < total; {
		recs := make([]*access.Record, min(store.MaxBatch, total-n))
		for i := range recs {
			recs[i] = salesOrder(fmt.Sprintf("SO%08d", n), fmt.Sprintf("c%05d", rng.IntN(20000)), testNow.AddDate(0, 0, -rng.IntN(3*365)).Format(time.DateOnly), "open", float64(n%1000))
			if n%50 == 0 {
				recs[i].Teams = []access.TeamEntry{{Principal: "user:u1", Access: access.AccessRead}}
			}
			n++
		}
		chunks = append(chunks, recs)
	}
	var wall, cpu time.Duration
	var s *Store
	for b.Loop() {
		b.StopTimer()
		s = benchStore(b)
		k := 0
		next := func() ([]*access.Record, error) {
			if k == len(chunks) {
				return nil, io.EOF
			}
			k++
			return chunks[k-1], nil
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		res, err := s.ImportRecords(context.Background(), store.Write{}, next)
		wall, cpu = wall+time.Since(start), cpu+cpuTime()-cpu0
		if err != nil || res.Upserted != total {
			b.Fatalf("import: %+v %v", res, err)
		}
	}
	b.ReportMetric(float64(total*b.N)/wall.Seconds(), "records/s")
	b.ReportMetric(float64(total*b.N)/cpu.Seconds(), "records/cpu-s")
	reportServerCPU(b, s, total)
}
