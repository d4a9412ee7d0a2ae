package auth

import (
	"container/list"
	"crypto/sha256"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ThrottleConfig sets the limits of a Throttle. A zero or negative field
// means its default.
type ThrottleConfig struct {
	// EmailFailures is how many failed sign-ins one email may collect within
	// Window before Allow refuses it. Default 5.
	EmailFailures int
	// IPFailures is the same for one client address. Default 20.
	IPFailures int
	// Window is the period the limits count over. Default 15 minutes.
	Window time.Duration
	// MaxKeys caps how many emails, and separately how many addresses, the
	// Throttle remembers; past it the least recently failed is forgotten.
	// Default 10,000 each, a few megabytes at most.
	MaxKeys int
}

// Throttle limits failed sign-ins per account (the email, case-insensitive)
// and per client address, in memory, to slow down password guessing. It is
// safe for concurrent use and starts no goroutines; the zero value is not
// usable, make one with NewThrottle.
//
// Each key is a token bucket of failures (kept as the GCRA "theoretical
// arrival time", one instant per key): up to the limit at once, then one more
// every Window/limit. With the defaults, five wrong passwords for one email
// lock it for three minutes, after which one more attempt is allowed every
// three minutes; after fifteen quiet minutes it is forgotten.
//
// IPv6 addresses count per /64, since one client usually holds a whole /64.
//
// Allow and Failure are separate calls, so concurrent attempts for one key
// may all pass Allow before their failures are recorded; bounding concurrent
// password checks in the server (see the package doc) bounds this overshoot.
// Each node of a cluster throttles on its own.
type Throttle struct {
	mu    sync.Mutex
	email buckets // guarded by mu
	ip    buckets // guarded by mu
}

// NewThrottle returns a Throttle with cfg's limits.
func NewThrottle(cfg ThrottleConfig) *Throttle {
	window := cfg.Window
	if window <= 0 {
		window = 15 * time.Minute
	}
	maxKeys := cfg.MaxKeys
	if maxKeys <= 0 {
		maxKeys = 10_000
	}
	return &Throttle{
		email: newBuckets(orDefault(cfg.EmailFailures, 5), window, maxKeys),
		ip:    newBuckets(orDefault(cfg.IPFailures, 20), window, maxKeys),
	}
}

func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// Allow reports whether a sign-in for email from ip may be tried at now, and
// if not, how long until it may. An empty email or ip is not limited on that
// side. Allow records nothing; report the outcome with Failure or Success.
func (t *Throttle) Allow(email, ip string, now time.Time) (ok bool, retryAfter time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	retryAfter = max(t.email.wait(emailKey(email), now), t.ip.wait(ipKey(ip), now))
	return retryAfter == 0, retryAfter
}

// Failure records a failed sign-in for email from ip at now: a wrong
// password, or an email that has no account.
func (t *Throttle) Failure(email, ip string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.email.fail(emailKey(email), now)
	t.ip.fail(ipKey(ip), now)
}

// Success records a successful sign-in: it forgets the email's failures, so
// the owner who finally types the right password starts afresh. It keeps the
// address's failures, which may belong to guesses at other accounts (password
// spraying); ip is accepted for symmetry with Failure.
func (t *Throttle) Success(email, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.email.reset(emailKey(email))
}

// size returns how many emails and addresses t remembers (for tests).
func (t *Throttle) size() (emails, ips int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.email.keys), len(t.ip.keys)
}

// maxThrottleKeyLen bounds the bytes a remembered key takes: longer keys (no real
// email or address is) are stored as their SHA-256, so a client cannot make
// the Throttle hold megabyte keys.
const maxThrottleKeyLen = 254

func emailKey(email string) string {
	return boundKey(strings.ToLower(strings.TrimSpace(email)))
}

// ipKey normalises a client address: "host:port" loses its port, an
// IPv4-mapped IPv6 address becomes IPv4, and IPv6 keeps its /64 prefix. A
// string that is no address is used as it is.
func ipKey(ip string) string {
	ip = strings.TrimSpace(ip)
	a, err := netip.ParseAddr(ip)
	if err != nil {
		ap, err := netip.ParseAddrPort(ip)
		if err != nil {
			return boundKey(ip)
		}
		a = ap.Addr()
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64) // cannot fail: 64 bits fit an IPv6 address
		return p.String()
	}
	return a.String()
}

func boundKey(k string) string {
	if len(k) <= maxThrottleKeyLen {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return string(sum[:])
}

// buckets is one side of a Throttle: the failure buckets of emails or of
// addresses, with least-recently-failed order for eviction.
type buckets struct {
	interval time.Duration // how long one failure takes to drain: Window/limit
	window   time.Duration // how far tat may run ahead of now
	maxKeys  int
	keys     map[string]*list.Element // key → element of lru holding a *bucket
	lru      *list.List               // front: least recently failed
}

// bucket holds one key's theoretical arrival time: the instant at which all
// its recorded failures will have drained. tat-now ≤ window-interval allows.
type bucket struct {
	key string
	tat time.Time
}

func newBuckets(limit int, window time.Duration, maxKeys int) buckets {
	return buckets{
		interval: window / time.Duration(limit),
		window:   window,
		maxKeys:  maxKeys,
		keys:     make(map[string]*list.Element),
		lru:      list.New(),
	}
}

// wait returns how long key must wait at now before its next attempt, zero
// if it may try now.
func (s *buckets) wait(key string, now time.Time) time.Duration {
	e := s.keys[key]
	if key == "" || e == nil {
		return 0
	}
	b := e.Value.(*bucket)
	if !b.tat.After(now) { // fully drained: forget it
		s.remove(e)
		return 0
	}
	return max(0, b.tat.Sub(now)-(s.window-s.interval))
}

// fail adds one failure to key's bucket at now. Failures past the limit
// lengthen the wait, but never beyond one window.
func (s *buckets) fail(key string, now time.Time) {
	if key == "" {
		return
	}
	s.sweep(now)
	e := s.keys[key]
	if e == nil {
		if len(s.keys) >= s.maxKeys {
			s.remove(s.lru.Front())
		}
		e = s.lru.PushBack(&bucket{key: key, tat: now})
		s.keys[key] = e
	}
	s.lru.MoveToBack(e)
	b := e.Value.(*bucket)
	if b.tat.Before(now) {
		b.tat = now
	}
	b.tat = b.tat.Add(s.interval)
	if limit := now.Add(s.window); b.tat.After(limit) {
		b.tat = limit
	}
}

// sweep forgets drained buckets from the least recently failed end. Each
// bucket is removed at most once, so the cost is constant per failure
// recorded; it keeps memory to the keys that failed within the last window.
func (s *buckets) sweep(now time.Time) {
	for e := s.lru.Front(); e != nil && !e.Value.(*bucket).tat.After(now); e = s.lru.Front() {
		s.remove(e)
	}
}

func (s *buckets) reset(key string) {
	if e := s.keys[key]; e != nil {
		s.remove(e)
	}
}

func (s *buckets) remove(e *list.Element) {
	delete(s.keys, e.Value.(*bucket).key)
	s.lru.Remove(e)
}
