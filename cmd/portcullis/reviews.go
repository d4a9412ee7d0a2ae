package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/portcullis-dev/portcullis/internal/app"
)

// reviewEvery is how often each node looks for access reviews to remind
// of or to close (governance.md §2): a review closes within a minute of
// its due date.
const reviewEvery = time.Minute

// reviewLoop runs app.RunReviews on this node every reviewEvery until
// Stop. Every node runs one; the database makes each close and reminder
// happen once (app.RunReviews).
type reviewLoop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startReviewLoop starts the loop: a first round at once, then one every
// every.
func startReviewLoop(a *app.App, log *slog.Logger, every time.Duration) *reviewLoop {
	ctx, cancel := context.WithCancel(context.Background())
	l := &reviewLoop{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			round, err := a.RunReviews(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("reviews: round", "err", err)
			case round.Closed+round.Reminded > 0:
				log.Info("reviews: round", "closed", round.Closed, "reminded", round.Reminded)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return l
}

// Stop ends the loop and waits for its round in flight.
func (l *reviewLoop) Stop() {
	l.cancel()
	<-l.done
}
