// Package surface is the contract between the server and the surfaces it
// mounts (api, portal, admin): the route a surface declares, the handler
// signature, the one table from domain error codes to HTTP statuses, and
// the session cookie. A surface decodes a request into a typed input,
// calls one use case of package app and encodes the answer; an error it
// returns is written by the server, as JSON for API routes and as a page
// for page routes.
package surface

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
)

// Handler handles an authenticated request (actor nil on public routes);
// a returned error is written by the server.
type Handler func(w http.ResponseWriter, r *http.Request, c *app.Actor) error

// Route is one route of a surface. The server mounts every route through
// one middleware chain (body limit, authentication, min_revision, metrics,
// error writing); the route list also drives the OpenAPI check and the
// authorization sweep.
type Route struct {
	Method string
	// Pattern is the ServeMux path pattern, e.g. /api/v1/accounts/{id}.
	Pattern string
	// Public routes need no authentication.
	Public bool
	// Summary describes the route (API routes).
	Summary string
	// ReadOnly marks a page route that changes nothing, which the console
	// may mount again under view as (/admin/view-as/{as}).
	ReadOnly bool
	// AcceptYAML admits YAML request bodies besides JSON (the policy).
	AcceptYAML bool
	// AcceptFiles admits text/csv and application/x-ndjson request
	// bodies besides JSON (imports).
	AcceptFiles bool
	// AcceptAnyBody admits a request body of any content type (the bytes
	// of a file attached to a record, stored with that type).
	AcceptAnyBody bool
	// MaxBody, when positive, replaces the server's request body limit
	// for this route (imports take files larger than any JSON body).
	MaxBody int64
	// WriteError, when set, writes this route's errors (the chain's and
	// the handler's) in place of the server's JSON or page: for surfaces
	// whose standard defines its own error responses (AuthZEN). It must
	// log internal errors and never send their cause.
	WriteError func(w http.ResponseWriter, r *http.Request, err error)
	// Authenticate, when set, replaces the server's authentication (API
	// token or session) for this route: SCIM routes take SCIM tokens only.
	Authenticate func(r *http.Request) (*app.Actor, error)
	// AcceptSCIM admits application/scim+json request bodies besides JSON.
	AcceptSCIM bool
	// MFAEnrol marks a route that a session restricted to MFA enrolment
	// may reach (app.Actor.MFAEnrolOnly); every other route refuses it.
	MFAEnrol bool
	Handle   Handler
}

// HTTP-level error codes beyond the domain's (DESIGN.md §5.13).
const (
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeUnsupportedMediaType = "unsupported_media_type"
	// CodeMFAEnrolmentRequired refuses a session restricted to MFA
	// enrolment anything but the enrolment routes.
	CodeMFAEnrolmentRequired = "mfa_enrolment_required"
)

// statusOf maps every error code to its HTTP status: the one place where
// the error contract of DESIGN.md §3 lives.
var statusOf = map[string]int{
	access.CodeInvalid:             http.StatusBadRequest,
	access.CodeInvalidField:        http.StatusBadRequest,
	access.CodeUnauthenticated:     http.StatusUnauthorized,
	access.CodeForbidden:           http.StatusForbidden,
	access.CodeConstraintViolation: http.StatusForbidden,
	access.CodeNotFound:            http.StatusNotFound,
	access.CodeConflict:            http.StatusConflict,
	access.CodeProtected:           http.StatusConflict,
	access.CodeTooLarge:            http.StatusRequestEntityTooLarge,
	access.CodeRateLimited:         http.StatusTooManyRequests,
	access.CodeUnavailable:         http.StatusServiceUnavailable,
	CodeMethodNotAllowed:           http.StatusMethodNotAllowed,
	CodeUnsupportedMediaType:       http.StatusUnsupportedMediaType,
	CodeMFAEnrolmentRequired:       http.StatusForbidden,
	access.CodeInternal:            http.StatusInternalServerError,
}

// Status returns the HTTP status of an error code (500 for an unknown one).
func Status(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// DomainError returns err's *access.Error, or nil when err is an internal
// error (anything else, or an *access.Error with CodeInternal), whose
// cause must be logged and never shown.
func DomainError(err error) *access.Error {
	var e *access.Error
	if !errors.As(err, &e) || e.Code == access.CodeInternal {
		return nil
	}
	return e
}

// SessionCookie is the name of the browser session cookie.
const SessionCookie = "portcullis_session"

// SetSessionCookie gives the browser a new session: HttpOnly, SameSite
// Lax, Secure when the request came over HTTPS (directly or through a
// trusted proxy) or the public URL is https (see Client).
func SetSessionCookie(w http.ResponseWriter, r *http.Request, secret string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: secret, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: ClientOf(r).Secure || r.TLS != nil, Expires: expires})
}

// Client is what the server's outermost handler learned about the client
// of a request: its address (X-Forwarded-For honoured only from trusted
// proxies, the right-most untrusted hop) and whether its cookies must be
// Secure (HTTPS directly, X-Forwarded-Proto https from a trusted proxy,
// or an https public URL).
type Client struct {
	IP     string
	Secure bool
}

type clientKey struct{}

// WithClient returns r carrying c (the server's outermost handler).
func WithClient(r *http.Request, c Client) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), clientKey{}, c))
}

// ClientOf returns the Client the server recorded for r; without one,
// the peer address and whether r came over TLS.
func ClientOf(r *http.Request) Client {
	if c, ok := r.Context().Value(clientKey{}).(Client); ok {
		return c
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return Client{IP: host, Secure: r.TLS != nil}
}

// ClearSessionCookie removes the session cookie.
func ClearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// SessionSecret returns the session secret the browser sent, or "".
func SessionSecret(r *http.Request) string {
	if ck, err := r.Cookie(SessionCookie); err == nil {
		return ck.Value
	}
	return ""
}

// ClientIP is the client's address (ClientOf): the peer, or behind
// trusted proxies the right-most untrusted hop of X-Forwarded-For.
func ClientIP(r *http.Request) string { return ClientOf(r).IP }

// Revision puts the revision of a write in the response header.
func Revision(w http.ResponseWriter, rev int64) {
	if rev > 0 {
		w.Header().Set("Portcullis-Revision", strconv.FormatInt(rev, 10))
	}
}

// SignIn checks an email and password (app.SignIn: throttled, audited)
// and, unless a second factor is due (an mfa_token and no session), ends
// the session the browser had and starts a new one, setting its cookie:
// the same for the API and the sign-in page.
func SignIn(w http.ResponseWriter, r *http.Request, a *app.App, email, password string) (app.SignInResult, error) {
	res, err := a.SignIn(r.Context(), email, password, ClientIP(r))
	if err != nil {
		return res, err
	}
	startSession(w, r, a, res.Session)
	return res, nil
}

// SignInMFA is the second sign-in step (app.SignInMFA): on success the
// browser's old session ends and the new one's cookie is set.
func SignInMFA(w http.ResponseWriter, r *http.Request, a *app.App, in app.MFASignIn) (app.SignInResult, error) {
	in.IP = ClientIP(r)
	res, err := a.SignInMFA(r.Context(), in)
	if err != nil {
		return res, err
	}
	startSession(w, r, a, res.Session)
	return res, nil
}

// startSession replaces the browser's session with s, when s is set.
func startSession(w http.ResponseWriter, r *http.Request, a *app.App, s *app.NewSession) {
	if s == nil {
		return
	}
	if old := SessionSecret(r); old != "" {
		_ = a.EndSession(r.Context(), old)
	}
	SetSessionCookie(w, r, s.Secret, s.Expires)
}

// ReplaceSession sets the cookie of a session that replaces the actor's
// (app.TOTPEnabled.Session), when there is one.
func ReplaceSession(w http.ResponseWriter, r *http.Request, s *app.NewSession) {
	if s != nil {
		SetSessionCookie(w, r, s.Secret, s.Expires)
	}
}

// SignOut ends the actor's session and removes the cookie.
func SignOut(w http.ResponseWriter, r *http.Request, a *app.App, c *app.Actor) error {
	if err := a.SignOut(r.Context(), c); err != nil {
		return err
	}
	ClearSessionCookie(w)
	return nil
}
