package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Invitations and password reset tokens (store.InvitationStore). Tokens
// are stored as hashes only; a used, revoked or replaced token's hash is
// gone, so it matches nothing.

const invitationColumns = `id, user_id, email, name, home_account, locale, status, expires_at, created_by, created_at, accepted_at`

// scanInvitation reads an invitation; a pending one past its expiry at now
// reads as expired.
func scanInvitation(sc rowScanner, now time.Time) (store.Invitation, error) {
	var inv store.Invitation
	var expires, created int64
	var accepted sql.NullInt64
	if err := sc.Scan(&inv.ID, &inv.UserID, &inv.Email, &inv.Name, &inv.HomeAccount, &inv.Locale, &inv.Status,
		&expires, &inv.CreatedBy, &created, &accepted); err != nil {
		return inv, err
	}
	inv.ExpiresAt, inv.CreatedAt, inv.AcceptedAt = fromMicros(expires), fromMicros(created), ptrMicros(accepted)
	if inv.Status == store.InvitationPending && !now.IsZero() && !now.Before(inv.ExpiresAt) {
		inv.Status = store.InvitationExpired
	}
	return inv, nil
}

func (r reader) invitation(cond string, now time.Time, args ...any) (store.Invitation, error) {
	inv, err := scanInvitation(r.queryRow(`SELECT `+invitationColumns+` FROM invitations WHERE `+cond, args...), now)
	if errors.Is(err, sql.ErrNoRows) {
		return inv, notFound("invitation not found")
	}
	if err != nil {
		return inv, fmt.Errorf("read invitation: %w", err)
	}
	return inv, nil
}

// CreateInvitations creates users, grants and invitations in one
// transaction; see store.InvitationStore.
func (s *Store) CreateInvitations(ctx context.Context, w store.Write, invs []store.NewInvitation) ([]store.Invitation, int64, error) {
	actor := w.Actor
	var out []store.Invitation
	rev, err := s.write(ctx, w, func(t *wtx) error {
		out = out[:0]
		var items []access.ItemError
		var first error
		for i, in := range invs {
			inv, err := t.createInvitation(actor, in)
			if err != nil {
				var ae *access.Error
				if !errors.As(err, &ae) {
					return err
				}
				if first == nil {
					first = err
				}
				items = append(items, access.ItemError{Index: i, Message: ae.Message})
				continue
			}
			out = append(out, inv)
		}
		switch {
		case first == nil:
			return nil
		case len(invs) == 1:
			return first
		}
		return &access.Error{Code: access.CodeInvalid, Items: items,
			Message: fmt.Sprintf("%d of %d invitations are invalid", len(items), len(invs))}
	})
	if err != nil {
		return nil, 0, err
	}
	return out, rev, nil
}

// createInvitation writes one invitation's user, grants and row.
func (t *wtx) createInvitation(actor string, in store.NewInvitation) (store.Invitation, error) {
	u := in.User
	email := strings.ToLower(strings.TrimSpace(u.Email))
	var existing string
	err := t.queryRow(`SELECT id FROM users WHERE email_lower = ? OR id = ?`, email, u.ID).Scan(&existing)
	if err == nil {
		return store.Invitation{}, &access.Error{Code: access.CodeConflict, Field: "email", ExistingID: existing,
			Message: fmt.Sprintf("email %s is already in use", u.Email)}
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.Invitation{}, fmt.Errorf("create invitation: %w", err)
	}
	if ok, err := t.exists(`SELECT 1 FROM accounts WHERE id = ?`, u.HomeAccount); err != nil {
		return store.Invitation{}, fmt.Errorf("create invitation: %w", err)
	} else if !ok {
		return store.Invitation{}, access.FieldErrorf(access.CodeInvalid, "home_account", "home account %s does not exist", u.HomeAccount)
	}
	if err := t.putUserRow(u); err != nil {
		return store.Invitation{}, fmt.Errorf("create invitation: user: %w", err)
	}
	if err := t.change("user", u.ID); err != nil {
		return store.Invitation{}, err
	}
	if err := t.logf(actor, "user.put", "user:"+u.ID, nil, u); err != nil {
		return store.Invitation{}, err
	}
	for _, g := range in.Grants {
		g.ID = newGrantID()
		truncTimes(&g)
		g.Principal = "user:" + u.ID
		g.CreatedBy, g.CreatedAt, g.UpdatedAt = t.by, t.now, t.now
		if err := t.checkGrant(&g); err != nil {
			return store.Invitation{}, err
		}
		if err := t.insertGrant(actor, g); err != nil {
			return store.Invitation{}, err
		}
	}
	inv := store.Invitation{ID: "inv_" + randomID(12), UserID: u.ID, Email: u.Email, Name: u.Name, HomeAccount: u.HomeAccount,
		Locale: in.Locale, Status: store.InvitationPending, ExpiresAt: in.ExpiresAt.UTC().Truncate(time.Microsecond),
		CreatedBy: t.by, CreatedAt: t.now}
	if inv.Locale == "" {
		inv.Locale = "en"
	}
	if _, err := t.exec(`INSERT INTO invitations (id, user_id, email, name, home_account, locale, token_hash, status, expires_at, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inv.ID, inv.UserID, inv.Email, inv.Name, inv.HomeAccount, inv.Locale, in.TokenHash, inv.Status, toMicros(inv.ExpiresAt),
		actor, toMicros(t.now), toMicros(t.now)); err != nil {
		return store.Invitation{}, fmt.Errorf("create invitation: %w", err)
	}
	return inv, t.logf(actor, "invitation.create", "invitation:"+inv.ID, nil, inv)
}

// GetInvitation returns an invitation, or not_found.
func (s *Store) GetInvitation(ctx context.Context, id string) (store.Invitation, error) {
	return s.pool(ctx).invitation(`id = ?`, s.now(), id)
}

// InvitationByToken returns the invitation whose token hashes to hash
// (pending or expired; used and revoked ones have no token), or not_found.
func (s *Store) InvitationByToken(ctx context.Context, hash string) (store.Invitation, error) {
	if hash == "" {
		return store.Invitation{}, notFound("invitation not found")
	}
	return s.pool(ctx).invitation(`token_hash = ?`, s.now(), hash)
}

// ListInvitations returns a page of invitations in id order.
func (s *Store) ListInvitations(ctx context.Context, f store.InvitationFilter) ([]store.Invitation, string, error) {
	n := limit(f.Limit)
	now := f.Now
	if now.IsZero() {
		now = s.now()
	}
	out := []store.Invitation{}
	var where []string
	var args []any
	if f.HomeAccounts != nil {
		if len(f.HomeAccounts) == 0 {
			return out, "", nil
		}
		where = append(where, "home_account IN ("+placeholders(len(f.HomeAccounts))+")")
		for _, a := range f.HomeAccounts {
			args = append(args, a)
		}
	}
	if f.Account != "" {
		where, args = append(where, "home_account = ?"), append(args, f.Account)
	}
	if f.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	switch f.Status {
	case "":
	case store.InvitationPending:
		where, args = append(where, "status = 'pending' AND expires_at > ?"), append(args, toMicros(now))
	case store.InvitationExpired:
		where, args = append(where, "status = 'pending' AND expires_at <= ?"), append(args, toMicros(now))
	default:
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	return pageByID(ctx, s, "invitations", invitationColumns, "invitations", where, args, f.Cursor, n, func(sc rowScanner) (store.Invitation, error) { return scanInvitation(sc, now) }, func(inv store.Invitation) string { return inv.ID })
}

// RenewInvitation gives a pending or expired invitation a new token and
// expiry; an accepted or revoked one is conflict.
func (s *Store) RenewInvitation(ctx context.Context, w store.Write, id, hash string, expires time.Time) (store.Invitation, int64, error) {
	var inv store.Invitation
	rev, err := s.write(ctx, w, func(t *wtx) error {
		cur, err := t.reader().invitation(`id = ?`, time.Time{}, id)
		if err != nil {
			return err
		}
		if cur.Status != store.InvitationPending {
			return access.Errorf(access.CodeConflict, "invitation %s is %s", id, cur.Status)
		}
		cur.ExpiresAt = expires.UTC().Truncate(time.Microsecond)
		if _, err := t.exec(`UPDATE invitations SET token_hash = ?, expires_at = ?, updated_at = ? WHERE id = ?`,
			hash, toMicros(cur.ExpiresAt), toMicros(t.now), id); err != nil {
			return fmt.Errorf("renew invitation: %w", err)
		}
		inv = cur
		return t.logf(w.Actor, "invitation.resend", "invitation:"+id, nil, map[string]any{"expires_at": cur.ExpiresAt})
	})
	return inv, rev, err
}

// RevokeInvitation ends a pending or expired invitation; the user stays
// invited. An accepted or revoked one is conflict.
func (s *Store) RevokeInvitation(ctx context.Context, w store.Write, id string) (int64, error) {
	return s.write(ctx, w, func(t *wtx) error {
		cur, err := t.reader().invitation(`id = ?`, time.Time{}, id)
		if err != nil {
			return err
		}
		if cur.Status != store.InvitationPending {
			return access.Errorf(access.CodeConflict, "invitation %s is %s", id, cur.Status)
		}
		if _, err := t.exec(`UPDATE invitations SET status = 'revoked', token_hash = NULL, updated_at = ? WHERE id = ?`, toMicros(t.now), id); err != nil {
			return fmt.Errorf("revoke invitation: %w", err)
		}
		return t.logf(w.Actor, "invitation.revoke", "invitation:"+id, nil, nil)
	})
}

// AcceptInvitation accepts the pending invitation of a token; see
// store.InvitationStore.
func (s *Store) AcceptInvitation(ctx context.Context, w store.Write, hash, name, passwordHash string, now time.Time) (store.Invitation, int64, error) {
	var inv store.Invitation
	rev, err := s.write(ctx, w, func(t *wtx) error {
		var err error
		inv, err = t.reader().invitation(`token_hash = ? AND status = 'pending' AND expires_at > ?`, time.Time{}, hash, toMicros(now))
		if err != nil {
			return err
		}
		res, err := t.exec(`UPDATE users SET status = 'active', name = CASE WHEN ? = '' THEN name ELSE ? END,
			password_hash = ?, password_at = ?, updated_at = ? WHERE id = ? AND status = 'invited'`,
			name, name, passwordHash, toMicros(t.now), toMicros(t.now), inv.UserID)
		if err != nil {
			return fmt.Errorf("accept invitation: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("invitation not found")
		}
		if _, err := t.exec(`UPDATE invitations SET status = 'accepted', token_hash = NULL, accepted_at = ?, updated_at = ? WHERE id = ?`,
			toMicros(t.now), toMicros(t.now), inv.ID); err != nil {
			return fmt.Errorf("accept invitation: %w", err)
		}
		if err := t.change("user", inv.UserID); err != nil {
			return err
		}
		inv.Status, inv.AcceptedAt = store.InvitationAccepted, &t.now
		return t.logf(w.Actor, "invitation.accepted", "invitation:"+inv.ID, nil, map[string]string{"user": inv.UserID})
	})
	return inv, rev, err
}

// CreatePasswordReset stores a reset token for a user, replacing its
// earlier ones.
func (s *Store) CreatePasswordReset(ctx context.Context, w store.Write, userID, hash string, expires time.Time) (int64, error) {
	return s.write(ctx, w, func(t *wtx) error {
		if _, err := t.exec(`DELETE FROM password_resets WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("password reset: %w", err)
		}
		if _, err := t.exec(`INSERT INTO password_resets (token_hash, user_id, expires_at, created_at) VALUES (?, ?, ?, ?)`,
			hash, userID, toMicros(expires), toMicros(t.now)); err != nil {
			return fmt.Errorf("password reset: %w", err)
		}
		return t.logf(w.Actor, "user.password_reset_sent", "user:"+userID, nil, nil)
	})
}

// PasswordResetUser returns the user of a reset token valid at now, or
// not_found.
func (s *Store) PasswordResetUser(ctx context.Context, hash string, now time.Time) (access.User, error) {
	var id string
	err := s.queryRow(ctx, `SELECT user_id FROM password_resets WHERE token_hash = ? AND expires_at > ?`, hash, toMicros(now)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) || hash == "" {
		return access.User{}, notFound("reset link not found")
	}
	if err != nil {
		return access.User{}, fmt.Errorf("password reset: %w", err)
	}
	return s.GetUser(ctx, id)
}

// UsePasswordReset sets a password through a reset token; see
// store.InvitationStore.
func (s *Store) UsePasswordReset(ctx context.Context, w store.Write, hash, passwordHash string, now time.Time) (access.User, int64, error) {
	var u *access.User
	rev, err := s.write(ctx, w, func(t *wtx) error {
		var id string
		err := t.queryRow(`SELECT user_id FROM password_resets WHERE token_hash = ? AND expires_at > ?`, hash, toMicros(now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("reset link not found")
		}
		if err != nil {
			return fmt.Errorf("password reset: %w", err)
		}
		if u, err = t.reader().user(id); err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE users SET password_hash = ?, password_at = ? WHERE id = ?`, passwordHash, toMicros(t.now), id); err != nil {
			return fmt.Errorf("password reset: %w", err)
		}
		if _, err := t.exec(`DELETE FROM password_resets WHERE user_id = ?`, id); err != nil {
			return fmt.Errorf("password reset: %w", err)
		}
		if _, err := t.exec(`DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
			return fmt.Errorf("password reset: sessions: %w", err)
		}
		if err := t.change(changeSessions, id); err != nil {
			return err
		}
		return t.logf(w.Actor, "user.password_reset", "user:"+id, nil, map[string]bool{"password_set": true})
	})
	if err != nil {
		return access.User{}, 0, err
	}
	s.auth.dropUserSessions(u.ID)
	return *u, rev, nil
}

// UserLocale returns the user's locale when the users table has one (the
// column comes with migration 0003), else "".
func (s *Store) UserLocale(ctx context.Context, userID string) string {
	var loc sql.NullString
	if err := s.queryRow(ctx, `SELECT locale FROM users WHERE id = ?`, userID).Scan(&loc); err != nil {
		return ""
	}
	return loc.String
}
