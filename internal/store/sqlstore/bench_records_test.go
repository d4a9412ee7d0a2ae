package sqlstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
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
// records:batch import of BENCHMARKS.md. It reports records/s.
func BenchmarkBatch(b *testing.B) {
	s := benchStore(b)
	const size = 10000
	n := 0
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		recs := make([]*access.Record, size)
		for i := range recs {
			recs[i] = salesOrder(fmt.Sprintf("SO%08d", n), fmt.Sprintf("c%05d", n%20000), "2025-03-01", "open", float64(n%1000))
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
