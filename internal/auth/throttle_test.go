package auth

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// mustReserve fails the test unless th reserves (email, ip) at now.
func mustReserve(tb testing.TB, th *Throttle, email, ip string, now time.Time) *Reservation {
	tb.Helper()
	r, retry := th.Reserve(email, ip, now)
	if r == nil || retry != 0 {
		tb.Fatalf("Reserve(%q, %q, +%v) = %v, %v; want a reservation", email, ip, now.Sub(t0), r, retry)
	}
	return r
}

// mustRefuse fails the test unless th refuses (email, ip) at now for retry.
func mustRefuse(tb testing.TB, th *Throttle, email, ip string, now time.Time, retry time.Duration) {
	tb.Helper()
	if r, got := th.Reserve(email, ip, now); r != nil || got != retry {
		tb.Fatalf("Reserve(%q, %q, +%v) = %v, %v; want nil, %v", email, ip, now.Sub(t0), r, got, retry)
	}
}

func TestThrottle_PairLimit(t *testing.T) {
	th := NewThrottle(ThrottleConfig{})
	for i := range 5 {
		mustReserve(t, th, "bob@example.com", "192.0.2.1", t0).Failure(t0.Add(time.Duration(i) * time.Second))
	}
	now := t0.Add(5 * time.Second)
	// The pair is full until the oldest failure leaves the window.
	mustRefuse(t, th, "bob@example.com", "192.0.2.1", now, 15*time.Minute-5*time.Second)
	mustRefuse(t, th, " BOB@Example.com", "192.0.2.1", now, 15*time.Minute-5*time.Second)
	// The same email from elsewhere is not refused (no lockout by email),
	// nor other emails from the same address.
	mustReserve(t, th, "bob@example.com", "198.51.100.7", now).Cancel()
	mustReserve(t, th, "alice@example.com", "192.0.2.1", now).Cancel()
	// Once the oldest failure leaves the window, one more check.
	now = t0.Add(15*time.Minute + 500*time.Millisecond)
	mustReserve(t, th, "bob@example.com", "192.0.2.1", now).Failure(now)
	mustRefuse(t, th, "bob@example.com", "192.0.2.1", now, time.Second)
}

func TestThrottle_InFlightCounts(t *testing.T) {
	th := NewThrottle(ThrottleConfig{})
	var rs []*Reservation
	for range 5 {
		rs = append(rs, mustReserve(t, th, "bob@example.com", "192.0.2.1", t0))
	}
	// Five checks in flight fill the pair before any failure is recorded.
	mustRefuse(t, th, "bob@example.com", "192.0.2.1", t0, time.Second)
	rs[0].Cancel() // nothing was checked: the slot frees
	rs[0].Cancel() // settling twice changes nothing
	r := mustReserve(t, th, "bob@example.com", "192.0.2.1", t0)
	mustRefuse(t, th, "bob@example.com", "192.0.2.1", t0, time.Second)
	r.Success() // frees the slot and forgets the pair's failures
	for _, r := range rs[1:] {
		r.Failure(t0)
	}
	mustReserve(t, th, "bob@example.com", "192.0.2.1", t0).Cancel()
	if _, _, _, unsettled := th.size(); unsettled != 0 {
		t.Errorf("%d reservations unsettled", unsettled)
	}
}

func TestThrottle_AddressLimit(t *testing.T) {
	th := NewThrottle(ThrottleConfig{})
	for i := range 20 {
		mustReserve(t, th, fmt.Sprintf("u%d@example.com", i), "192.0.2.1", t0).Failure(t0)
	}
	mustRefuse(t, th, "new@example.com", "192.0.2.1", t0, 15*time.Minute)
	mustRefuse(t, th, "new@example.com", "192.0.2.1:4711", t0, 15*time.Minute) // the port does not matter
	mustReserve(t, th, "new@example.com", "192.0.2.2", t0).Cancel()
}

func TestThrottle_SuccessKeepsAddressFree(t *testing.T) {
	// Fifty colleagues behind one NAT signing in correctly are never
	// refused: successes free their slots.
	th := NewThrottle(ThrottleConfig{})
	for i := range 50 {
		mustReserve(t, th, fmt.Sprintf("u%d@example.com", i), "192.0.2.1", t0).Success()
	}
	mustReserve(t, th, "late@example.com", "192.0.2.1", t0).Cancel()
}

func TestThrottle_IPv6CountsPer64(t *testing.T) {
	th := NewThrottle(ThrottleConfig{AddressChecks: 1})
	mustReserve(t, th, "a@example.com", "2001:db8:1:2::1", t0).Failure(t0)
	mustRefuse(t, th, "b@example.com", "2001:db8:1:2:ffff::9", t0, 15*time.Minute)
	mustReserve(t, th, "b@example.com", "2001:db8:1:3::1", t0).Cancel()
	mustReserve(t, th, "b@example.com", "::ffff:192.0.2.1", t0).Failure(t0)
	mustRefuse(t, th, "c@example.com", "192.0.2.1", t0, 15*time.Minute)
}

func TestThrottle_EmailSlowsDownNeverRefuses(t *testing.T) {
	th := NewThrottle(ThrottleConfig{})
	want := []time.Duration{0, 0, 0, 0, 0, 250 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, d := range append(want, make([]time.Duration, 30)...) {
		if i >= len(want) {
			d = 10 * time.Second
		}
		ip := fmt.Sprintf("10.0.0.%d", i) // a new address each time
		r := mustReserve(t, th, "victim@example.com", ip, t0)
		if r.Delay != d {
			t.Fatalf("attempt %d: Delay = %v, want %v", i, r.Delay, d)
		}
		r.Failure(t0)
	}
	// After a quiet window the email is fast again.
	if r := mustReserve(t, th, "victim@example.com", "10.1.0.1", t0.Add(15*time.Minute)); r.Delay != 0 {
		t.Errorf("after a window: Delay = %v", r.Delay)
	}
}

func TestThrottle_EmptyKeysNotLimited(t *testing.T) {
	th := NewThrottle(ThrottleConfig{PairChecks: 1, AddressChecks: 1})
	for range 3 {
		mustReserve(t, th, "", "", t0).Failure(t0)
		mustReserve(t, th, "  ", "", t0).Failure(t0)
	}
	if p, a, e, _ := th.size(); p+a+e != 0 {
		t.Errorf("size = %d, %d, %d; want nothing remembered", p, a, e)
	}
}

func TestThrottle_Eviction(t *testing.T) {
	th := NewThrottle(ThrottleConfig{AddressChecks: 1, MaxKeys: 2})
	mustReserve(t, th, "a@example.com", "192.0.2.1", t0).Failure(t0)
	mustReserve(t, th, "b@example.com", "192.0.2.2", t0).Failure(t0)
	mustReserve(t, th, "c@example.com", "192.0.2.3", t0).Failure(t0) // forgets 192.0.2.1, the least recent
	mustReserve(t, th, "x@example.com", "192.0.2.1", t0).Cancel()
	p, a, e, _ := th.size()
	if p > 2 || a > 2 || e > 2 {
		t.Errorf("size = %d, %d, %d; want at most 2 each", p, a, e)
	}
}

func TestThrottle_SweepsQuietKeys(t *testing.T) {
	th := NewThrottle(ThrottleConfig{})
	for i := range 1000 {
		mustReserve(t, th, fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("10.0.%d.%d", i/256, i%256), t0).Failure(t0)
	}
	if p, a, e, _ := th.size(); p != 1000 || a != 1000 || e != 1000 {
		t.Fatalf("size = %d, %d, %d; want 1000 each", p, a, e)
	}
	mustReserve(t, th, "late@example.com", "192.0.2.1", t0.Add(15*time.Minute)).Failure(t0.Add(15 * time.Minute))
	if p, a, e, _ := th.size(); p != 1 || a != 1 || e != 1 {
		t.Errorf("after a window: size = %d, %d, %d; want 1 each", p, a, e)
	}
}

func TestThrottle_LongKeysBounded(t *testing.T) {
	th := NewThrottle(ThrottleConfig{PairChecks: 1})
	long := strings.Repeat("x", 1<<20) + "@example.com"
	mustReserve(t, th, long, strings.Repeat("y", 1<<20), t0).Failure(t0)
	mustRefuse(t, th, strings.ToUpper(long), strings.Repeat("y", 1<<20), t0, 15*time.Minute)
	for _, s := range []*counters{&th.pair, &th.addr, &th.email} {
		for k := range s.keys {
			if len(k) > 2*maxThrottleKeyLen+1 {
				t.Errorf("stored a %d-byte key", len(k))
			}
		}
	}
}

// TestThrottle_ConcurrentGuesses is the burst of the issue: 200 parallel
// wrong guesses for one email from one address reserve at most 5 checks.
func TestThrottle_ConcurrentGuesses(t *testing.T) {
	th := NewThrottle(ThrottleConfig{})
	var checks atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			r, _ := th.Reserve("bob@example.com", "192.0.2.1", t0)
			if r == nil {
				return
			}
			checks.Add(1)
			time.Sleep(time.Millisecond)
			r.Failure(t0)
		})
	}
	wg.Wait()
	if n := checks.Load(); n > 5 {
		t.Errorf("%d checks, want at most 5", n)
	}
}

func TestThrottle_Concurrent(t *testing.T) {
	const maxKeys = 50
	th := NewThrottle(ThrottleConfig{MaxKeys: maxKeys})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				email := fmt.Sprintf("u%d@example.com", (g*7+i)%80)
				ip := fmt.Sprintf("192.0.2.%d", i%70)
				now := t0.Add(time.Duration(i) * time.Second)
				if r, _ := th.Reserve(email, ip, now); r != nil {
					switch i % 3 {
					case 0:
						r.Success()
					case 1:
						r.Failure(now)
					default:
						r.Cancel()
					}
				}
			}
		})
	}
	wg.Wait()
	for _, s := range []*counters{&th.pair, &th.addr, &th.email} {
		if len(s.keys) > maxKeys || s.lru.Len() != len(s.keys) {
			t.Errorf("%d keys, lru %d; want at most %d, equal", len(s.keys), s.lru.Len(), maxKeys)
		}
	}
	if _, _, _, n := th.size(); n != 0 {
		t.Errorf("%d unsettled", n)
	}
}
