package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// series collects the outcome of one measured series. Its methods are
// safe for concurrent use.
type series struct {
	mu      sync.Mutex
	lat     []time.Duration
	errors  int64
	samples []string
	ops     atomic.Int64
	// cpu is the meter's advance over the measured window, when metered.
	cpu   time.Duration
	cpuOf string
}

// fail counts an error (a failed operation or a wrong answer) and keeps
// the first few messages.
func (s *series) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors++
	if len(s.samples) < 5 {
		s.samples = append(s.samples, fmt.Sprintf(format, args...))
	}
}

// result summarizes the series measured over elapsed.
func (s *series) result(name, unit string, elapsed time.Duration, perOp int64) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := Result{Name: name, Unit: unit, Ops: s.ops.Load(), Seconds: elapsed.Seconds(), Errors: s.errors,
		ErrorSamples: s.samples, CPUOf: s.cpuOf}
	if s.cpuOf != "" && r.Ops > 0 {
		r.CPU = float64(s.cpu) / float64(time.Microsecond) / float64(r.Ops)
	}
	if elapsed > 0 {
		r.Rate = float64(r.Ops*max(perOp, 1)) / elapsed.Seconds()
	}
	if len(s.lat) > 0 {
		slices.Sort(s.lat)
		q := func(p float64) float64 {
			i := min(int(p*float64(len(s.lat))), len(s.lat)-1)
			return float64(s.lat[i]) / float64(time.Millisecond)
		}
		r.P50, r.P90, r.P99 = q(0.50), q(0.90), q(0.99)
		r.Max = float64(s.lat[len(s.lat)-1]) / float64(time.Millisecond)
	}
	return r
}

// warmup is the part of a series that runs before measuring starts.
func warmup(d time.Duration) time.Duration {
	return min(max(d/10, 100*time.Millisecond), 3*time.Second)
}

// measure runs op on clients goroutines for warm-up plus d and returns the
// series of the operations that started after the warm-up, with the
// length of the measured window. When no operation started in the window
// (one slower than the window, on a loaded machine), it goes on until one
// has, within ctx. op reports a failed operation or wrong
// answer by returning an error; it must not block beyond ctx. With a
// meter, the series also has the CPU time the meter saw during the
// measured window.
func measure(ctx context.Context, clients int, d time.Duration, meter *cpuMeter, op func(ctx context.Context, worker int) error) (*series, time.Duration) {
	s := &series{}
	wu := warmup(d)
	begin := time.Now()
	measureFrom := begin.Add(wu)
	deadline := measureFrom.Add(d)
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(10*time.Second))
	defer cancel()
	var cpu0 time.Duration
	cpuErr := errors.New("not read")
	metered := make(chan struct{})
	if meter != nil {
		go func() {
			defer close(metered)
			select {
			case <-time.After(time.Until(measureFrom)):
				cpu0, cpuErr = meter.read(ctx)
			case <-ctx.Done():
			}
		}()
	} else {
		close(metered)
	}
	defer func() {
		<-metered
		if meter == nil || cpuErr != nil {
			return
		}
		if cpu1, err := meter.read(ctx); err == nil {
			s.cpu, s.cpuOf = cpu1-cpu0, meter.source
		}
	}()
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(deadline) && s.ops.Load() > 0 {
					break // past the window, and it measured something
				}
				err := op(ctx, w)
				if t0.Before(measureFrom) {
					continue
				}
				lat = append(lat, time.Since(t0))
				s.ops.Add(1)
				if err != nil {
					s.fail("%v", err)
				}
			}
			s.mu.Lock()
			s.lat = append(s.lat, lat...)
			s.mu.Unlock()
		}()
	}
	wg.Wait()
	return s, time.Since(measureFrom)
}
