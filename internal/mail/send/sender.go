package send

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/portcullis-dev/portcullis/internal/store"
)

// SenderConfig configures a Sender.
type SenderConfig struct {
	Outbox    store.OutboxStore
	Transport Transport
	// Node names this node in claims ("" picks a random name); a claim
	// is Node plus a random suffix per round.
	Node string
	// Interval is how often the outbox is polled (2 s by default); Kick
	// wakes the sender sooner.
	Interval time.Duration
	// Lease is how long a claimed message is held before another sender
	// may retry it (5 minutes by default): longer than one delivery.
	Lease time.Duration
	// RetryFor is how long after its creation a message is retried (24 h).
	RetryFor time.Duration
	// FirstRetry is the first backoff (30 s), doubled after every failed
	// attempt up to MaxBackoff (1 h).
	FirstRetry, MaxBackoff time.Duration
	// Batch is the most messages one round claims (20).
	Batch  int
	Clock  func() time.Time
	Logger *slog.Logger
}

// Sender delivers the outbox: one per node, a goroutine owned by whoever
// called StartSender, which must call Stop. Several senders on one
// database never hold one message at the same time (store.OutboxStore's
// claim).
type Sender struct {
	cfg    SenderConfig
	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// NewSender returns a sender that is not running: RunOnce delivers one
// round (tests), Start runs it.
func NewSender(cfg SenderConfig) *Sender {
	if cfg.Node == "" {
		cfg.Node = "node-" + randomHex(4)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 5 * time.Minute
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = 24 * time.Hour
	}
	if cfg.FirstRetry <= 0 {
		cfg.FirstRetry = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 20
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Sender{cfg: cfg, kick: make(chan struct{}, 1), done: make(chan struct{})}
}

// StartSender returns a running sender.
func StartSender(cfg SenderConfig) *Sender {
	s := NewSender(cfg)
	s.Start()
	return s
}

// Start runs the sender's goroutine until Stop.
func (s *Sender) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.loop(ctx)
}

// Stop ends the goroutine and waits for it (an attempt in flight is
// cancelled; its message is retried once its lease ends).
func (s *Sender) Stop() {
	s.once.Do(func() {
		if s.cancel == nil {
			close(s.done)
			return
		}
		s.cancel()
		<-s.done
	})
}

// Kick makes the sender look at the outbox now (after a write with mail).
// It never blocks.
func (s *Sender) Kick() {
	if s == nil {
		return
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Sender) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		for {
			n, err := s.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("mail: outbox", "err", err)
			}
			if n < s.cfg.Batch || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// RunOnce claims one batch of due messages and tries to deliver each; it
// returns how many it claimed.
func (s *Sender) RunOnce(ctx context.Context) (int, error) {
	claimant := s.cfg.Node + "/" + randomHex(6)
	msgs, err := s.cfg.Outbox.ClaimOutbox(ctx, store.OutboxClaim{Claimant: claimant, Now: s.cfg.Clock(), Lease: s.cfg.Lease, Max: s.cfg.Batch})
	if err != nil {
		return 0, err
	}
	for _, m := range msgs {
		s.deliver(ctx, claimant, m)
	}
	return len(msgs), nil
}

// deliver tries one message and records the result. The log names the
// message, never its secret.
func (s *Sender) deliver(ctx context.Context, claimant string, m store.OutboxMessage) {
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	err := s.cfg.Transport.Send(sctx, m)
	cancel()
	if ctx.Err() != nil {
		return // stopping: the lease runs out and another round retries
	}
	now := s.cfg.Clock()
	res := store.OutboxResult{Sent: err == nil, At: now}
	if err != nil {
		res.Error = err.Error()
		retry := now.Add(s.backoff(m.Attempts))
		if !errors.Is(err, ErrPermanent) && retry.Before(m.CreatedAt.Add(s.cfg.RetryFor)) {
			res.RetryAt = &retry
		}
		s.cfg.Logger.Warn("mail: delivery failed", "message", m.ID, "kind", m.Kind, "attempt", m.Attempts,
			"retry", res.RetryAt != nil, "err", err)
	} else {
		s.cfg.Logger.Info("mail: sent", "message", m.ID, "kind", m.Kind)
	}
	// The result is recorded even when ctx ends now.
	if ferr := s.cfg.Outbox.FinishOutbox(context.WithoutCancel(ctx), m.ID, claimant, res); ferr != nil {
		s.cfg.Logger.Error("mail: record delivery", "message", m.ID, "err", ferr)
	}
}

// backoff is the wait after the attempts-th failed attempt.
func (s *Sender) backoff(attempts int) time.Duration {
	d := s.cfg.FirstRetry
	for i := 1; i < attempts && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.MaxBackoff)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
