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
// access model: their writes bump no revision and are not audited (the
// server logs sign-ins with Log). Idle and absolute expiry are the caller's
// checks against CreatedAt and LastSeen.

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
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO sessions (hash, user_id, created_at, last_seen) VALUES (?, ?, ?, ?)`),
		sess.Hash, sess.UserID, toMicros(sess.CreatedAt), toMicros(sess.LastSeen)); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash returns a session (primary key lookup), or not_found.
func (s *Store) SessionByHash(ctx context.Context, hash string) (store.Session, error) {
	var sess store.Session
	var created, seen int64
	err := s.queryRow(ctx, `SELECT hash, user_id, created_at, last_seen FROM sessions WHERE hash = ?`, hash).
		Scan(&sess.Hash, &sess.UserID, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, notFound("session not found")
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("read session: %w", err)
	}
	sess.CreatedAt, sess.LastSeen = fromMicros(created), fromMicros(seen)
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
		return notFound("session not found")
	}
	return nil
}

// DeleteSession ends a session; a missing one is no error.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM sessions WHERE hash = ?`), hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user (sessions_user serves it).
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM sessions WHERE user_id = ?`), userID); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	return nil
}
