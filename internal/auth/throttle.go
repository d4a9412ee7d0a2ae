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
	// PairChecks is how many checks one email may have from one client
	// address within Window, failures and checks in flight together.
	// Default 5.
	PairChecks int
	// AddressChecks is the same for one client address, whatever the
	// email. Default 20.
	AddressChecks int
	// Window is the period the limits count over. Default 15 minutes.
	Window time.Duration
	// FreeEmailFailures is how many failures one email may collect within
	// Window, from any address, before its checks are slowed down.
	// Default 5.
	FreeEmailFailures int
	// MaxDelay caps the slow-down of one email's checks. Default 10 s.
	MaxDelay time.Duration
	// MaxKeys caps how many pairs, addresses and emails the Throttle
	// remembers, each; past it the least recently used is forgotten.
	// Default 10,000 each, a few megabytes at most.
	MaxKeys int
}

// firstDelay is the slow-down of the first failure past FreeEmailFailures;
// each further failure doubles it, up to MaxDelay.
const firstDelay = 250 * time.Millisecond

// Throttle limits password checks, in memory, to slow down guessing
// (identity.md §4). It is safe for concurrent use and starts no
// goroutines; make one with NewThrottle. Each node of a cluster throttles
// on its own.
//
// An attempt reserves its slot before anything is checked (Reserve) and
// holds it while in flight, so the limits hold whatever the concurrency:
// at most PairChecks checks per (email, client address) and AddressChecks
// per client address within Window, counting the failures of the window
// and the attempts in flight. A refused attempt checks nothing, so a
// correct password past the limit is refused like a wrong one.
//
// Across addresses, failures for one email slow its checks down (the
// Delay of a Reservation: 250 ms after FreeEmailFailures, doubling, at
// most MaxDelay) and never refuse them, so nobody can lock a user out by
// knowing her email.
//
// IPv6 addresses count per /64, since one client usually holds a whole /64.
type Throttle struct {
	mu        sync.Mutex
	cfg       ThrottleConfig
	pair      counters // guarded by mu; key email + "\x00" + address
	addr      counters // guarded by mu
	email     counters // guarded by mu
	reserving int      // guarded by mu: reservations not yet settled (tests)
}

// NewThrottle returns a Throttle with cfg's limits.
func NewThrottle(cfg ThrottleConfig) *Throttle {
	cfg.PairChecks = orDefault(cfg.PairChecks, 5)
	cfg.AddressChecks = orDefault(cfg.AddressChecks, 20)
	cfg.FreeEmailFailures = orDefault(cfg.FreeEmailFailures, 5)
	cfg.MaxKeys = orDefault(cfg.MaxKeys, 10_000)
	if cfg.Window <= 0 {
		cfg.Window = 15 * time.Minute
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 10 * time.Second
	}
	// One email remembers enough failures to reach MaxDelay.
	emailKeep := cfg.FreeEmailFailures + 1
	for d := firstDelay; d < cfg.MaxDelay; d *= 2 {
		emailKeep++
	}
	return &Throttle{
		cfg:   cfg,
		pair:  newCounters(cfg.PairChecks, cfg.Window, cfg.MaxKeys),
		addr:  newCounters(cfg.AddressChecks, cfg.Window, cfg.MaxKeys),
		email: newCounters(emailKeep, cfg.Window, cfg.MaxKeys),
	}
}

func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// Reservation is one attempt's slot, from Reserve until it is settled by
// exactly one of Success, Failure or Cancel (later calls do nothing).
type Reservation struct {
	t                 *Throttle
	pair, addr, email string
	// Delay is how long the caller waits before checking: the slow-down
	// of an email with recent failures (zero for most attempts). The
	// caller waits without holding a Hasher turn.
	Delay   time.Duration
	settled bool // guarded by t.mu
}

// Reserve reserves a check of a secret for email from client address ip at
// now. It returns nil and how long until a slot frees when the pair or the
// address is at its limit; then nothing may be checked. An empty email or
// ip is not limited on that side.
//
// The calls of every guarded check follow one pattern (identity.md §4):
//
//	r, retry := t.Reserve(email, ip, now)
//	if r == nil { return 429 rate_limited, retry }
//	wait r.Delay (without holding a Hasher turn)
//	check the secret
//	r.Success() if it matched, r.Failure(now) if not,
//	r.Cancel() if nothing was checked (the database failed, ErrBusy)
func (t *Throttle) Reserve(email, ip string, now time.Time) (r *Reservation, retryAfter time.Duration) {
	ek, ik := emailKey(email), ipKey(ip)
	r = &Reservation{t: t, email: ek, addr: ik}
	if ek != "" && ik != "" {
		r.pair = ek + "\x00" + ik
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	retryAfter = max(t.pair.wait(r.pair, now), t.addr.wait(ik, now))
	if retryAfter > 0 {
		return nil, retryAfter
	}
	n := t.email.used(ek, now)
	if free := t.cfg.FreeEmailFailures; n >= free {
		r.Delay = t.cfg.MaxDelay
		if shift := n - free; shift < 16 {
			r.Delay = min(t.cfg.MaxDelay, firstDelay<<shift)
		}
	}
	t.pair.hold(r.pair, now)
	t.addr.hold(ik, now)
	t.email.hold(ek, now)
	t.reserving++
	return r, 0
}

// Success settles a matching check: its slot is freed and the pair's
// failures are forgotten, so the owner who finally types the right
// password starts afresh from that address. The address's and the email's
// failures stay (they may be guesses at other accounts, or from other
// addresses).
func (r *Reservation) Success() {
	r.settle(func(t *Throttle) {
		t.pair.reset(r.pair)
		t.addr.drop(r.addr)
		t.email.drop(r.email)
	})
}

// Failure settles a failed check at now: its slot stays taken until the
// failure leaves the window, and the email's checks slow down.
func (r *Reservation) Failure(now time.Time) {
	r.settle(func(t *Throttle) {
		t.pair.fail(r.pair, now)
		t.addr.fail(r.addr, now)
		t.email.fail(r.email, now)
	})
}

// Cancel settles an attempt that checked nothing: its slot is freed.
func (r *Reservation) Cancel() {
	r.settle(func(t *Throttle) {
		t.pair.drop(r.pair)
		t.addr.drop(r.addr)
		t.email.drop(r.email)
	})
}

func (r *Reservation) settle(f func(*Throttle)) {
	if r == nil {
		return
	}
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	if r.settled {
		return
	}
	r.settled = true
	r.t.reserving--
	f(r.t)
}

// size returns how many pairs, addresses and emails t remembers and how
// many reservations are unsettled (for tests).
func (t *Throttle) size() (pairs, addrs, emails, unsettled int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pair.keys), len(t.addr.keys), len(t.email.keys), t.reserving
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

// counters is one side of a Throttle: per key, the failures of the window
// and the attempts in flight, with least-recently-used order for eviction.
type counters struct {
	limit   int // the most failures plus attempts in flight a key may hold
	window  time.Duration
	maxKeys int
	keys    map[string]*list.Element // key → element of lru holding a *counter
	lru     *list.List               // front: least recently used
}

// counter holds one key's recent failures (oldest first, at most limit of
// them) and how many of its attempts are in flight.
type counter struct {
	key      string
	fails    []time.Time
	inFlight int
}

func newCounters(limit int, window time.Duration, maxKeys int) counters {
	return counters{limit: limit, window: window, maxKeys: maxKeys,
		keys: make(map[string]*list.Element), lru: list.New()}
}

// get returns key's counter with failures older than the window dropped,
// or nil.
func (s *counters) get(key string, now time.Time) *counter {
	e := s.keys[key]
	if key == "" || e == nil {
		return nil
	}
	c := e.Value.(*counter)
	cut := now.Add(-s.window)
	i := 0
	for i < len(c.fails) && !c.fails[i].After(cut) {
		i++
	}
	c.fails = c.fails[i:]
	if len(c.fails) == 0 && c.inFlight == 0 {
		s.remove(e)
		return nil
	}
	return c
}

// used is how many failures and attempts in flight key holds at now.
func (s *counters) used(key string, now time.Time) int {
	c := s.get(key, now)
	if c == nil {
		return 0
	}
	return len(c.fails) + c.inFlight
}

// wait returns how long key waits at now for a free slot, zero if one is
// free. When only attempts in flight fill it, that is one second.
func (s *counters) wait(key string, now time.Time) time.Duration {
	c := s.get(key, now)
	if c == nil || len(c.fails)+c.inFlight < s.limit {
		return 0
	}
	// The slot frees when enough failures leave the window.
	if over := len(c.fails) + c.inFlight - s.limit; over < len(c.fails) {
		return max(time.Second, c.fails[over].Add(s.window).Sub(now))
	}
	return time.Second
}

// hold takes a slot for an attempt in flight.
func (s *counters) hold(key string, now time.Time) {
	if key == "" {
		return
	}
	c := s.get(key, now)
	if c == nil {
		s.sweep(now)
		if len(s.keys) >= s.maxKeys {
			s.remove(s.lru.Front())
		}
		c = &counter{key: key}
		s.keys[key] = s.lru.PushBack(c)
	}
	s.lru.MoveToBack(s.keys[key])
	c.inFlight++
}

// drop frees an attempt's slot (it was forgotten meanwhile if evicted).
func (s *counters) drop(key string) {
	if e := s.keys[key]; e != nil {
		if c := e.Value.(*counter); c.inFlight > 0 {
			c.inFlight--
		}
	}
}

// fail turns an attempt in flight into a failure at now; a key keeps its
// newest limit failures, enough for every decision.
func (s *counters) fail(key string, now time.Time) {
	e := s.keys[key]
	if e == nil {
		return // forgotten meanwhile (evicted): its failure is lost
	}
	c := e.Value.(*counter)
	if c.inFlight > 0 {
		c.inFlight--
	}
	c.fails = append(c.fails, now)
	if len(c.fails) > s.limit {
		c.fails = append(c.fails[:0], c.fails[len(c.fails)-s.limit:]...)
	}
	s.lru.MoveToBack(e)
}

// reset frees an attempt's slot and forgets the key's failures.
func (s *counters) reset(key string) {
	if e := s.keys[key]; e != nil {
		c := e.Value.(*counter)
		c.fails = nil
		if c.inFlight > 0 {
			c.inFlight--
		}
		if c.inFlight == 0 {
			s.remove(e)
		}
	}
}

// sweep forgets, from the least recently used end, keys with nothing in
// the window and nothing in flight, so memory stays with the keys used
// within the last window.
func (s *counters) sweep(now time.Time) {
	for e := s.lru.Front(); e != nil; {
		next := e.Next()
		c := e.Value.(*counter)
		if c.inFlight > 0 || (len(c.fails) > 0 && c.fails[len(c.fails)-1].After(now.Add(-s.window))) {
			return
		}
		s.remove(e)
		e = next
	}
}

func (s *counters) remove(e *list.Element) {
	delete(s.keys, e.Value.(*counter).key)
	s.lru.Remove(e)
}
