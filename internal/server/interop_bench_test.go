package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// writeOrdersCSV writes a records CSV of n sales orders spread over
// owners (batchBenchOwners customers c00000..., or one owner when owner is
// set), shaped like the import workload: number, status, customer, order
// date, prices, and lines as an undeclared attribute.
func writeOrdersCSV(w io.Writer, n int, owner string) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString("id,owner,date,attr.number,attr.status,attr.customer,attr.price,attr.discount,attr.amount,attr.lines\n")
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var line []byte
	for i := range n {
		o := owner
		if o == "" {
			o = fmt.Sprintf("c%05d", (i*7919)%batchBenchOwners)
		}
		line = line[:0]
		line = fmt.Appendf(line, "SO%08d,%s,%s,SO%08d,%s,%s,%d.50,%d,%d.25,sku-%d\n", i, o,
			start.AddDate(0, 0, i%1000).Format(time.DateOnly), i, []string{"open", "shipped", "invoiced"}[i%3], o, i%5000, i%7, i%4000, i%97)
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// newImportApp is the use cases over a fresh SQLite file with
// batchBenchOwners customers.
func newImportApp(tb testing.TB, dir string) (*app.App, *sqlstore.Store) {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "import.db"), sqlstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	f, err := follow.Start(ctx, st, follow.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	for i := range batchBenchOwners {
		a := access.Account{ID: fmt.Sprintf("c%05d", i), Name: fmt.Sprintf("Customer %d", i), Kind: "customer", ExternalAccess: true, Inherit: true}
		if _, _, err := st.PutAccount(ctx, store.Write{Actor: "bench"}, a); err != nil {
			tb.Fatal(err)
		}
	}
	return server.New(st, f.Engine(), server.Config{Version: "bench"}).App(), st
}

// BenchmarkImportCSV imports a file of 1,000,000 sales orders into a fresh
// SQLite database through app.Import (what both `portcullis import` and
// POST /api/v1/import call) and reports records/s, records/cpu-s (per
// second of the process's CPU time over the import: steadier than the wall
// clock on a shared machine), and the seconds the search index's entries
// took to be written behind it (search-behind-s, part of neither: the
// records are listed and searched at once, the search by its scan plan
// meanwhile). Run it with -benchtime=1x: each iteration is a full import.
func BenchmarkImportCSV(b *testing.B) {
	const n = 1_000_000
	file := filepath.Join(b.TempDir(), "orders.csv")
	fh, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	if err := writeOrdersCSV(fh, n, ""); err != nil {
		b.Fatal(err)
	}
	fh.Close()
	var total, behind, cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		a, st := newImportApp(b, b.TempDir())
		in, err := os.Open(file)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		res, err := a.Import(context.Background(), app.SystemActor("bench"), app.ImportRequest{Kind: app.ImportRecords, Type: "sales_order", Format: app.FormatCSV, Body: in})
		total, cpu = total+time.Since(start), cpu+cpuTime()-cpu0
		b.StopTimer()
		in.Close()
		if err != nil || res.Imported != n {
			b.Fatalf("import: %+v %v", res, err)
		}
		start = time.Now()
		if err := st.IndexSearchBacklog(context.Background()); err != nil {
			b.Fatal(err)
		}
		behind += time.Since(start)
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "records/s")
	b.ReportMetric(float64(n*b.N)/cpu.Seconds(), "records/cpu-s")
	b.ReportMetric(behind.Seconds()/float64(b.N), "search-behind-s")
}

// rss is the process's resident set size, from /proc/self/status.
func rss(tb testing.TB) int64 {
	tb.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb << 10
		}
	}
	tb.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// TestExport_MillionRecordsConstantMemory imports 1,000,000 sales orders
// of C1 and downloads them as the L30 user of C1 (every one visible,
// masked per record) as CSV, reading the answer as it streams: the
// process's RSS grows by less than 50 MiB over its level before the
// download. It asserts memory, not time.
func TestExport_MillionRecordsConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("imports and streams a million records")
	}
	const n = 1_000_000
	env := newEnv(t, t.TempDir()+"/million.db")
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeOrdersCSV(pw, n, "C1")) }()
	start := time.Now()
	res, err := env.server.App().Import(context.Background(), app.SystemActor("test"),
		app.ImportRequest{Kind: app.ImportRecords, Type: "sales_order", Format: app.FormatCSV, Body: pr})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d records in %v (%.0f/s)", res.Imported, time.Since(start), float64(res.Imported)/time.Since(start).Seconds())
	// The search entries written behind the import are not the
	// export's memory: wait for them before measuring.
	if err := env.st.(*sqlstore.Store).IndexSearchBacklog(context.Background()); err != nil {
		t.Fatal(err)
	}

	c := env.as("u30")
	runtime.GC()
	debug.FreeOSMemory()
	base := rss(t)
	var mu sync.Mutex
	peak := base
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if r := rss(t); r > 0 {
					mu.Lock()
					peak = max(peak, r)
					mu.Unlock()
				}
			}
		}
	}()
	req, _ := http.NewRequest("GET", env.srv.URL+"/api/v1/records/sales_order?format=csv&sort=-date", nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	cr := csv.NewReader(resp.Body)
	cr.ReuseRecord = true
	rows := 0
	var head []string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if head == nil {
			head = append([]string(nil), rec...)
			continue
		}
		rows++
	}
	resp.Body.Close()
	close(done)
	wg.Wait()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// SO1 and SO3 of the test world are C1's too.
	if rows != n+2 {
		t.Fatalf("%d rows, want %d", rows, n+2)
	}
	if !bytes.Contains([]byte(strings.Join(head, ",")), []byte("attr.price")) {
		t.Errorf("L30's file lacks prices: %v", head)
	}
	growth := peak - base
	t.Logf("streamed %d rows in %v; RSS %d MiB before, peak %d MiB, growth %.1f MiB", rows, time.Since(start), base>>20, peak>>20, float64(growth)/(1<<20))
	if growth > 50<<20 {
		t.Errorf("RSS grew by %.1f MiB while streaming, want < 50 MiB", float64(growth)/(1<<20))
	}
}
