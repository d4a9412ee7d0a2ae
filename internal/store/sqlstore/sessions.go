package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/portcullis-dev/portcullis/internal/store"
)

// Sessions are stored by the hash of their secret. They are not part of the
// access model and are not audited (the server logs sign-ins with Log).
// Creating and touching a session bumps no revision; ending sessions does,
// because it appends a change_log row (kinds session and sessions) that
// other nodes apply to their authentication caches (authcache.go). Idle and
// absolute expiry are the caller's checks against CreatedAt and LastSeen;
// a LastSeen read from the cache may lag another node's touch by up to
// authCacheTTL.

// CreateSession stores a new session; a missing user is invalid.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	if sess.Hash == "" {
		return invalid("session hash is required")
	}
	now := s.now()
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = now
	}
	if sess.LastSeen.IsZero() {
		sess.LastSeen = sess.CreatedAt
	}
	var one int
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM users WHERE id = ?`), sess.UserID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return invalid("user %s does not exist", sess.UserID)
	}
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO sessions (hash, user_id, created_at, last_seen, mfa_enrol_only) VALUES (?, ?, ?, ?, ?)`),
		sess.Hash, sess.UserID, toMicros(sess.CreatedAt), toMicros(sess.LastSeen), sess.MFAEnrolOnly); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash returns a session, or not_found. It answers from the
// authentication cache when it can; otherwise a prepared primary key
// lookup reads it, and a session found is cached.
func (s *Store) SessionByHash(ctx context.Context, hash string) (store.Session, error) {
	cached, ok, gen := s.auth.session(hash)
	if ok {
		return cached, nil
	}
	var sess store.Session
	var created, seen int64
	err := s.readRow(ctx, `SELECT hash, user_id, created_at, last_seen, mfa_enrol_only FROM sessions WHERE hash = $1`, hash).
		Scan(&sess.Hash, &sess.UserID, &created, &seen, &sess.MFAEnrolOnly)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, notFound("session not found")
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("read session: %w", err)
	}
	sess.CreatedAt, sess.LastSeen = fromMicros(created), fromMicros(seen)
	s.auth.putSession(gen, sess)
	return sess, nil
}

// TouchSession records activity at at, or fails with not_found. On SQLite
// every touch is a write on the single writer connection: callers touch at
// most once a minute or so per session.
func (s *Store) TouchSession(ctx context.Context, hash string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE sessions SET last_seen = ? WHERE hash = ?`), toMicros(at), hash)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		s.auth.dropSession(hash)
		return notFound("session not found")
	}
	s.auth.touchSession(hash, at.UTC().Truncate(time.Microsecond))
	return nil
}

// DeleteSession ends a session; a missing one is no error (and changes
// nothing). The session is refused on this store as soon as DeleteSession
// returns, and on other nodes once they catch up with the change log.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.write(ctx, store.Write{}, func(t *wtx) error {
		res, err := t.exec(`DELETE FROM sessions WHERE hash = ?`, hash)
		if err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete session: %w", err)
		} else if n == 0 {
			return errNoop
		}
		return t.change(changeSession, hash)
	})
	// After the commit: see DeleteToken.
	s.auth.dropSession(hash)
	return err
}

// DeleteUserSessions ends every session of a user (sessions_user serves
// it), at once on this store and on other nodes once they catch up.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	_, err := s.write(ctx, store.Write{}, func(t *wtx) error {
		res, err := t.exec(`DELETE FROM sessions WHERE user_id = ?`, userID)
		if err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		} else if n == 0 {
			return errNoop
		}
		return t.change(changeSessions, userID)
	})
	s.auth.dropUserSessions(userID)
	return err
}
