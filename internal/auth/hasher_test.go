package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHasher_QueueTimeout(t *testing.T) {
	h := NewHasher(1, 20*time.Millisecond)
	h.sem <- struct{}{} // the one turn is taken
	if _, err := h.Verify(context.Background(), "$argon2id$x", "pw"); !errors.Is(err, ErrBusy) {
		t.Errorf("Verify with the gate full = %v, want ErrBusy", err)
	}
	if err := h.DummyVerify(context.Background()); !errors.Is(err, ErrBusy) {
		t.Errorf("DummyVerify with the gate full = %v, want ErrBusy", err)
	}
	if _, err := h.Hash(context.Background(), "a long passphrase"); !errors.Is(err, ErrBusy) {
		t.Errorf("Hash with the gate full = %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewHasher(1, time.Hour).acquireFull(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("acquire with a cancelled context = %v", err)
	}
	<-h.sem
	if n := h.Computations(); n != 0 {
		t.Errorf("%d computations started", n)
	}
	if err := h.DummyVerify(context.Background()); err != nil || h.Computations() != 1 {
		t.Errorf("DummyVerify = %v, %d computations", err, h.Computations())
	}
}

// acquireFull fills the gate, then acquires (for the cancellation case).
func (h *Hasher) acquireFull(ctx context.Context) error {
	h.sem <- struct{}{}
	return h.acquire(ctx)
}

func TestHasher_LongPasswordsNotHashed(t *testing.T) {
	h := NewHasher(1, time.Second)
	long := strings.Repeat("x", MaxPasswordBytes+1)
	if _, err := h.Hash(context.Background(), long); !errors.Is(err, ErrInvalidPassword) {
		t.Errorf("Hash(long) = %v", err)
	}
	if ok, err := h.Verify(context.Background(), "$argon2id$x", long); ok || err != nil {
		t.Errorf("Verify(long) = %v, %v", ok, err)
	}
	if n := h.Computations(); n != 0 {
		t.Errorf("%d computations", n)
	}
}

func TestNewHasher_SizedToCPUs(t *testing.T) {
	if n := cap(NewHasher(0, 0).sem); n < 1 || n > MaxConcurrentHashes {
		t.Errorf("gate of %d", n)
	}
}
