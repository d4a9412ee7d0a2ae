package app

import (
	"context"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/mail"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Password reset (identity.md §3): anyone may ask for a reset link for an
// email; an active user with a password gets <public-url>/reset/<token>
// (1 hour, single use). Staff, and a customer admin for a user whose
// grants all lie within its reach, may send one. Using it sets the
// password, ends every session of the user and queues a "password
// changed" message.

// ResetTTL is how long a reset link works.
const ResetTTL = time.Hour

// ResetPrefix starts every reset token.
const ResetPrefix = "pcr_"

// resetRequestTime is how long RequestPasswordReset takes at least, so
// that a known and an unknown address take the same time.
const resetRequestTime = 300 * time.Millisecond

// RequestPasswordReset queues a reset link for the active user with a
// password whose email this is, and does nothing for any other address.
// It always succeeds (the answer is the same either way: 202) and takes
// at least resetRequestTime in both cases; its own failures are logged.
func (a *App) RequestPasswordReset(ctx context.Context, email, ip string) error {
	// Requests are limited like sign-ins, on a throttle of their own (5 per
	// email and address, 20 per address, counting requests in flight), so
	// that nobody mails a user a stream of links: every request counts.
	r, err := a.guardWith(ctx, a.resets, normalizeEmail(email), ip, "email")
	if err != nil {
		return err
	}
	defer r.Failure(a.Now())
	done := time.After(resetRequestTime)
	defer func() {
		select {
		case <-done:
		case <-ctx.Done():
		}
	}()
	u, err := a.st.GetUserByEmail(ctx, normalizeEmail(email))
	if err != nil {
		if access.ErrorCode(err) != access.CodeNotFound {
			a.log.Error("password reset: look up", "err", err)
		}
		return nil
	}
	if u.Status != access.StatusActive || a.localPasswordsRefused(ctx, u.Email) != nil {
		return nil
	}
	if hash, err := a.st.PasswordHash(ctx, u.ID); err != nil || hash == "" {
		return nil
	}
	if _, err := a.sendReset(ctx, store.Write{Actor: "anonymous"}, u); err != nil {
		a.log.Error("password reset: queue", "user", u.ID, "err", err)
	}
	return nil
}

// sendReset stores a new reset token for u and queues its message.
func (a *App) sendReset(ctx context.Context, w store.Write, u access.User) (int64, error) {
	secret, hash := auth.NewSecret(ResetPrefix)
	locale := a.localeOf(ctx, u.ID)
	c := mail.PasswordReset(locale, mail.ResetData{Name: u.Name, Link: store.SecretMarker})
	w.Mail = append(w.Mail, a.message("password_reset", u.Email, u.ID, locale, c, a.link("/reset/"+secret)))
	rev, err := a.st.CreatePasswordReset(ctx, w, u.ID, hash, a.Now().Add(ResetTTL))
	if err == nil {
		a.sent()
	}
	return rev, err
}

// SendPasswordReset sends user id a reset link: staff writers (access
// managers not to an admin: CheckUser), or a customer admin for a user
// homed within its reach whose grants all lie within it (CheckUser's
// status rule). A customer admin never sets or sees the password. Errors:
// CodeForbidden, CodeNotFound (unknown, or outside a customer admin's
// reach), CodeConflict (the user is not active, or has no email).
func (a *App) SendPasswordReset(ctx context.Context, c *Actor, id string) (int64, error) {
	managed, err := a.userAdmin(c)
	if err != nil {
		return 0, err
	}
	if c.Internal() {
		if err := requireStaffWriter(c); err != nil {
			return 0, err
		}
	}
	u, err := a.visibleUser(ctx, managed, id)
	if err != nil {
		return 0, err
	}
	check := func() error {
		if c.Internal() {
			if err := a.staffWriterStill(c)(); err != nil {
				return err
			}
		}
		cur, ok := a.eng.User(id)
		if !ok {
			return access.Errorf(access.CodeNotFound, "user %s not found", id)
		}
		if c.Internal() {
			return a.checkUser(c, &cur, &cur)
		}
		// The status rule: every grant of the user within the admin's reach.
		next := cur
		next.Status = access.StatusDisabled
		if cur.Status == access.StatusDisabled {
			next.Status = access.StatusActive
		}
		return a.checkUser(c, &cur, &next)
	}
	if err := check(); err != nil {
		return 0, err
	}
	if u.Status != access.StatusActive {
		return 0, access.FieldErrorf(access.CodeConflict, "status", "user %s is %s: only an active user can reset its password", id, u.Status)
	}
	if strings.TrimSpace(u.Email) == "" {
		return 0, access.FieldErrorf(access.CodeConflict, "email", "user %s has no email", id)
	}
	if err := a.localPasswordsRefused(ctx, u.Email); err != nil {
		return 0, err
	}
	return a.sendReset(ctx, write(c, check), u)
}

// ResetInfo returns the user of a reset link for its page, or
// CodeNotFound (errLinkGone) when it expired or was used.
func (a *App) ResetInfo(ctx context.Context, token string) (access.User, error) {
	if !strings.HasPrefix(token, ResetPrefix) {
		return access.User{}, errLinkGone
	}
	u, err := a.st.PasswordResetUser(ctx, auth.HashSecret(token), a.Now())
	if err != nil || u.Status != access.StatusActive {
		return access.User{}, errLinkGone
	}
	return u, nil
}

// ResetPassword sets the password of a reset link's user (hashed through
// the app's hashing gate), ends every session of the user, makes every
// reset link of it die and queues a "password changed" message; audited
// as user.password_reset. Errors: CodeNotFound (errLinkGone), CodeInvalid
// (a weak password, Field password).
func (a *App) ResetPassword(ctx context.Context, token, password string) (int64, error) {
	if err := checkLength("password", password); err != nil {
		return 0, err
	}
	u, err := a.ResetInfo(ctx, token)
	if err != nil {
		return 0, err
	}
	if err := a.localPasswordsRefused(ctx, u.Email); err != nil {
		return 0, err
	}
	if err := validatePassword(u, password); err != nil {
		return 0, err
	}
	hash, err := a.hash(ctx, password)
	if err != nil {
		return 0, err
	}
	locale := a.localeOf(ctx, u.ID)
	c := mail.PasswordChanged(locale, mail.NoticeData{Name: u.Name, At: a.Now()})
	w := store.Write{Actor: "user:" + u.ID, By: u.ID, Mail: []store.Message{a.message("password_changed", u.Email, u.ID, locale, c, "")}}
	_, rev, err := a.st.UsePasswordReset(ctx, w, auth.HashSecret(token), hash, a.Now())
	if access.ErrorCode(err) == access.CodeNotFound {
		return 0, errLinkGone
	}
	if err != nil {
		return 0, err
	}
	a.sent()
	return rev, nil
}
