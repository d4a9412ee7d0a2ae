package auth

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"
)

// MaxConcurrentHashes caps the argon2 computations a Hasher runs at once
// whatever the CPU count: with 19 MiB each, 8 keep the live memory of
// hashing under 160 MiB, so a flood of sign-ins cannot take the server
// past a few hundred MiB (identity.md §4).
const MaxConcurrentHashes = 8

// DefaultHashWait is how long a computation waits for its turn before
// ErrBusy.
const DefaultHashWait = 5 * time.Second

// ErrBusy is returned when a computation waited its Hasher's whole queue
// timeout for a turn: the server answers 503 unavailable and checked
// nothing.
var ErrBusy = errors.New("password hashing is busy")

// Hasher is the one gate of every argon2 computation of a server: the
// hashing of a new password, the verification of a password (sign-in,
// current_password, invitation acceptance, reset) and the dummy
// verification of a sign-in for an unknown email. It runs at most n at
// once and makes the others queue for at most a timeout, so the memory
// of hashing is bounded and known and unknown emails cost the same wait.
// It is safe for concurrent use and starts no goroutines.
type Hasher struct {
	sem  chan struct{}
	wait time.Duration
	runs atomic.Int64 // computations started
}

// NewHasher returns a Hasher running at most n computations at once (n ≤ 0:
// the CPUs, GOMAXPROCS, at most MaxConcurrentHashes) that waits at most
// wait for a turn (≤ 0: DefaultHashWait).
func NewHasher(n int, wait time.Duration) *Hasher {
	if n <= 0 {
		n = min(runtime.GOMAXPROCS(0), MaxConcurrentHashes)
	}
	if wait <= 0 {
		wait = DefaultHashWait
	}
	return &Hasher{sem: make(chan struct{}, n), wait: wait}
}

// acquire waits for a turn: ErrBusy after the queue timeout, or the
// context's error.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		h.runs.Add(1)
		return nil
	default:
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
		h.runs.Add(1)
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash is HashPassword through the gate.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := CheckPasswordLength(pw); err != nil {
		return "", err // refused before queueing: no hashing of long input
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return HashPassword(pw)
}

// Verify is VerifyPassword through the gate. A password longer than
// MaxPasswordBytes is (false, nil) without any computation; callers refuse
// it earlier with CheckPasswordLength.
func (h *Hasher) Verify(ctx context.Context, encoded, pw string) (bool, error) {
	if len(pw) > MaxPasswordBytes {
		return false, nil
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	return VerifyPassword(encoded, pw)
}

// DummyVerify is DummyVerify through the gate: the sign-in of an unknown
// email (or of a user without a password) waits and computes exactly like
// a real check.
func (h *Hasher) DummyVerify(ctx context.Context) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	DummyVerify()
	return nil
}

// Computations returns how many computations the Hasher has started (for
// tests and metrics).
func (h *Hasher) Computations() int64 { return h.runs.Load() }
