package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
)

// Credentials: every argon2 computation of the app goes through a.hasher
// (one auth.Hasher per App: at most the CPUs at once, 5 s queue timeout,
// then CodeUnavailable), and every check of a secret a client sends
// reserves its slot in a.throttle first (auth's package comment walks
// through the steps). The use cases that check or set a password call
// guard, verify, dummyVerify and hash below and nothing of auth's hashing
// directly; invitation acceptance and password reset are to do the same.

// errBusy is the answer when no hashing turn came within the queue timeout.
var errBusy = access.Errorf(access.CodeUnavailable, "the server is busy; try again in a few seconds")

// hashError maps the Hasher's errors to domain errors.
func hashError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrBusy):
		return errBusy
	case errors.Is(err, auth.ErrInvalidPassword):
		return access.FieldErrorf(access.CodeInvalid, "password", "%s", err.Error())
	}
	return err
}

// checkLength refuses a secret longer than auth.MaxPasswordBytes as
// CodeInvalid on field, before any throttling or hashing.
func checkLength(field, pw string) error {
	if err := auth.CheckPasswordLength(pw); err != nil {
		return access.FieldErrorf(access.CodeInvalid, field, "%s must be at most %d bytes", field, auth.MaxPasswordBytes)
	}
	return nil
}

// guard reserves a check of a secret for email from client address ip
// (auth.Throttle.Reserve) and waits the reservation's delay. The caller
// settles the reservation it returns: Success, Failure or Cancel. Errors:
// CodeRateLimited (on field), or the context's error.
func (a *App) guard(ctx context.Context, email, ip, field string) (*auth.Reservation, error) {
	return a.guardWith(ctx, a.throttle, normalizeEmail(email), ip, field)
}

// guardWith is guard on throttle t for the attempt's key (an email, or
// for MFA codes "user:<id>") from ip.
func (a *App) guardWith(ctx context.Context, t *auth.Throttle, key, ip, field string) (*auth.Reservation, error) {
	r, retry := t.Reserve(key, ip, a.Now())
	if r == nil {
		return nil, access.FieldErrorf(access.CodeRateLimited, field, "too many attempts; try again in %d seconds", int(retry.Seconds())+1)
	}
	if r.Delay > 0 {
		timer := time.NewTimer(r.Delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			r.Cancel()
			return nil, fmt.Errorf("sign-in delay: %w", ctx.Err())
		}
	}
	return r, nil
}

// hash hashes a new password (already checked with auth.ValidatePassword)
// through the gate. Errors: CodeUnavailable, CodeInvalid.
func (a *App) hash(ctx context.Context, pw string) (string, error) {
	h, err := a.hasher.Hash(ctx, pw)
	return h, hashError(err)
}

// verify checks a password against its stored hash through the gate; an
// empty hash (no password set) costs a dummy verification and fails. A
// malformed stored hash is logged and fails like a wrong password.
// Errors: CodeUnavailable.
func (a *App) verify(ctx context.Context, hash, pw string) (bool, error) {
	if hash == "" {
		return false, a.dummyVerify(ctx)
	}
	ok, err := a.hasher.Verify(ctx, hash, pw)
	if errors.Is(err, auth.ErrMalformedHash) {
		a.log.Error("stored password hash is unusable", "err", err)
		return false, nil
	}
	return ok, hashError(err)
}

// dummyVerify does the work of a verification for a user that does not
// exist, through the gate. Errors: CodeUnavailable.
func (a *App) dummyVerify(ctx context.Context) error {
	return hashError(a.hasher.DummyVerify(ctx))
}

// validatePassword applies the rules for a new password of u
// (identity.md §3). Errors: CodeInvalid on field password.
func validatePassword(u access.User, pw string) error {
	if err := auth.ValidatePassword(pw, u.Email, u.Name); err != nil {
		return access.FieldErrorf(access.CodeInvalid, "password", "%s", err.Error())
	}
	return nil
}

// checkCurrentPassword is the guarded check of the actor's current
// password (a password or email change of its own): throttled like a
// sign-in of its email from ip, through the gate. Errors: CodeInvalid
// (too long), CodeRateLimited, CodeForbidden (wrong, Field
// current_password), CodeUnavailable.
func (a *App) checkCurrentPassword(ctx context.Context, c *Actor, pw, ip string) error {
	if err := checkLength("current_password", pw); err != nil {
		return err
	}
	r, err := a.guard(ctx, c.User.Email, ip, "current_password")
	if err != nil {
		return err
	}
	hash, err := a.st.PasswordHash(ctx, c.ID())
	if err != nil {
		r.Cancel()
		return err
	}
	ok, err := a.verify(ctx, hash, pw)
	switch {
	case err != nil:
		r.Cancel()
		return err
	case !ok:
		r.Failure(a.Now())
		return access.FieldErrorf(access.CodeForbidden, "current_password", "current_password is wrong")
	}
	r.Success()
	return nil
}
