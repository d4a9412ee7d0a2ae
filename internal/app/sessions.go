package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Sign-in and authentication. Sign-ins are throttled per email and per
// client address, cost the same whether or not the email exists, and are
// audited (session.login, session.login_failed). A session's secret is new
// at every sign-in (rotation); the store keeps only hashes of session and
// token secrets.

var errUnauthenticated = access.Errorf(access.CodeUnauthenticated, "sign in or send an API token")

// Login checks an email and password from client address ip and returns
// the user (identity.md §4): the attempt reserves its throttle slot before
// anything is checked, waits the email's slow-down, and computes argon2
// through the one gate whether or not the email exists. Errors:
// CodeInvalid (a password longer than auth.MaxPasswordBytes, before any
// hashing), CodeForbidden (the email's domain signs in with single
// sign-on only), CodeRateLimited (the email from this address, or this
// address, is at its limit: a correct password too), CodeUnavailable (no
// hashing turn within 5 s), CodeUnauthenticated (wrong email or password,
// or a user that is not active: the same answer).
func (a *App) Login(ctx context.Context, email, password, ip string) (access.User, error) {
	if err := checkLength("password", password); err != nil {
		return access.User{}, err
	}
	email = normalizeEmail(email)
	// A domain whose provider disables local passwords signs in there
	// (identity.md §7): said before any throttling or hashing, since the
	// answer depends on the domain alone, not on the address.
	if err := a.localPasswordsRefused(ctx, email); err != nil {
		return access.User{}, err
	}
	r, err := a.guard(ctx, email, ip, "")
	if err != nil {
		return access.User{}, err
	}
	u, ok, err := a.checkLogin(ctx, email, password)
	if err != nil {
		r.Cancel()
		return access.User{}, err
	}
	now := a.Now()
	if !ok {
		r.Failure(now)
		_ = a.st.Log(ctx, store.AuditEntry{Time: now, Actor: "anonymous", Action: "session.login_failed", Target: "email:" + email})
		return access.User{}, access.Errorf(access.CodeUnauthenticated, "wrong email or password")
	}
	r.Success()
	if err := a.st.RecordLogin(ctx, u.ID, now); err != nil {
		a.log.Warn("record last login", "user", u.ID, "err", err)
	}
	// session.login is audited when the session starts, with its method
	// (SignIn, SignInMFA).
	return u, nil
}

// checkLogin does the one argon2 computation of a sign-in: a verification
// against the stored hash, or a dummy one for an unknown email or a user
// without a password. ok is whether the password matched an active user.
func (a *App) checkLogin(ctx context.Context, email, password string) (u access.User, ok bool, err error) {
	u, err = a.st.GetUserByEmail(ctx, email)
	if err != nil {
		if access.ErrorCode(err) != access.CodeNotFound {
			return u, false, err
		}
		return access.User{}, false, a.dummyVerify(ctx)
	}
	hash, err := a.st.PasswordHash(ctx, u.ID)
	if err != nil {
		return u, false, err
	}
	match, err := a.verify(ctx, hash, password)
	if err != nil {
		return u, false, err
	}
	return u, match && u.Status == access.StatusActive, nil
}

// StartSession creates a session for u and returns its secret (for the
// cookie) and when it expires if unused.
func (a *App) StartSession(ctx context.Context, u access.User) (secret string, expires time.Time, err error) {
	return a.startSession(ctx, u, false)
}

// startSession is StartSession, restricted to MFA enrolment when enrolOnly.
func (a *App) startSession(ctx context.Context, u access.User, enrolOnly bool) (secret string, expires time.Time, err error) {
	secret, hash := auth.NewSecret(auth.SessionPrefix)
	now := a.Now()
	if err := a.st.CreateSession(ctx, store.Session{Hash: hash, UserID: u.ID, CreatedAt: now, LastSeen: now, MFAEnrolOnly: enrolOnly}); err != nil {
		return "", time.Time{}, err
	}
	return secret, a.sessions.ExpiresAt(now, now), nil
}

// EndSession ends the session whose secret is given (a sign-out, or a
// sign-in replacing the browser's old session). An unknown secret is no
// error.
func (a *App) EndSession(ctx context.Context, secret string) error {
	return a.st.DeleteSession(ctx, auth.HashSecret(secret))
}

// SignOut ends the actor's session, when it has one.
func (a *App) SignOut(ctx context.Context, c *Actor) error {
	if c.Session == "" {
		return nil
	}
	return a.st.DeleteSession(ctx, c.Session)
}

// AuthenticateToken returns the actor of an API token secret: an active
// internal user. Anything else is CodeUnauthenticated.
//
// The store answers TokenByHash and SessionByHash from an in-memory cache
// that every revocation empties before it returns (and other nodes'
// revocations within a second), so this costs no database round trip;
// whether the user is active is asked of the engine every time.
func (a *App) AuthenticateToken(ctx context.Context, secret string) (*Actor, error) {
	if secret == "" {
		return nil, errUnauthenticated
	}
	tok, err := a.st.TokenByHash(ctx, auth.HashSecret(secret))
	if err != nil {
		return nil, authError(err)
	}
	u, ok := a.eng.User(tok.UserID)
	if !ok || u.Status != access.StatusActive || u.Kind != access.KindInternal {
		return nil, errUnauthenticated
	}
	return &Actor{User: u, Token: true, TokenID: tok.ID}, nil
}

// AuthenticateSession returns the actor of a session secret: a session
// that has not expired, of an active user. An expired session, or one of a
// user no longer active, is deleted. Activity is recorded at most once a
// minute, so idle expiry is exact to about a minute and a half across
// nodes.
func (a *App) AuthenticateSession(ctx context.Context, secret string) (*Actor, error) {
	if secret == "" {
		return nil, errUnauthenticated
	}
	hash := auth.HashSecret(secret)
	sess, err := a.st.SessionByHash(ctx, hash)
	if err != nil {
		return nil, authError(err)
	}
	now := a.Now()
	if a.sessions.Expired(sess.CreatedAt, sess.LastSeen, now) {
		_ = a.st.DeleteSession(ctx, hash)
		return nil, &LapsedSession{UserID: sess.UserID}
	}
	u, ok := a.eng.User(sess.UserID)
	if !ok || u.Status != access.StatusActive {
		_ = a.st.DeleteSession(ctx, hash)
		return nil, errUnauthenticated
	}
	if now.Sub(sess.LastSeen) > time.Minute {
		if err := a.st.TouchSession(ctx, hash, now); err != nil {
			a.log.Warn("touch session", "err", err)
		}
	}
	return &Actor{User: u, Session: hash, MFAEnrolOnly: sess.MFAEnrolOnly}, nil
}

// LapsedSession is AuthenticateSession's error for a session that ended
// by its idle timeout or maximum age: unauthenticated like any other, and
// naming whose session it was, so that a form sent with it is kept for
// that user only (surface.Resume).
type LapsedSession struct{ UserID string }

func (e *LapsedSession) Error() string { return errUnauthenticated.Error() }

// Unwrap makes the error the unauthenticated domain error.
func (e *LapsedSession) Unwrap() error { return errUnauthenticated }

func authError(err error) error {
	if access.ErrorCode(err) == access.CodeNotFound {
		return errUnauthenticated
	}
	return err
}

// Me returns the accounts the actor can act on, with role, access and the
// types and features each allows (the account switcher); none for staff.
func (a *App) Me(c *Actor) []access.AccountAccess {
	accts := a.eng.Reach(c.ID())
	if accts == nil {
		accts = []access.AccountAccess{}
	}
	return accts
}

// Bootstrap creates the first admin on an empty database: with the given
// email and password, or, when the password is empty, a generated one that
// it returns so the caller can print it once. It does nothing (and returns
// created false) when any user exists.
func (a *App) Bootstrap(ctx context.Context, email, password string) (created bool, generated string, err error) {
	users, _, err := a.st.ListUsers(ctx, store.UserFilter{Limit: 1})
	if err != nil || len(users) > 0 {
		return false, "", err
	}
	if email == "" {
		email = "admin@portcullis.local"
	}
	if password == "" {
		var b [18]byte
		_, _ = rand.Read(b[:])
		password = base64.RawURLEncoding.EncodeToString(b[:])
		generated = password
	}
	u := access.User{ID: "admin", Kind: access.KindInternal, Name: "Administrator", Email: email,
		Status: access.StatusActive, StaffRole: access.StaffAdmin}
	if err := u.Validate(a.eng.Policy()); err != nil {
		return false, "", err
	}
	if err := auth.ValidatePassword(password, u.Email, u.Name); err != nil {
		return false, "", access.Errorf(access.CodeInvalid, "PORTCULLIS_ADMIN_PASSWORD: %v", err)
	}
	hash, err := a.hash(ctx, password)
	if err != nil {
		return false, "", err
	}
	sys := store.Write{Actor: "system:system"}
	if _, _, err := a.st.PutUser(ctx, sys, u); err != nil {
		return false, "", err
	}
	if _, err := a.st.SetPassword(ctx, sys, u.ID, hash); err != nil {
		return false, "", err
	}
	return true, generated, nil
}
