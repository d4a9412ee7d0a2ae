package auth

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// mustAllow fails the test unless th allows (email, ip) at now.
func mustAllow(tb testing.TB, th *Throttle, email, ip string, now time.Time) {
	tb.Helper()
	if ok, retry := th.Allow(email, ip, now); !ok || retry != 0 {
		tb.Fatalf("Allow(%q, %q, +%v) = %v, %v; want true, 0", email, ip, now.Sub(t0), ok, retry)
	}
}

// mustDeny fails the test unless th refuses (email, ip) at now for retry.
func mustDeny(tb testing.TB, th *Throttle, email, ip string, now time.Time, retry time.Duration) {
	tb.Helper()
	if ok, got := th.Allow(email, ip, now); ok || got != retry {
		tb.Fatalf("Allow(%q, %q, +%v) = %v, %v; want false, %v", email, ip, now.Sub(t0), ok, got, retry)
	}
}

func TestThrottle_EmailLimit(t *testing.T) {
	th := NewThrottle(ThrottleConfig{})
	for i := range 5 {
		mustAllow(t, th, "bob@example.com", "192.0.2.1", t0)
		th.Failure("bob@example.com", "192.0.2.1", t0.Add(time.Duration(i)*time.Second))
	}
	// Five failures in a burst: locked until 15m/5 after the burst began.
	now := t0.Add(4 * time.Second)
	mustDeny(t, th, "bob@example.com", "192.0.2.1", now, 3*time.Minute-4*time.Second)
	// The email is locked from everywhere, case- and space-insensitively.
	mustDeny(t, th, " BOB@Example.com", "198.51.100.7", now, 3*time.Minute-4*time.Second)
	// Other emails from the same address are not.
	mustAllow(t, th, "alice@example.com", "192.0.2.1", now)

	// After the wait, one more attempt; failing it locks again.
	now = t0.Add(3*time.Minute + 5*time.Second)
	mustAllow(t, th, "bob@example.com", "192.0.2.1", now)
	th.Failure("bob@example.com", "192.0.2.1", now)
	mustDeny(t, th, "bob@example.com", "192.0.2.1", now, 3*time.Minute-5*time.Second)

	// After a quiet window everything is forgotten.
	now = now.Add(15 * time.Minute)
	mustAllow(t, th, "bob@example.com", "192.0.2.1", now)
	th.Failure("bob@example.com", "", now) // a new failure sweeps the drained buckets
	if emails, ips := th.size(); emails != 1 || ips != 0 {
		t.Errorf("size = %d emails, %d ips; want 1, 0", emails, ips)
	}
}

func TestThrottle_LockNeverExceedsWindow(t *testing.T) {
	th := NewThrottle(ThrottleConfig{})
	for range 100 { // failures past the limit (e.g. racing attempts)
		th.Failure("bob@example.com", "", t0)
	}
	mustDeny(t, th, "bob@example.com", "", t0, 3*time.Minute)
	mustAllow(t, th, "bob@example.com", "", t0.Add(3*time.Minute))
}

func TestThrottle_IPLimit(t *testing.T) {
	th := NewThrottle(ThrottleConfig{})
	for i := range 20 {
		email := fmt.Sprintf("user%d@example.com", i)
		mustAllow(t, th, email, "192.0.2.1", t0)
		th.Failure(email, "192.0.2.1", t0)
	}
	mustDeny(t, th, "new@example.com", "192.0.2.1", t0, 45*time.Second)
	mustDeny(t, th, "new@example.com", "192.0.2.1:4711", t0, 45*time.Second)
	mustDeny(t, th, "new@example.com", "::ffff:192.0.2.1", t0, 45*time.Second)
	mustAllow(t, th, "new@example.com", "192.0.2.2", t0)
	mustAllow(t, th, "new@example.com", "192.0.2.1", t0.Add(45*time.Second))
}

func TestThrottle_IPv6CountsPer64(t *testing.T) {
	th := NewThrottle(ThrottleConfig{IPFailures: 2})
	th.Failure("a@example.com", "2001:db8:1:2::1", t0)
	th.Failure("b@example.com", "[2001:db8:1:2:ffff::9]:443", t0)
	mustDeny(t, th, "c@example.com", "2001:db8:1:2:aaaa::", t0, 15*time.Minute/2)
	mustAllow(t, th, "c@example.com", "2001:db8:1:3::1", t0)
}

func TestThrottle_RetryAfterIsTheLonger(t *testing.T) {
	th := NewThrottle(ThrottleConfig{EmailFailures: 1, IPFailures: 1, Window: time.Minute})
	th.Failure("bob@example.com", "", t0)
	th.Failure("", "192.0.2.1", t0.Add(10*time.Second))
	mustDeny(t, th, "bob@example.com", "192.0.2.1", t0.Add(20*time.Second), 50*time.Second)
	mustDeny(t, th, "bob@example.com", "192.0.2.2", t0.Add(20*time.Second), 40*time.Second)
}

func TestThrottle_SuccessResetsEmailOnly(t *testing.T) {
	th := NewThrottle(ThrottleConfig{EmailFailures: 3, IPFailures: 4})
	for range 3 {
		th.Failure("Bob@example.com", "192.0.2.1", t0)
	}
	mustDeny(t, th, "bob@example.com", "192.0.2.9", t0, 5*time.Minute)
	th.Success("bob@example.com", "192.0.2.1")
	mustAllow(t, th, "bob@example.com", "192.0.2.9", t0)
	// The address keeps its three failures: one more locks it.
	th.Failure("bob@example.com", "192.0.2.1", t0)
	mustDeny(t, th, "carol@example.com", "192.0.2.1", t0, 15*time.Minute/4)
}

func TestThrottle_EmptyKeysNotLimited(t *testing.T) {
	th := NewThrottle(ThrottleConfig{EmailFailures: 1, IPFailures: 1})
	th.Failure("", "", t0)
	th.Failure("  ", "", t0)
	mustAllow(t, th, "", "", t0)
	if emails, ips := th.size(); emails != 0 || ips != 0 {
		t.Errorf("size = %d, %d; want 0, 0", emails, ips)
	}
}

func TestThrottle_Eviction(t *testing.T) {
	th := NewThrottle(ThrottleConfig{EmailFailures: 1, IPFailures: 100, MaxKeys: 2})
	th.Failure("a@example.com", "192.0.2.1", t0)
	th.Failure("b@example.com", "192.0.2.2", t0.Add(time.Second))
	th.Failure("a@example.com", "192.0.2.1", t0.Add(2*time.Second)) // a is now the most recent
	th.Failure("c@example.com", "192.0.2.3", t0.Add(3*time.Second)) // evicts b, the least recent
	now := t0.Add(4 * time.Second)
	mustAllow(t, th, "b@example.com", "", now)
	mustDeny(t, th, "a@example.com", "", now, 15*time.Minute-2*time.Second)
	mustDeny(t, th, "c@example.com", "", now, 15*time.Minute-time.Second)
	if emails, ips := th.size(); emails != 2 || ips != 2 {
		t.Errorf("size = %d emails, %d ips; want 2, 2", emails, ips)
	}
}

func TestThrottle_SweepsDrained(t *testing.T) {
	th := NewThrottle(ThrottleConfig{})
	for i := range 1000 {
		th.Failure(fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("10.0.%d.%d", i/256, i%256), t0)
	}
	if emails, ips := th.size(); emails != 1000 || ips != 1000 {
		t.Fatalf("size = %d, %d; want 1000, 1000", emails, ips)
	}
	th.Failure("late@example.com", "192.0.2.1", t0.Add(15*time.Minute))
	if emails, ips := th.size(); emails != 1 || ips != 1 {
		t.Errorf("after a window: size = %d, %d; want 1, 1", emails, ips)
	}
}

func TestThrottle_LongKeysBounded(t *testing.T) {
	th := NewThrottle(ThrottleConfig{EmailFailures: 1})
	long := strings.Repeat("x", 1<<20) + "@example.com"
	th.Failure(long, strings.Repeat("y", 1<<20), t0)
	mustDeny(t, th, strings.ToUpper(long), "", t0, 15*time.Minute)
	for k := range th.email.keys {
		if len(k) > maxThrottleKeyLen {
			t.Errorf("stored a %d-byte key", len(k))
		}
	}
	for k := range th.ip.keys {
		if len(k) > maxThrottleKeyLen {
			t.Errorf("stored a %d-byte key", len(k))
		}
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
				if ok, _ := th.Allow(email, ip, now); ok {
					th.Failure(email, ip, now)
				}
				if i%50 == 0 {
					th.Success(email, ip)
				}
			}
		})
	}
	wg.Wait()
	emails, ips := th.size()
	if emails > maxKeys || ips > maxKeys {
		t.Errorf("size = %d, %d; want at most %d each", emails, ips, maxKeys)
	}
	if n := th.email.lru.Len(); n != emails {
		t.Errorf("email lru has %d entries, map %d", n, emails)
	}
	if n := th.ip.lru.Len(); n != ips {
		t.Errorf("ip lru has %d entries, map %d", n, ips)
	}
}
