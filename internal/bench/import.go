package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// importRecords measures POST /api/v1/records:batch with 10,000 new sales
// orders per call (bodies are built before each timed call), then deletes
// what it imported.
func (r *runner) importRecords(ctx context.Context) error {
	var owners []string
	for _, c := range r.meta.Classes {
		owners = append(owners, c.GrantAccounts...)
	}
	prefix := "BI" + strconv.FormatInt(time.Now().UnixMilli()%1e8, 36)
	rng := rand.New(rand.NewPCG(r.meta.Seed, 0x1a4b))
	day := r.eng.Now().UTC().Format(time.DateOnly)
	seq := 0
	var ids []string
	body := func() []byte {
		items := make([]map[string]any, store.MaxBatch)
		for i := range items {
			seq++
			id := fmt.Sprintf("%s-%08d", prefix, seq)
			ids = append(ids, id)
			owner := owners[rng.IntN(len(owners))]
			lines := make([]any, 3)
			for j := range lines {
				p := float64(rng.IntN(100_000)) / 100
				lines[j] = map[string]any{"sku": "SKU-0001", "quantity": 1.0, "price": p, "discount": 0.0, "amount": p}
			}
			items[i] = map[string]any{"type": "sales_order", "id": id, "owner": owner, "date": day,
				"attributes": map[string]any{"number": id, "status": "open", "customer": owner, "order_date": day,
					"currency": "EUR", "lines": lines}}
		}
		b, _ := json.Marshal(map[string]any{"upsert": items})
		return b
	}
	url := r.base + "/api/v1/records:batch"
	// The bodies are built between the timed calls: the first call warms
	// up, then calls go on until the duration is spent.
	s := &series{}
	var measured time.Duration
	for call := 0; ctx.Err() == nil && (call == 0 || measured < r.opts.Duration); call++ {
		b := body()
		var res struct {
			Upserted int `json:"upserted"`
		}
		var cpu0 time.Duration
		cpuErr := errors.New("no meter")
		if r.cpu != nil {
			cpu0, cpuErr = r.cpu.read(ctx)
		}
		t0 := time.Now()
		_, err := r.expect(ctx, request{method: "POST", url: url, body: b, token: r.meta.AdminToken}, 200, &res)
		d := time.Since(t0)
		if call > 0 && cpuErr == nil {
			// The server's CPU over the call alone (not over building
			// the next body, which is the load generator's).
			if cpu1, err := r.cpu.read(ctx); err == nil {
				s.cpu += cpu1 - cpu0
				s.cpuOf = r.cpu.source
			}
		}
		if err == nil && res.Upserted != store.MaxBatch {
			err = fmt.Errorf("batch upserted %d of %d", res.Upserted, store.MaxBatch)
		}
		if call == 0 && err == nil {
			continue
		}
		measured += d
		s.ops.Add(1)
		s.lat = append(s.lat, d)
		if err != nil {
			s.fail("%v", err)
		}
	}
	el := measured
	res := s.result("import", "records", el, store.MaxBatch)
	res.Note = "10,000 sales orders per call, one client; cpu µs/op is per call"
	if res.CPU > 0 {
		res.Figures = map[string]float64{"records_per_server_cpu_s": float64(store.MaxBatch) / (res.CPU / 1e6)}
	}
	if !r.pg {
		res.Target = "≥ 100,000/s"
		res.Met = boolPtr(res.Rate >= 100_000)
	}
	r.add(res)

	// Delete what was imported, so that runs do not grow the dataset.
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), store.MaxBatch)]
		ids = ids[len(chunk):]
		refs := make([]access.Ref, len(chunk))
		for i, id := range chunk {
			refs[i] = access.Ref{Type: "sales_order", ID: id}
		}
		if _, err := r.expect(ctx, r.admin("POST", url, map[string]any{"delete": refs}), 200, nil); err != nil {
			return fmt.Errorf("delete imported records: %w", err)
		}
	}
	return nil
}

// memory reports the server's peak resident set: of the child process
// (/proc/<pid>/status), of this process when the server runs in it (the
// clients with their loaded records included), or with --url the
// server's current RSS from its metrics (--metrics-url).
func (r *runner) memory(ctx context.Context) error {
	res := Result{Name: "memory", Figures: map[string]float64{}}
	const mib = 1 << 20
	var peak float64
	switch {
	case r.opts.URL != "":
		rss, err := r.metric(ctx, "process_resident_memory_bytes")
		if err != nil {
			return fmt.Errorf("memory: %w", err)
		}
		peak = rss / mib
		res.Figures["server_rss_mib"] = peak
		res.Note = "the server's current RSS (process_resident_memory_bytes)"
	default:
		pid, note := "self", "peak RSS of the whole bench process: the server and the clients with their loaded records"
		if r.child != nil {
			pid, note = strconv.Itoa(r.child.Pid), "peak RSS of the server process"
		}
		st, err := procStatus(pid)
		if err != nil {
			return err
		}
		peak = st["VmHWM"] / 1024
		res.Figures["peak_rss_mib"] = peak
		res.Figures["rss_mib"] = st["VmRSS"] / 1024
		res.Note = note
	}
	res.Target = "≤ 1,024 MiB"
	res.Met = boolPtr(peak <= 1024)
	r.add(res)
	return nil
}

// procStatus reads the kB figures of /proc/<pid>/status.
func procStatus(pid string) (map[string]float64, error) {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	defer f.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		if fs := strings.Fields(v); len(fs) == 2 && fs[1] == "kB" {
			n, _ := strconv.ParseFloat(fs[0], 64)
			out[k] = n
		}
	}
	return out, sc.Err()
}
