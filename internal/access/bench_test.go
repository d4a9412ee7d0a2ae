package access_test

// Benchmarks of the decision engine on the generated worlds of
// worldgen_test.go (shared/BENCHMARKS.md). Run them on one core, as the
// decision target is per core:
//
//	go test ./internal/access/ -run '^$' -bench . -benchmem -cpu 1 -count 3
//
// Each benchmark runs on the small and the large world side by side, to show
// that the cost of a decision, a predicate or a grant change depends on what
// the one user reaches, not on the totals. With -short only the small world
// is built; -worlds small,medium,large adds the medium one. The large world
// takes a few seconds to generate, once per run.

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

var worldsFlag = flag.String("worlds", "small,large",
	"comma-separated world sizes (small, medium, large) the benchmarks run on; -short means small")

// benchSizes are the worlds every benchmark runs on.
func benchSizes(b *testing.B) []worldSize {
	if testing.Short() {
		return []worldSize{sizeSmall}
	}
	var out []worldSize
	for name := range strings.SplitSeq(*worldsFlag, ",") {
		size, ok := worldSizes[strings.TrimSpace(name)]
		if !ok {
			b.Fatalf("-worlds: unknown size %q", name)
		}
		out = append(out, size)
	}
	return out
}

// BenchmarkAllowed measures Allowed for read on random (user, record) pairs
// of which half are allowed: the check-inproc workload. Target: at least
// 1,000,000 decisions/s on one core.
func BenchmarkAllowed(b *testing.B) {
	for _, size := range benchSizes(b) {
		b.Run("size="+size.Name, func(b *testing.B) {
			env := loadEnv(b, size)
			e, qs, src := env.e, env.questions, env.w.src
			allowed, i := 0, 0
			cpu := measureCPU(b)
			for b.Loop() {
				q := &qs[i%len(qs)]
				i++
				if e.Allowed(q.user, q.rec, policy.Read, src) {
					allowed++
				}
			}
			cpu()
			reportDecisions(b, allowed)
		})
	}
}

// BenchmarkCheck measures Check for read (Allowed and the visible
// restricted fields) on the same pairs.
func BenchmarkCheck(b *testing.B) {
	for _, size := range benchSizes(b) {
		b.Run("size="+size.Name, func(b *testing.B) {
			env := loadEnv(b, size)
			e, qs, src := env.e, env.questions, env.w.src
			allowed, i := 0, 0
			cpu := measureCPU(b)
			for b.Loop() {
				q := &qs[i%len(qs)]
				i++
				if ok, _ := e.Check(q.user, q.rec, policy.Read, src); ok {
					allowed++
				}
			}
			cpu()
			reportDecisions(b, allowed)
		})
	}
}

func reportDecisions(b *testing.B, allowed int) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	b.ReportMetric(float64(allowed)/float64(b.N), "allowed/op")
}

// BenchmarkPredicate measures the read predicate on sales orders for the
// user classes of the list workloads: "build" constructs it (target for the
// multi-customer user: at most 10 µs), "cached" is what a list page pays
// while nothing changed. The accounts metric is the number of accounts the
// predicate lists.
func BenchmarkPredicate(b *testing.B) {
	classes := []struct{ name, user string }{
		{"single-customer-L30", userSingle},
		{"distributor-100-stores", userDistributor},
		{"multi-customer-50", userMulti50},
		{"reach-1000-accounts", userWide},
	}
	for _, size := range benchSizes(b) {
		for _, c := range classes {
			b.Run(fmt.Sprintf("size=%s/%s/build", size.Name, c.name), func(b *testing.B) {
				e := loadEnv(b, size).e
				var p *access.Predicate
				cpu := measureCPU(b)
				for b.Loop() {
					p = access.BuildPredicate(e, c.user, "sales_order", policy.Read)
				}
				cpu()
				b.ReportMetric(float64(predicateAccounts(p)), "accounts")
			})
			b.Run(fmt.Sprintf("size=%s/%s/cached", size.Name, c.name), func(b *testing.B) {
				e := loadEnv(b, size).e
				var p *access.Predicate
				cpu := measureCPU(b)
				for b.Loop() {
					var err error
					if p, err = e.Predicate(c.user, "sales_order", policy.Read); err != nil {
						b.Fatal(err)
					}
				}
				cpu()
				b.ReportMetric(float64(predicateAccounts(p)), "accounts")
			})
		}
	}
}

// BenchmarkLoad measures loading a whole snapshot into a fresh engine, as a
// server does at start, and the heap the loaded engine holds (MB, measured
// after a GC with and without it).
func BenchmarkLoad(b *testing.B) {
	for _, size := range benchSizes(b) {
		b.Run("size="+size.Name, func(b *testing.B) {
			snap := loadEnv(b, size).w.snap
			before := heapAfterGC()
			var e *access.Engine
			cpu := measureCPU(b)
			for b.Loop() {
				e = newEngine()
				if err := e.Load(snap); err != nil {
					b.Fatal(err)
				}
			}
			cpu()
			after := heapAfterGC()
			runtime.KeepAlive(e)
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
			b.ReportMetric(float64(int64(after)-int64(before))/(1<<20), "MB-heap")
		})
	}
}

// BenchmarkClone measures Engine.Clone, the copy every impact preview
// applies its changes to: kind=full is a copy sharing nothing (a Snapshot
// and a Load, what Clone was before its copy on write), kind=cow the
// Clone and its Release, kind=cow+grant the same with the preview's kind
// of change on the clone, a grant to the 1,000-member team (1,000 users
// copied).
func BenchmarkClone(b *testing.B) {
	g := access.Grant{ID: "bench-clone", Principal: "group:" + benchTeam, Account: "C000002", Role: "L30",
		Scope: access.ScopeSubtree, Access: access.AccessReadWrite}
	for _, size := range benchSizes(b) {
		for _, kind := range []string{"full", "cow", "cow+grant"} {
			b.Run("size="+size.Name+"/kind="+kind, func(b *testing.B) {
				e := loadEnv(b, size).e
				cpu := measureCPU(b)
				for b.Loop() {
					if kind == "full" {
						runtime.KeepAlive(access.FullClone(e))
						continue
					}
					c, err := e.Clone()
					if err != nil {
						b.Fatal(err)
					}
					if kind == "cow+grant" {
						if err := c.PutGrant(g); err != nil {
							b.Fatal(err)
						}
					}
					c.Release()
				}
				cpu()
			})
		}
	}
}

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkPutGrant measures incremental maintenance: one operation is
// PutGrant of a new grant and DeleteGrant of it again, for the 1,000-member
// team and for one user. Its cost follows the principal's members, not the
// number of records or grants in the world.
func BenchmarkPutGrant(b *testing.B) {
	principals := []struct{ name, principal string }{
		{"group-1000-members", "group:" + benchTeam},
		{"user", "user:" + userSingle},
	}
	for _, size := range benchSizes(b) {
		for _, p := range principals {
			b.Run(fmt.Sprintf("size=%s/%s", size.Name, p.name), func(b *testing.B) {
				e := loadEnv(b, size).e
				// C000002 is granted to neither principal.
				g := access.Grant{ID: "bench-put", Principal: p.principal, Account: "C000002", Role: "L30",
					Scope: access.ScopeSubtree, Access: access.AccessReadWrite}
				cpu := measureCPU(b)
				for b.Loop() {
					if err := e.PutGrant(g); err != nil {
						b.Fatal(err)
					}
					if err := e.DeleteGrant(g.ID); err != nil {
						b.Fatal(err)
					}
				}
				cpu()
			})
		}
	}
}

// measureCPU starts measuring the CPU time of the process; the function it
// returns, called after the benchmark loop, reports it per operation as
// cpu-ns/op. With -cpu 1 that is the time the benchmark spent on its one
// core, garbage collection included, and unlike ns/op it does not grow
// when other processes take the machine's cores away (the shared 2-core
// machines of BENCHMARKS.md). It reads /proc/self/stat, whose clock ticks
// are 10 ms: fine for loops of a second. Elsewhere than on Linux nothing is
// reported.
func measureCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		if end, ok2 := processCPU(); ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// processCPU returns the user and system time the process has used.
func processCPU() (time.Duration, bool) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15, in ticks of 1/100 s.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, true
}
