// Package parallel runs independent work on every core: the one worker
// pool of the batch path (decoding, filling and validating items in app,
// encoding rows in the store).
package parallel

import (
	"runtime"

	"golang.org/x/sync/errgroup"
)

// chunk is the number of consecutive indexes one goroutine takes, so that
// each does enough work to be worth starting.
const chunk = 64

// For calls fn(i) for every i in [0, n), on at most GOMAXPROCS goroutines,
// and returns when all calls have. fn must be safe to call concurrently
// for different i.
func For(n int, fn func(i int)) {
	if n <= chunk {
		for i := range n {
			fn(i)
		}
		return
	}
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		g.Go(func() error {
			for i := lo; i < hi; i++ {
				fn(i)
			}
			return nil
		})
	}
	_ = g.Wait()
}
