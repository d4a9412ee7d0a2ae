package app

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// ViewAsReaudit is how often a staff user (or token) who keeps reading as
// one external user is audited again: view as is audited when it starts
// (ViewAs, "portal.view_as"), again on the first portal page at most this
// long after the last entry, whatever URL it opens, and an as_user read
// through the API ("as_user.read") the same way.
const ViewAsReaudit = 10 * time.Minute

// maxViewAsTracked bounds the (actor, user) pairs viewAsLog remembers.
// When it is full, pairs older than ViewAsReaudit are dropped first, then
// arbitrary ones (which are audited again on their next read: the bound
// can only add entries, never lose one).
const maxViewAsTracked = 10_000

// viewAsLog remembers when each (actor, user) pair was last audited. It is
// in memory and per node: on a cluster each node audits a pair at most
// every ViewAsReaudit, so the log holds at most one entry per node and
// pair in that time; a restart audits every pair again.
type viewAsLog struct {
	mu   sync.Mutex
	last map[viewAsKey]time.Time // guarded by mu
}

// viewAsKey is an audit actor (Actor.AuditID: a staff user, whatever its
// session, or a token) and the user it reads as.
type viewAsKey struct{ actor, user string }

// due reports whether the pair is to be audited at now, and if so records
// now as its last entry.
func (l *viewAsLog) due(k viewAsKey, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[k]; ok && now.Sub(t) < ViewAsReaudit && !now.Before(t) {
		return false
	}
	if l.last == nil {
		l.last = map[viewAsKey]time.Time{}
	}
	if _, ok := l.last[k]; !ok && len(l.last) >= maxViewAsTracked {
		for key, t := range l.last {
			if now.Sub(t) >= ViewAsReaudit {
				delete(l.last, key)
			}
		}
		for key := range l.last {
			if len(l.last) < maxViewAsTracked {
				break
			}
			delete(l.last, key)
		}
	}
	l.last[k] = now
	return true
}

// forget drops a pair whose entry could not be written, so the next read
// tries again.
func (l *viewAsLog) forget(k viewAsKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.last, k)
}

// auditViewAs writes the entry action (target "user:<id>", after the
// account the user's portal opens on) of c reading as u, unless the pair
// had one less than ViewAsReaudit ago on this node. A failed write is
// returned: a read as another user that cannot be audited is refused.
func (a *App) auditViewAs(ctx context.Context, c *Actor, u access.User, action string) error {
	k := viewAsKey{actor: c.AuditID(), user: u.ID}
	now := a.Now()
	if !a.viewAs.due(k, now) {
		return nil
	}
	var after json.RawMessage
	if accts := a.eng.Reach(u.ID); len(accts) > 0 {
		after, _ = json.Marshal(map[string]string{"account": PreferredAccount(u, accts)})
	}
	if err := a.st.Log(ctx, store.AuditEntry{Time: now, Actor: k.actor, Action: action, Target: "user:" + u.ID, After: after}); err != nil {
		a.viewAs.forget(k)
		return err
	}
	return nil
}
