//go:build unix

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// checkBenchClients is the number of concurrent keep-alive clients of the
// check-http workload (shared/BENCHMARKS.md).
const checkBenchClients = 32

// BenchmarkCheckHTTP measures POST /api/v1/check as the check-http workload
// does: an admin API token, 32 concurrent keep-alive clients, random
// (user, record) questions, on a real database file with a few thousand
// accounts, users and records (a third of them shipments whose owner comes
// from their parent order, so a check also follows a parent). It reports
// req/s, p50 and p99 latency in milliseconds, and the process's CPU time
// per request, which is the steadiest of them on a shared machine. The
// load generator runs in the same process and takes about a third of the
// CPU, as in `portcullis bench`. On a noisy machine compare builds by
// interleaving runs, not by running one after the other.
//
//	go test ./internal/server -run '^$' -bench CheckHTTP/sqlite -benchtime 3s -count 5
func BenchmarkCheckHTTP(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchCheckHTTP(b, b.TempDir()+"/bench.db")
	})
	b.Run("postgres", func(b *testing.B) {
		benchCheckHTTP(b, pgtest.DSN(b))
	})
}

// checkWorld is the benchmark's server and questions.
type checkWorld struct {
	url       string
	token     string
	client    *http.Client
	questions [][]byte // encoded check requests
	allowed   []bool   // the engine's answer to each question
}

// benchCheckHTTP builds the world once (b has a sub-benchmark, so it runs
// once) and measures in the sub-benchmark, which runs for growing b.N.
func benchCheckHTTP(b *testing.B, dsn string) {
	start := time.Now()
	w := newCheckWorld(b, dsn)
	b.Logf("world built in %v", time.Since(start).Round(time.Millisecond))
	b.Run(fmt.Sprintf("clients=%d", checkBenchClients), func(b *testing.B) {
		runCheckHTTP(b, w)
	})
}

// newCheckWorld fills a store with 200 customers (each with 2 sold-tos),
// 2,000 external users with a grant each, 3,000 sales orders, 1,500
// shipments and 500 invoices, starts an HTTP server over it and draws
// 4,096 questions, about half of them allowed.
func newCheckWorld(b *testing.B, dsn string) *checkWorld {
	b.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	f, err := follow.Start(ctx, st, follow.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	eng := f.Engine()
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const customers, usersPer = 200, 10
	var accounts []string
	for c := range customers {
		id := fmt.Sprintf("C%03d", c)
		_, _, err := st.PutAccount(ctx, store.Write{Actor: "bench"}, access.Account{ID: id, Name: id, Kind: "customer", ExternalAccess: true, Inherit: true})
		must(err)
		accounts = append(accounts, id)
		for s := range 2 {
			sid := fmt.Sprintf("%s-ST%d", id, s)
			_, _, err := st.PutAccount(ctx, store.Write{Actor: "bench"}, access.Account{ID: sid, Name: sid, Kind: "sold_to", Parent: id, Inherit: true})
			must(err)
			accounts = append(accounts, sid)
		}
	}
	_, _, err = st.PutUser(ctx, store.Write{Actor: "bench"}, access.User{ID: "admin", Kind: access.KindInternal, StaffRole: access.StaffAdmin,
		Name: "admin", Email: "admin@example.com", Status: access.StatusActive})
	must(err)
	var users []string
	roles := []string{"L10", "L20", "L30", "L40"}
	for c := range customers {
		for u := range usersPer {
			id := fmt.Sprintf("u%03d-%d", c, u)
			home := fmt.Sprintf("C%03d", c)
			_, _, err := st.PutUser(ctx, store.Write{Actor: "bench"}, access.User{ID: id, Kind: access.KindExternal, HomeAccount: home,
				Name: id, Email: id + "@example.com", Status: access.StatusActive})
			must(err)
			// Most users reach their whole customer, some one sold-to.
			acct := home
			if u%4 == 3 {
				acct = fmt.Sprintf("%s-ST%d", home, u%2)
			}
			_, _, err = st.CreateGrant(ctx, store.Write{Actor: "bench"}, access.Grant{Principal: "user:" + id, Account: acct,
				Role: roles[u%len(roles)], Scope: access.ScopeSubtree, Access: access.AccessReadWrite})
			must(err)
			users = append(users, id)
		}
	}
	today := time.Now().UTC()
	var recs []*access.Record
	var orders []string
	for i := range 3000 {
		id := fmt.Sprintf("SO%05d", i)
		orders = append(orders, id)
		recs = append(recs, &access.Record{Type: "sales_order", ID: id, Owner: accounts[rng.IntN(len(accounts))],
			Date:       today.AddDate(0, 0, -rng.IntN(700)).Format(time.DateOnly),
			Attributes: map[string]any{"number": id, "status": "open", "price": float64(rng.IntN(1000))}})
	}
	for i := range 1500 {
		id := fmt.Sprintf("SH%05d", i)
		recs = append(recs, &access.Record{Type: "shipment", ID: id,
			Parent: &access.Ref{Type: "sales_order", ID: orders[rng.IntN(len(orders))]},
			Date:   today.AddDate(0, 0, -rng.IntN(700)).Format(time.DateOnly), Attributes: map[string]any{"number": id}})
	}
	for i := range 500 {
		id := fmt.Sprintf("IN%05d", i)
		recs = append(recs, &access.Record{Type: "invoice", ID: id, Owner: accounts[rng.IntN(len(accounts))],
			Date: today.AddDate(0, 0, -rng.IntN(700)).Format(time.DateOnly), Attributes: map[string]any{"number": id, "amount": 1.0}})
	}
	_, err = st.Batch(ctx, store.Write{}, store.RecordBatch{Upsert: recs})
	must(err)
	srv := server.New(st, eng, server.Config{Version: "bench"})
	_, secret, _, err := srv.App().CreateToken(ctx, app.SystemActor("bench"), app.TokenRequest{User: "admin", Name: "bench"})
	must(err)

	// Questions: a random user and, half the time, a record of the user's
	// customer, so that about half are allowed.
	byCustomer := map[string][]*access.Record{}
	src := access.RecordMap{}
	for _, r := range recs {
		src[access.Ref{Type: r.Type, ID: r.ID}] = r
	}
	for _, r := range recs {
		owner := r.Owner
		if r.Parent != nil {
			owner = src[*r.Parent].Owner
		}
		if owner == "" {
			continue
		}
		c := owner[:4]
		byCustomer[c] = append(byCustomer[c], r)
	}
	w := &checkWorld{token: secret}
	for range 4096 {
		u := users[rng.IntN(len(users))]
		var rec *access.Record
		if c := byCustomer[u[1:4]]; rng.IntN(2) == 0 && len(c) > 0 {
			rec = c[rng.IntN(len(c))]
		} else {
			rec = recs[rng.IntN(len(recs))]
		}
		ok, _ := eng.Check(u, rec, policy.Read, src)
		body, _ := json.Marshal(map[string]string{"user": u, "action": "read", "type": rec.Type, "id": rec.ID})
		w.questions = append(w.questions, body)
		w.allowed = append(w.allowed, ok)
	}

	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	w.url = hs.URL + "/api/v1/check"
	w.client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}}
	b.Cleanup(w.client.CloseIdleConnections)
	return w
}

// runCheckHTTP sends b.N checks from checkBenchClients goroutines and
// reports throughput and latency percentiles.
func runCheckHTTP(b *testing.B, w *checkWorld) {
	var next atomic.Int64
	var failed atomic.Pointer[error]
	lats := make([][]time.Duration, checkBenchClients)
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range checkBenchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, b.N/checkBenchClients+1)
			var out struct {
				Allowed bool `json:"allowed"`
			}
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N || failed.Load() != nil {
					break
				}
				q := i % len(w.questions)
				t0 := time.Now()
				err := w.post(w.questions[q], &out)
				lat = append(lat, time.Since(t0))
				if err == nil && out.Allowed != w.allowed[q] {
					err = fmt.Errorf("check %s: allowed %v, the engine says %v", w.questions[q], out.Allowed, w.allowed[q])
				}
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					break
				}
			}
			lats[c] = lat
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(int(p*float64(len(all))), len(all)-1)]) / float64(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	// CPU time per request (server and load generator together) varies
	// less than throughput on a shared machine.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/req")
}

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// post sends one check and decodes its answer.
func (w *checkWorld) post(body []byte, out any) error {
	req, err := http.NewRequest("POST", w.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+w.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.200s", res.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}
