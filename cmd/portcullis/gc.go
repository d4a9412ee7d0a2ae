package main

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The server's garbage collector is paced by heap headroom rather than by
// the runtime's fixed GOGC=100. Most of its live heap is the access engine,
// which every cycle marks again; with a small engine (the demo, `medium`:
// 20–60 MiB live) GOGC=100 collected every few list pages, which showed as
// 5–15 % of a request's CPU and as the latency tail of lists. gcPercent
// grants at least the headroom between cycles, never less than GOGC=100 (a
// large engine collects as often as before, so its memory stays as it was)
// and never more than GOGC=800. A soft memory limit of the live heap plus
// the headroom (at least twice the live heap) bounds the heap should the
// live heap grow fast between two evaluations: GOGC=800 alone would let a
// heap that grew from 20 to 300 MiB reach 2.7 GiB before the next cycle.
const (
	gcPercentMin = 100
	gcPercentMax = 800
	gcTuneEvery  = time.Second
)

// gcPercent is the GOGC that lets the heap grow by headroom over live
// bytes before the next cycle, between gcPercentMin and gcPercentMax.
func gcPercent(live, headroom int64) int {
	if live <= 0 {
		return gcPercentMax
	}
	return int(max(gcPercentMin, min(gcPercentMax, headroom*100/live)))
}

// gcLimit is the soft memory limit for a live heap: live plus headroom,
// at least twice live (GOGC=100's goal) and at least 64 MiB.
func gcLimit(live, headroom int64) int64 {
	return max(64<<20, 2*live, live+headroom)
}

// startGCTuner sets GOGC and the soft memory limit from the live heap of
// the last cycle now and every gcTuneEvery until stop is called, which
// puts both back. It does nothing when headroom is 0 or the operator set
// GOGC or GOMEMLIMIT. headroom is at most 1 TiB (parseSize).
func startGCTuner(headroom int64) (stop func()) {
	_, gogc := os.LookupEnv("GOGC")
	_, memlimit := os.LookupEnv("GOMEMLIMIT")
	if gogc || memlimit || headroom <= 0 {
		return func() {}
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	last := -1
	tune := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		live := int64(sample[0].Value.Uint64())
		debug.SetMemoryLimit(gcLimit(live, headroom))
		if p := gcPercent(live, headroom); p != last {
			debug.SetGCPercent(p)
			last = p
		}
	}
	percent, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
	debug.SetGCPercent(percent)
	tune()
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(gcTuneEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				tune()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}
