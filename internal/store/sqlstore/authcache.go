package sqlstore

import (
	"sync"
	"time"

	"github.com/portcullis-dev/portcullis/internal/store"
)

// The authentication cache spares every API request a database round trip
// to look its token or session up. It maps the hash of a secret to the
// token or session row, and it is kept correct by invalidation, not by
// expiry:
//
//   - on the node that revokes, DeleteToken, DeleteSession,
//     DeleteUserSessions, SetPassword, DeleteUser and PutUser (disabling)
//     drop the entries in the same call, after their transaction commits;
//   - on other nodes (and other processes on the same SQLite file), those
//     writes append change_log rows (kinds token, session, sessions and
//     user, see revision.go) that catch-up applies as invalidations, so a
//     revocation reaches them within the follower's poll interval; a full
//     reload empties the cache.
//
// A lookup that misses reads the row and stores it only if no invalidation
// happened since the miss (the generation check in put), so a read racing
// with a revocation can never put the revoked row back. Entries also expire
// after authCacheTTL, a safety net should a node stop hearing of changes,
// which also bounds how stale a session's LastSeen read on another node can
// be (that node touches the session itself at most once a minute). Only
// rows that exist are cached: an unknown hash always reaches the database,
// so a new token or session works at once and junk secrets cannot fill the
// cache. Whether the user may act (active, internal for tokens) is not the
// cache's business: the server asks the engine on every request.

const (
	// authCacheTTL is how long a cached token or session is trusted
	// without reading it again.
	authCacheTTL = 30 * time.Second
	// authCacheMax bounds the entries of each map; when one is full, an
	// arbitrary entry makes room.
	authCacheMax = 10_000
)

// authCache caches tokens and sessions by hash. The zero value is ready to
// use. It is safe for concurrent use.
type authCache struct {
	// now returns the time for expiry; nil means time.Now (monotonic).
	now func() time.Time

	mu sync.RWMutex
	// gen counts invalidations; put stores a row only when it has not
	// changed since the lookup that missed. Guarded by mu.
	gen      uint64
	tokens   map[string]cachedToken   // by hash; guarded by mu
	sessions map[string]cachedSession // by hash; guarded by mu
}

type cachedToken struct {
	tok   store.Token
	until time.Time
}

type cachedSession struct {
	sess  store.Session
	until time.Time
}

func (c *authCache) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// token returns the cached token with the hash, if fresh, and the
// generation to hand to putToken after reading it from the database.
func (c *authCache) token(hash string) (store.Token, bool, uint64) {
	now := c.clock()
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.tokens[hash]
	if !ok || !now.Before(e.until) {
		return store.Token{}, false, c.gen
	}
	return e.tok, true, c.gen
}

// putToken caches tok, read from the database after a miss that returned
// gen, unless something was invalidated since.
func (c *authCache) putToken(gen uint64, tok store.Token) {
	until := c.clock().Add(authCacheTTL)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.tokens == nil {
		c.tokens = map[string]cachedToken{}
	}
	if _, ok := c.tokens[tok.Hash]; !ok && len(c.tokens) >= authCacheMax {
		for h := range c.tokens {
			delete(c.tokens, h)
			break
		}
	}
	c.tokens[tok.Hash] = cachedToken{tok: tok, until: until}
}

// session returns the cached session with the hash, if fresh, and the
// generation to hand to putSession after reading it from the database.
func (c *authCache) session(hash string) (store.Session, bool, uint64) {
	now := c.clock()
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.sessions[hash]
	if !ok || !now.Before(e.until) {
		return store.Session{}, false, c.gen
	}
	return e.sess, true, c.gen
}

// putSession caches sess, read from the database after a miss that
// returned gen, unless something was invalidated since.
func (c *authCache) putSession(gen uint64, sess store.Session) {
	until := c.clock().Add(authCacheTTL)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.sessions == nil {
		c.sessions = map[string]cachedSession{}
	}
	if _, ok := c.sessions[sess.Hash]; !ok && len(c.sessions) >= authCacheMax {
		for h := range c.sessions {
			delete(c.sessions, h)
			break
		}
	}
	c.sessions[sess.Hash] = cachedSession{sess: sess, until: until}
}

// touchSession moves a cached session's LastSeen forward to at. It
// invalidates nothing: a racing read that stores an older LastSeen only
// makes the server touch again.
func (c *authCache) touchSession(hash string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.sessions[hash]; ok && at.After(e.sess.LastSeen) {
		e.sess.LastSeen = at
		c.sessions[hash] = e
	}
}

// dropToken forgets the token with the id.
func (c *authCache) dropToken(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for h, e := range c.tokens {
		if e.tok.ID == id {
			delete(c.tokens, h)
		}
	}
}

// dropSession forgets the session with the hash.
func (c *authCache) dropSession(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.sessions, hash)
}

// dropUserSessions forgets every session of the user.
func (c *authCache) dropUserSessions(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for h, e := range c.sessions {
		if e.sess.UserID == userID {
			delete(c.sessions, h)
		}
	}
}

// dropUser forgets every token and session of the user.
func (c *authCache) dropUser(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for h, e := range c.tokens {
		if e.tok.UserID == userID {
			delete(c.tokens, h)
		}
	}
	for h, e := range c.sessions {
		if e.sess.UserID == userID {
			delete(c.sessions, h)
		}
	}
}

// purge forgets everything.
func (c *authCache) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.tokens)
	clear(c.sessions)
}
