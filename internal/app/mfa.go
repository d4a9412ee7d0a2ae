package app

import (
	"context"
	"errors"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/mail"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Multi-factor authentication (identity.md §6): TOTP with recovery codes,
// a second sign-in step, accounts that require it for the users homed
// below them (access.Engine.RequiresMFA) and --staff-mfa for internal
// users.
//
// Sign-in is two use cases on top of Login, which checks the password:
// SignIn answers either a session, or, for a user with MFA on, an mfa_token
// and no session; SignInMFA trades the token and a code for the session. A
// user who must have MFA and has none gets a session restricted to
// enrolment (Actor.MFAEnrolOnly): the server lets it reach only the routes
// marked surface.Route.MFAEnrol until ConfirmTOTP replaces it with a full
// one.
//
// Codes are throttled like passwords, with a Throttle of their own keyed
// by "user:<id>" in place of the email: 5 attempts per (user, client
// address) and 20 per address in 15 minutes, and wrong codes from many
// addresses slow the user's codes down (up to 10 s each), so that someone
// who knows the password cannot try codes quickly from many addresses. An
// attempt reserves its slot before the code is checked, so concurrent
// attempts count; a right code frees it. Each mfa_token also allows at
// most maxChallengeAttempts codes
// and lives mfaChallengeTTL. A TOTP code's time step is recorded when it is
// accepted (store.UseTOTPStep), so no code is accepted twice.

// Sign-in methods, recorded in session.login's audit entry.
const (
	MethodPassword         = "password"
	MethodPasswordTOTP     = "password+totp"
	MethodPasswordRecovery = "password+recovery"
)

const (
	// mfaChallengeTTL is how long an mfa_token waits for its code.
	mfaChallengeTTL = 5 * time.Minute
	// maxChallengeAttempts is how many codes one mfa_token may try.
	maxChallengeAttempts = 5
	// mfaIssuer names Portcullis in authenticator apps.
	mfaIssuer = "Portcullis"
)

// StaffMFA values of Config.StaffMFA (--staff-mfa).
const (
	StaffMFAOptional = "optional"
	StaffMFARequired = "required"
)

// mfaState is the App's MFA configuration and code throttle.
type mfaState struct {
	box           *auth.SecretBox
	staffRequired bool
	throttle      *auth.Throttle
}

func newMFAState(cfg Config) *mfaState {
	m := &mfaState{box: cfg.MFASecrets, staffRequired: cfg.StaffMFA == StaffMFARequired, throttle: cfg.MFAThrottle}
	if m.box == nil {
		m.box = &auth.SecretBox{}
	}
	if m.throttle == nil {
		m.throttle = auth.NewThrottle(auth.ThrottleConfig{})
	}
	return m
}

// MFARequired reports whether u must sign in with a second factor: an
// internal user under --staff-mfa required, an external user homed in or
// below an account with require_mfa.
func (a *App) MFARequired(u access.User) bool {
	if u.Kind == access.KindInternal {
		return a.mfa.staffRequired
	}
	return u.HomeAccount != "" && a.eng.RequiresMFA(u.HomeAccount)
}

// SignInResult is the outcome of a sign-in step: a session (Session set),
// or the second step to take (MFAToken set, no session yet).
type SignInResult struct {
	User access.User
	// MFAToken, when set, is the token of the second step
	// (SignInMFA); there is no session yet.
	MFAToken string
	// MFAEnrol marks a session restricted to MFA enrolment.
	MFAEnrol bool
	// Session is the new session, when one was started.
	Session *NewSession
}

// NewSession is a session just started: its secret for the cookie and
// when it expires if unused.
type NewSession struct {
	Secret  string
	Expires time.Time
}

// SignIn checks an email and password from client address ip (Login:
// throttled, audited) and then, for a user with MFA on, answers an
// mfa_token for SignInMFA and starts no session; for a user who must have
// MFA and has none, a session restricted to enrolment; else a session.
// session.login is audited with its method when a session starts. Errors
// are Login's.
func (a *App) SignIn(ctx context.Context, email, password, ip string) (SignInResult, error) {
	u, err := a.Login(ctx, email, password, ip)
	if err != nil {
		return SignInResult{}, err
	}
	t, err := a.st.TOTP(ctx, u.ID)
	if err != nil && access.ErrorCode(err) != access.CodeNotFound {
		return SignInResult{}, err
	}
	if err == nil && t.EnabledAt != nil {
		secret, hash := auth.NewSecret(auth.MFATokenPrefix)
		now := a.Now()
		if err := a.st.CreateMFAChallenge(ctx, store.MFAChallenge{Hash: hash, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(mfaChallengeTTL)}); err != nil {
			return SignInResult{}, err
		}
		return SignInResult{User: u, MFAToken: secret}, nil
	}
	return a.signedIn(ctx, u, MethodPassword, a.MFARequired(u))
}

// MFASignIn is the second sign-in step: the mfa_token of SignIn and either
// a TOTP code or a recovery code.
type MFASignIn struct {
	Token        string `json:"mfa_token"`
	Code         string `json:"code"`
	RecoveryCode string `json:"recovery_code"`
	IP           string `json:"-"`
}

// errChallengeOver is the answer for an mfa_token that is unknown, used,
// expired or out of attempts: the same for all.
var errChallengeOver = access.FieldErrorf(access.CodeUnauthenticated, "mfa_token", "this sign-in has expired; sign in again")

// SignInMFA completes a sign-in with a second factor and starts its
// session (audited session.login with method password+totp or
// password+recovery). Anyone may call it with an mfa_token. Errors:
// CodeInvalid (neither or both of code and recovery_code, a code that is
// not six digits; Field names it), CodeUnauthenticated (a wrong or
// already used code, Field code or recovery_code; an expired, used or
// exhausted mfa_token, Field mfa_token), CodeRateLimited.
func (a *App) SignInMFA(ctx context.Context, in MFASignIn) (SignInResult, error) {
	if in.Token == "" {
		return SignInResult{}, access.FieldErrorf(access.CodeInvalid, "mfa_token", "mfa_token is required")
	}
	if err := validateSecondFactor(in.Code, in.RecoveryCode); err != nil {
		return SignInResult{}, err
	}
	hash := auth.HashSecret(in.Token)
	ch, err := a.st.MFAChallengeAttempt(ctx, hash)
	if access.ErrorCode(err) == access.CodeNotFound {
		return SignInResult{}, errChallengeOver
	}
	if err != nil {
		return SignInResult{}, err
	}
	now := a.Now()
	u, ok := a.eng.User(ch.UserID)
	if !now.Before(ch.ExpiresAt) || ch.Attempts > maxChallengeAttempts || !ok || u.Status != access.StatusActive {
		_ = a.st.DeleteMFAChallenge(ctx, hash, now)
		return SignInResult{}, errChallengeOver
	}
	method, err := a.checkSecondFactor(ctx, u, in.Code, in.RecoveryCode, in.IP, access.CodeUnauthenticated)
	if err != nil {
		if access.ErrorCode(err) == access.CodeUnauthenticated {
			_ = a.st.Log(ctx, store.AuditEntry{Time: now, Actor: "user:" + u.ID, Action: "session.login_failed", Target: "user:" + u.ID,
				After: []byte(`{"step":"mfa"}`)})
		}
		return SignInResult{}, err
	}
	if err := a.st.DeleteMFAChallenge(ctx, hash, now); err != nil {
		return SignInResult{}, err
	}
	return a.signedIn(ctx, u, method, false)
}

// validateSecondFactor checks the shape of a code or a recovery code:
// exactly one, a code of six digits.
func validateSecondFactor(code, recovery string) error {
	switch {
	case code == "" && recovery == "":
		return access.FieldErrorf(access.CodeInvalid, "code", "code or recovery_code is required")
	case code != "" && recovery != "":
		return access.FieldErrorf(access.CodeInvalid, "code", "send code or recovery_code, not both")
	case code != "" && !auth.ValidTOTPCode(code):
		return access.FieldErrorf(access.CodeInvalid, "code", "code must be the six digits your authenticator app shows")
	case len(recovery) > 64:
		return access.FieldErrorf(access.CodeInvalid, "recovery_code", "recovery_code is too long")
	}
	return nil
}

// checkSecondFactor checks u's TOTP code or recovery code from ip, with the
// code throttle and replay protection, and returns the sign-in method. A
// wrong, used or replayed code is an error with code wrong and Field code
// or recovery_code; past the limit it is CodeRateLimited.
func (a *App) checkSecondFactor(ctx context.Context, u access.User, code, recovery, ip, wrong string) (method string, err error) {
	r, err := a.reserveMFAAttempt(ctx, u.ID, ip)
	if err != nil {
		return "", err
	}
	defer func() { settle(r, err, a.Now()) }()
	field := "code"
	if recovery != "" {
		field = "recovery_code"
	}
	bad := access.FieldErrorf(wrong, field, "wrong %s", map[string]string{"code": "code", "recovery_code": "recovery code"}[field])
	t, err := a.st.TOTP(ctx, u.ID)
	if access.ErrorCode(err) == access.CodeNotFound || (err == nil && t.EnabledAt == nil) {
		return "", bad
	}
	if err != nil {
		return "", err
	}
	if recovery != "" {
		ok, err := a.st.UseRecoveryCode(ctx, u.ID, auth.HashRecoveryCode(recovery), a.Now())
		if err != nil {
			return "", err
		}
		if !ok {
			return "", bad
		}
		return MethodPasswordRecovery, nil
	}
	secret, err := a.mfa.box.Open(u.ID, t.Secret)
	if err != nil {
		return "", err
	}
	step, ok := auth.TOTPStep(secret, code, a.Now())
	if !ok {
		return "", bad
	}
	fresh, err := a.st.UseTOTPStep(ctx, u.ID, step)
	if err != nil {
		return "", err
	}
	if !fresh {
		return "", access.FieldErrorf(wrong, "code", "this code was used already; wait for the next one")
	}
	return MethodPasswordTOTP, nil
}

// reserveMFAAttempt reserves one check of a code of userID from ip on the
// code throttle (its own auth.Throttle: 5 per user and address, 20 per
// address, counting attempts in flight; failures across addresses slow the
// user's codes down), waiting the reservation's delay. The caller settles
// it (settle). Errors: CodeRateLimited on Field code.
func (a *App) reserveMFAAttempt(ctx context.Context, userID, ip string) (*auth.Reservation, error) {
	return a.guardWith(ctx, a.mfa.throttle, "user:"+userID, ip, "code")
}

// settle ends a code check's reservation: Success when it passed, Failure
// when the code was wrong (an error of the code's own fields), Cancel when
// something else stopped the check.
func settle(r *auth.Reservation, err error, now time.Time) {
	var e *access.Error
	switch {
	case err == nil:
		r.Success()
	case errors.As(err, &e) && (e.Field == "code" || e.Field == "recovery_code"):
		r.Failure(now)
	default:
		r.Cancel()
	}
}

// signedIn starts u's session (restricted to enrolment when enrolOnly) and
// audits session.login with the method.
func (a *App) signedIn(ctx context.Context, u access.User, method string, enrolOnly bool) (SignInResult, error) {
	secret, expires, err := a.startSession(ctx, u, enrolOnly)
	if err != nil {
		return SignInResult{}, err
	}
	after := []byte(`{"method":"` + method + `"}`)
	if enrolOnly {
		after = []byte(`{"method":"` + method + `","mfa_enrolment_required":true}`)
	}
	_ = a.st.Log(ctx, store.AuditEntry{Time: a.Now(), Actor: "user:" + u.ID, Action: "session.login", Target: "user:" + u.ID, After: after})
	return SignInResult{User: u, MFAEnrol: enrolOnly, Session: &NewSession{Secret: secret, Expires: expires}}, nil
}

// requireSessionActor refuses API tokens: a second factor is managed from
// a signed-in session (CodeForbidden).
func requireSessionActor(c *Actor) error {
	if c.Token || c.System {
		return access.Errorf(access.CodeForbidden, "multi-factor authentication is managed from a signed-in session, not with an API token")
	}
	return nil
}

// TOTPEnrolment is a started TOTP enrolment: the secret to type into an
// authenticator app and the otpauth:// URL its QR code holds.
type TOTPEnrolment struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
}

// StartTOTP starts the actor's TOTP enrolment with a new secret, replacing
// one pending; ConfirmTOTP turns it on. The actor itself, from a session
// (also one restricted to enrolment). Audited mfa.enrolment_started.
// Errors: CodeForbidden (an API token), CodeConflict (MFA is on already).
func (a *App) StartTOTP(ctx context.Context, c *Actor) (TOTPEnrolment, error) {
	if err := requireSessionActor(c); err != nil {
		return TOTPEnrolment{}, err
	}
	label := c.User.Email
	if label == "" {
		label = c.User.ID
	}
	secret, url, err := auth.NewTOTPKey(mfaIssuer, label)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if err := a.st.PutPendingTOTP(ctx, c.ID(), a.mfa.box.Seal(c.ID(), secret)); err != nil {
		return TOTPEnrolment{}, err
	}
	_ = a.st.Log(ctx, store.AuditEntry{Time: a.Now(), Actor: c.AuditID(), Action: "mfa.enrolment_started", Target: "user:" + c.ID()})
	return TOTPEnrolment{Secret: secret, OTPAuthURL: url}, nil
}

// PendingTOTP returns the actor's pending enrolment again (to show its QR
// code once more), or CodeNotFound when none is pending.
func (a *App) PendingTOTP(ctx context.Context, c *Actor) (TOTPEnrolment, error) {
	if err := requireSessionActor(c); err != nil {
		return TOTPEnrolment{}, err
	}
	t, err := a.st.TOTP(ctx, c.ID())
	if err == nil && t.EnabledAt != nil {
		err = access.Errorf(access.CodeNotFound, "no enrolment is pending")
	}
	if err != nil {
		return TOTPEnrolment{}, err
	}
	secret, err := a.mfa.box.Open(c.ID(), t.Secret)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	label := c.User.Email
	if label == "" {
		label = c.User.ID
	}
	return TOTPEnrolment{Secret: secret, OTPAuthURL: auth.TOTPURL(mfaIssuer, label, secret)}, nil
}

// TOTPConfirm is the first code of a pending enrolment.
type TOTPConfirm struct {
	Code string `json:"code"`
	IP   string `json:"-"`
}

// TOTPEnabled is the answer of ConfirmTOTP: the recovery codes, shown this
// once, and, when the actor's session was restricted to enrolment, the
// full session that replaces it (set it as the cookie).
type TOTPEnabled struct {
	RecoveryCodes []string
	Session       *NewSession
	Revision      int64
}

// ConfirmTOTP turns the actor's pending TOTP enrolment on with its first
// code and returns auth.RecoveryCodes new recovery codes (stored hashed,
// each single use). The code's time step counts as used. Audited
// mfa.enabled. The actor itself, from a session. Errors: CodeForbidden (an
// API token), CodeInvalid (a malformed or wrong code, Field code),
// CodeConflict (nothing pending, or MFA on already), CodeRateLimited.
func (a *App) ConfirmTOTP(ctx context.Context, c *Actor, in TOTPConfirm) (_ TOTPEnabled, err error) {
	if err := requireSessionActor(c); err != nil {
		return TOTPEnabled{}, err
	}
	if !auth.ValidTOTPCode(in.Code) {
		return TOTPEnabled{}, access.FieldErrorf(access.CodeInvalid, "code", "code must be the six digits your authenticator app shows")
	}
	r, err := a.reserveMFAAttempt(ctx, c.ID(), in.IP)
	if err != nil {
		return TOTPEnabled{}, err
	}
	defer func() { settle(r, err, a.Now()) }()
	t, err := a.st.TOTP(ctx, c.ID())
	if access.ErrorCode(err) == access.CodeNotFound || (err == nil && t.EnabledAt != nil) {
		return TOTPEnabled{}, access.Errorf(access.CodeConflict, "no enrolment is pending: start one first")
	}
	if err != nil {
		return TOTPEnabled{}, err
	}
	secret, err := a.mfa.box.Open(c.ID(), t.Secret)
	if err != nil {
		return TOTPEnabled{}, err
	}
	step, ok := auth.TOTPStep(secret, in.Code, a.Now())
	if !ok {
		return TOTPEnabled{}, access.FieldErrorf(access.CodeInvalid, "code", "wrong code: check that your device's clock is right and type the code it shows now")
	}
	codes, hashes := auth.NewRecoveryCodes(auth.RecoveryCodes)
	w := write(c, nil)
	a.mfaMail(ctx, &w, c.User, "mfa.enabled")
	rev, err := a.st.EnableTOTP(ctx, w, c.ID(), step, hashes)
	if err != nil {
		return TOTPEnabled{}, err
	}
	a.sent()
	out := TOTPEnabled{RecoveryCodes: codes, Revision: rev}
	if c.MFAEnrolOnly {
		secret, expires, err := a.startSession(ctx, c.User, false)
		if err != nil {
			return out, err
		}
		_ = a.st.DeleteSession(ctx, c.Session)
		out.Session = &NewSession{Secret: secret, Expires: expires}
	}
	return out, nil
}

// MFADisable turns the actor's MFA off: its password and a current code
// (or a recovery code in Code).
type MFADisable struct {
	Password string `json:"password"`
	Code     string `json:"code"`
	IP       string `json:"-"`
}

// DisableMFA turns the actor's MFA off, deleting its secret and recovery
// codes, after checking its password (throttled like a sign-in) and a
// code (a TOTP code, or a recovery code). Audited mfa.disabled. The actor
// itself, from a session, when MFA is not required of it. Errors:
// CodeForbidden (an API token; MFA required; a wrong password, Field
// password; a wrong code, Field code), CodeInvalid (a missing field),
// CodeNotFound (MFA is not on), CodeRateLimited.
func (a *App) DisableMFA(ctx context.Context, c *Actor, in MFADisable) (int64, error) {
	if err := requireSessionActor(c); err != nil {
		return 0, err
	}
	if a.MFARequired(c.User) {
		return 0, access.Errorf(access.CodeForbidden, "multi-factor authentication is required for your account and cannot be turned off; staff can reset it")
	}
	if in.Password == "" {
		return 0, access.FieldErrorf(access.CodeInvalid, "password", "password is required")
	}
	if in.Code == "" {
		return 0, access.FieldErrorf(access.CodeInvalid, "code", "code is required")
	}
	code, recovery := in.Code, ""
	if !auth.ValidTOTPCode(code) {
		code, recovery = "", in.Code
	}
	if err := validateSecondFactor(code, recovery); err != nil {
		return 0, err
	}
	t, err := a.st.TOTP(ctx, c.ID())
	if access.ErrorCode(err) == access.CodeNotFound || (err == nil && t.EnabledAt == nil) {
		return 0, access.Errorf(access.CodeNotFound, "multi-factor authentication is not on")
	}
	if err != nil {
		return 0, err
	}
	if err := a.checkCurrentPassword(ctx, c, in.Password, in.IP); err != nil {
		return 0, err
	}
	if _, err := a.checkSecondFactor(ctx, c.User, code, recovery, in.IP, access.CodeForbidden); err != nil {
		if e, ok := err.(*access.Error); ok && e.Field == "recovery_code" {
			e2 := *e
			e2.Field = "code"
			return 0, &e2
		}
		return 0, err
	}
	w := write(c, nil)
	a.mfaMail(ctx, &w, c.User, "mfa.disabled")
	rev, err := a.st.DeleteTOTP(ctx, w, c.ID(), "mfa.disabled")
	if err == nil {
		a.sent()
	}
	return rev, err
}

// ResetMFA removes user id's second factor, so that it signs in with its
// password alone (and enrols again where MFA is required). Staff writers,
// under CheckUser (access managers not an admin's), checked again inside
// the write. Audited mfa.reset. Errors: CodeForbidden, CodeNotFound (no
// such user, or no second factor to reset).
func (a *App) ResetMFA(ctx context.Context, c *Actor, id string) (int64, error) {
	if !c.StaffWriter() {
		return 0, access.Errorf(access.CodeForbidden, "you may not reset this user's multi-factor authentication")
	}
	u, err := a.st.GetUser(ctx, id)
	if err != nil {
		return 0, err
	}
	check := func() error {
		if err := a.staffWriterStill(c)(); err != nil {
			return err
		}
		u, ok := a.eng.User(id)
		if !ok {
			return access.Errorf(access.CodeNotFound, "user %s not found", id)
		}
		return a.checkUser(c, &u, &u)
	}
	if err := check(); err != nil {
		return 0, err
	}
	w := write(c, check)
	a.mfaMail(ctx, &w, u, "mfa.reset")
	rev, err := a.st.DeleteTOTP(ctx, w, id, "mfa.reset")
	if err == nil {
		a.sent()
	}
	return rev, err
}

// MFAStatus is a user's second factor as its owner and staff see it.
type MFAStatus struct {
	// Enabled is true once TOTP is confirmed.
	Enabled bool `json:"enabled"`
	// Pending is true while an enrolment awaits its first code.
	Pending bool `json:"pending"`
	// Required is true when the user must have MFA (require_mfa above
	// its home account, or --staff-mfa required).
	Required bool `json:"required"`
	// RecoveryCodesLeft counts the unused recovery codes.
	RecoveryCodesLeft int        `json:"recovery_codes_left"`
	EnabledAt         *time.Time `json:"enabled_at,omitempty"`
}

// GetMFAStatus returns user id's MFA status: the actor's own, or any
// user's for staff. Errors: CodeForbidden, CodeNotFound.
func (a *App) GetMFAStatus(ctx context.Context, c *Actor, id string) (MFAStatus, error) {
	u := c.User
	if id != c.ID() {
		if err := requireStaff(c); err != nil {
			return MFAStatus{}, err
		}
		var ok bool
		if u, ok = a.eng.User(id); !ok {
			return MFAStatus{}, access.Errorf(access.CodeNotFound, "user %s not found", id)
		}
	}
	st := MFAStatus{Required: a.MFARequired(u)}
	t, err := a.st.TOTP(ctx, u.ID)
	if access.ErrorCode(err) == access.CodeNotFound {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	st.Enabled, st.Pending, st.EnabledAt = t.EnabledAt != nil, t.EnabledAt == nil, t.EnabledAt
	if st.Enabled {
		st.RecoveryCodesLeft = t.RecoveryLeft
	}
	return st, nil
}

// mfaMail adds the "MFA turned on" or "MFA turned off" message
// (identity.md §1) to the write that turns u's MFA on (action
// mfa.enabled), off (mfa.disabled) or resets it (mfa.reset), so that the
// message exists exactly when the change commits (the outbox).
func (a *App) mfaMail(ctx context.Context, w *store.Write, u access.User, action string) {
	if u.Email == "" {
		return
	}
	locale := a.localeOf(ctx, u.ID)
	c := mail.MFAChanged(locale, action == "mfa.enabled", mail.NoticeData{Name: u.Name, At: a.Now()})
	w.Mail = append(w.Mail, a.message("mfa_changed", u.Email, u.ID, locale, c, ""))
}
