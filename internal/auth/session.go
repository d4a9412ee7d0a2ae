package auth

import "time"

// Session lifetimes of DESIGN.md §5.3, used when a SessionPolicy leaves its
// fields zero.
const (
	DefaultIdleTimeout = 12 * time.Hour
	DefaultMaxAge      = 7 * 24 * time.Hour
)

// SessionPolicy says when a session ends: after IdleTimeout without a
// request, or MaxAge after sign-in, whichever comes first. A zero or negative
// field means its default; the zero SessionPolicy is the policy of the design.
type SessionPolicy struct {
	IdleTimeout time.Duration
	MaxAge      time.Duration
}

// ExpiresAt returns the instant the session ends, given when it was created
// and when it last served a request. A lastSeen before created (such as the
// zero time) counts as created. Use it for the cookie's Expires and for
// sweeping stored sessions.
func (p SessionPolicy) ExpiresAt(created, lastSeen time.Time) time.Time {
	idle, maxAge := p.IdleTimeout, p.MaxAge
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if lastSeen.Before(created) {
		lastSeen = created
	}
	end := created.Add(maxAge)
	if idleEnd := lastSeen.Add(idle); idleEnd.Before(end) {
		end = idleEnd
	}
	return end
}

// Expired reports whether the session has ended at now. The boundary itself
// is expired: a session idle for exactly IdleTimeout is over.
func (p SessionPolicy) Expired(created, lastSeen, now time.Time) bool {
	return !now.Before(p.ExpiresAt(created, lastSeen))
}
