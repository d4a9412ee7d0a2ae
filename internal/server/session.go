package server

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// SessionCookie is the name of the browser session cookie.
const SessionCookie = "portcullis_session"

// caller is the authenticated user of a request.
type caller struct {
	user access.User
	// token is set when the request authenticated with an API token.
	token bool
	// session is the hash of the session secret, for logout.
	session string
}

func (c *caller) internal() bool { return c.user.Kind == access.KindInternal }

// staffWriter reports whether the caller may change access data: an admin
// or an access manager.
func (c *caller) staffWriter() bool {
	return c.internal() && (c.user.StaffRole == access.StaffAdmin || c.user.StaffRole == access.StaffAccessManager)
}

func (c *caller) admin() bool { return c.internal() && c.user.StaffRole == access.StaffAdmin }

// requireStaff answers 403 to external users.
func requireStaff(c *caller) error {
	if !c.internal() {
		return access.Errorf(access.CodeForbidden, "this endpoint is for staff")
	}
	return nil
}

// requireStaffWriter answers 403 to external users and auditors.
func requireStaffWriter(c *caller) error {
	if !c.staffWriter() {
		return access.Errorf(access.CodeForbidden, "you may not change this")
	}
	return nil
}

var errUnauthenticated = access.Errorf(access.CodeUnauthenticated, "sign in or send an API token")

// authenticate finds the caller from an API token or the session cookie.
// Only active users authenticate; a disabled user's sessions are gone.
//
// The store answers TokenByHash and SessionByHash from an in-memory cache
// that every revocation (DeleteToken, DeleteSession, SetPassword,
// DeleteUser...) empties before it returns, and other nodes' revocations
// within a second, so a request costs no database round trip. Whether the
// user is active and, for a token, internal is asked of the engine on every
// request, never cached here. A session's LastSeen may lag another node's
// touch by the cache's lifetime (30 s), next to the minute that touches are
// already spaced by: idle expiry is exact to about a minute and a half.
func (s *Server) authenticate(r *http.Request) (*caller, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || secret == "" {
			return nil, errUnauthenticated
		}
		tok, err := s.store.TokenByHash(ctx, auth.HashSecret(secret))
		if err != nil {
			return nil, s.authError(err)
		}
		u, ok := s.engine.User(tok.UserID)
		if !ok || u.Status != access.StatusActive || u.Kind != access.KindInternal {
			return nil, errUnauthenticated
		}
		return &caller{user: u, token: true}, nil
	}
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return nil, errUnauthenticated
	}
	hash := auth.HashSecret(ck.Value)
	sess, err := s.store.SessionByHash(ctx, hash)
	if err != nil {
		return nil, s.authError(err)
	}
	now := s.engine.Now()
	if s.cfg.Sessions.Expired(sess.CreatedAt, sess.LastSeen, now) {
		_ = s.store.DeleteSession(ctx, hash)
		return nil, errUnauthenticated
	}
	u, ok := s.engine.User(sess.UserID)
	if !ok || u.Status != access.StatusActive {
		_ = s.store.DeleteSession(ctx, hash)
		return nil, errUnauthenticated
	}
	// Record activity at most once a minute to keep reads cheap.
	if now.Sub(sess.LastSeen) > time.Minute {
		if err := s.store.TouchSession(ctx, hash, now); err != nil {
			s.log.Warn("touch session", "err", err)
		}
	}
	return &caller{user: u, session: hash}, nil
}

func (s *Server) authError(err error) error {
	if access.ErrorCode(err) == access.CodeNotFound {
		return errUnauthenticated
	}
	return err
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// handleLogin signs a user in: throttled per email and per client IP,
// constant work whether or not the email exists, a new session secret at
// every login (rotation), audited.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var req loginRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	u, err := s.Login(r.Context(), req.Email, req.Password, clientIP(r))
	if err != nil {
		return err
	}
	// A login replaces any session the browser had.
	if ck, err := r.Cookie(SessionCookie); err == nil && ck.Value != "" {
		_ = s.store.DeleteSession(r.Context(), auth.HashSecret(ck.Value))
	}
	if err := s.startSession(w, r, u); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": u})
	return nil
}

// Login checks credentials and returns the user. It is shared by the API
// and the web pages.
func (s *Server) Login(ctx context.Context, email, password, ip string) (access.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	now := s.engine.Now()
	if ok, retry := s.throttle.Allow(email, ip, now); !ok {
		return access.User{}, access.Errorf(access.CodeRateLimited, "too many failed sign-ins; try again in %d seconds", int(retry.Seconds())+1)
	}
	fail := func() (access.User, error) {
		s.throttle.Failure(email, ip, now)
		_ = s.store.Log(ctx, store.AuditEntry{Time: now, Actor: "anonymous", Action: "session.login_failed", Target: "email:" + email})
		return access.User{}, access.Errorf(access.CodeUnauthenticated, "wrong email or password")
	}
	u, err := s.store.GetUserByEmail(ctx, email)
	if err != nil {
		if access.ErrorCode(err) != access.CodeNotFound {
			return access.User{}, err
		}
		auth.DummyVerify()
		return fail()
	}
	hash, err := s.store.PasswordHash(ctx, u.ID)
	if err != nil {
		return access.User{}, err
	}
	if hash == "" {
		auth.DummyVerify()
		return fail()
	}
	s.hashing <- struct{}{} // bound concurrent argon2 work (19 MiB each)
	ok, err := auth.VerifyPassword(hash, password)
	<-s.hashing
	if err != nil || !ok || u.Status != access.StatusActive {
		return fail()
	}
	s.throttle.Success(email, ip)
	_ = s.store.Log(ctx, store.AuditEntry{Time: now, Actor: "user:" + u.ID, Action: "session.login", Target: "user:" + u.ID})
	return u, nil
}

// startSession creates a session for u and sets its cookie.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u access.User) error {
	secret, hash := auth.NewSecret("pcs_")
	now := s.engine.Now()
	if err := s.store.CreateSession(r.Context(), store.Session{Hash: hash, UserID: u.ID, CreatedAt: now, LastSeen: now}); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: secret, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, Expires: s.cfg.Sessions.ExpiresAt(now, now)})
	return nil
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, c *caller) error {
	if c.session != "" {
		if err := s.store.DeleteSession(r.Context(), c.session); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// clientIP is the peer address; trusted-proxy headers are a later feature
// (DESIGN.md §6), so X-Forwarded-For is deliberately ignored.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
