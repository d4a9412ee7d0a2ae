package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Second factors (store.MFAStore). They are not part of the access model:
// no change_log rows, nothing cached; every read goes to the database, so
// all nodes agree at once. Turning TOTP on or off is a revision-bumping,
// audited write; recording a used step or recovery code is one atomic
// UPDATE, so two nodes cannot both accept the same code.

var _ store.MFAStore = (*Store)(nil)

// TOTP returns the user's TOTP state, or not_found.
func (s *Store) TOTP(ctx context.Context, userID string) (store.TOTP, error) {
	var t store.TOTP
	var created int64
	var enabled sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT user_id, secret, created_at, enabled_at, last_step FROM mfa_totp WHERE user_id = ?`), userID).
		Scan(&t.UserID, &t.Secret, &created, &enabled, &t.LastStep)
	if errors.Is(err, sql.ErrNoRows) {
		return store.TOTP{}, notFound("no TOTP for user %s", userID)
	}
	if err != nil {
		return store.TOTP{}, fmt.Errorf("read totp: %w", err)
	}
	t.CreatedAt = fromMicros(created)
	if enabled.Valid {
		at := fromMicros(enabled.Int64)
		t.EnabledAt = &at
	}
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = ? AND used_at IS NULL`), userID).
		Scan(&t.RecoveryLeft); err != nil {
		return store.TOTP{}, fmt.Errorf("count recovery codes: %w", err)
	}
	return t, nil
}

// PutPendingTOTP stores a pending secret (see store.MFAStore).
func (s *Store) PutPendingTOTP(ctx context.Context, userID, sealed string) error {
	var one int
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM users WHERE id = ?`), userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("user %s not found", userID)
	}
	if err != nil {
		return fmt.Errorf("put pending totp: %w", err)
	}
	res, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO mfa_totp (user_id, secret, created_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0
		WHERE mfa_totp.enabled_at IS NULL`), userID, sealed, toMicros(s.now()))
	if err != nil {
		return fmt.Errorf("put pending totp: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return access.Errorf(access.CodeConflict, "multi-factor authentication is already on")
	}
	return nil
}

// EnableTOTP turns the pending secret on (see store.MFAStore).
func (s *Store) EnableTOTP(ctx context.Context, w store.Write, userID string, step int64, hashes []string) (int64, error) {
	return s.write(ctx, w, func(t *wtx) error {
		res, err := t.exec(`UPDATE mfa_totp SET enabled_at = ?, last_step = ? WHERE user_id = ? AND enabled_at IS NULL`, toMicros(t.now), step, userID)
		if err != nil {
			return fmt.Errorf("enable totp: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return access.Errorf(access.CodeConflict, "no enrolment is pending: start one first")
		}
		if _, err := t.exec(`DELETE FROM mfa_recovery_codes WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("enable totp: %w", err)
		}
		for _, h := range hashes {
			if _, err := t.exec(`INSERT INTO mfa_recovery_codes (user_id, hash) VALUES (?, ?)`, userID, h); err != nil {
				return fmt.Errorf("enable totp: recovery codes: %w", err)
			}
		}
		return t.logf(w.Actor, "mfa.enabled", "user:"+userID, nil, map[string]any{"method": "totp", "recovery_codes": len(hashes)})
	})
}

// DeleteTOTP removes the user's second factor (see store.MFAStore).
func (s *Store) DeleteTOTP(ctx context.Context, w store.Write, userID, action string) (int64, error) {
	return s.write(ctx, w, func(t *wtx) error {
		var enabled sql.NullInt64
		err := t.queryRow(`SELECT enabled_at FROM mfa_totp WHERE user_id = ?`, userID).Scan(&enabled)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("user %s has no second factor", userID)
		}
		if err != nil {
			return fmt.Errorf("delete totp: %w", err)
		}
		for _, q := range []string{`DELETE FROM mfa_totp WHERE user_id = ?`, `DELETE FROM mfa_recovery_codes WHERE user_id = ?`,
			`DELETE FROM mfa_challenges WHERE user_id = ?`} {
			if _, err := t.exec(q, userID); err != nil {
				return fmt.Errorf("delete totp: %w", err)
			}
		}
		return t.logf(w.Actor, action, "user:"+userID, map[string]any{"method": "totp", "enabled": enabled.Valid}, nil)
	})
}

// UseTOTPStep records a used time step (see store.MFAStore).
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE mfa_totp SET last_step = ? WHERE user_id = ? AND enabled_at IS NOT NULL AND last_step < ?`),
		step, userID, step)
	if err != nil {
		return false, fmt.Errorf("use totp step: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UseRecoveryCode spends a recovery code (see store.MFAStore).
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE mfa_recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL`),
		toMicros(at), userID, hash)
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CreateMFAChallenge stores a second sign-in step.
func (s *Store) CreateMFAChallenge(ctx context.Context, c store.MFAChallenge) error {
	if c.Hash == "" {
		return invalid("challenge hash is required")
	}
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO mfa_challenges (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`),
		c.Hash, c.UserID, toMicros(c.CreatedAt), toMicros(c.ExpiresAt)); err != nil {
		return fmt.Errorf("create mfa challenge: %w", err)
	}
	return nil
}

// MFAChallengeAttempt counts an attempt and returns the challenge.
func (s *Store) MFAChallengeAttempt(ctx context.Context, hash string) (store.MFAChallenge, error) {
	var c store.MFAChallenge
	var created, expires int64
	err := s.db.QueryRowContext(ctx, s.rebind(`UPDATE mfa_challenges SET attempts = attempts + 1 WHERE hash = ?
		RETURNING hash, user_id, created_at, expires_at, attempts`), hash).Scan(&c.Hash, &c.UserID, &created, &expires, &c.Attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return store.MFAChallenge{}, notFound("mfa challenge not found")
	}
	if err != nil {
		return store.MFAChallenge{}, fmt.Errorf("mfa challenge: %w", err)
	}
	c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
	return c, nil
}

// DeleteMFAChallenge ends a challenge and sweeps expired ones.
func (s *Store) DeleteMFAChallenge(ctx context.Context, hash string, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM mfa_challenges WHERE hash = ? OR expires_at <= ?`), hash, toMicros(now)); err != nil {
		return fmt.Errorf("delete mfa challenge: %w", err)
	}
	return nil
}
