// Package server is Portcullis' HTTP server: it mounts the surfaces (the
// JSON API, the customer portal, the admin console) on one ServeMux, runs
// every request through one middleware chain (security headers,
// cross-origin protection, body limit, authentication, min_revision,
// metrics) and writes the errors the surfaces return: as the API's JSON
// error body under /api/ and /healthz, as a page elsewhere, with the status
// of one table (package surface), never sending an internal cause to a
// client. It holds no use case: those are package app's.
package server

import (
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/server/admin"
	"github.com/portcullis-dev/portcullis/internal/server/api"
	"github.com/portcullis-dev/portcullis/internal/server/authzen"
	"github.com/portcullis-dev/portcullis/internal/server/portal"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/scim"
	"github.com/portcullis-dev/portcullis/internal/server/sso"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/web"
)

// Config holds the server's settings.
type Config struct {
	// Sessions bounds session lifetimes (12 h idle, 7 days by default).
	Sessions auth.SessionPolicy
	// Throttle limits sign-in attempts; nil uses the defaults.
	Throttle *auth.Throttle
	// Version is reported by /healthz.
	Version string
	Logger  *slog.Logger
	// PublicURL is the server's public base URL (AuthZEN metadata); empty:
	// derived from each request.
	PublicURL string
	// MFASecrets seals TOTP secrets at rest; nil stores them unencrypted.
	MFASecrets *auth.SecretBox
	// StaffMFA is app.StaffMFARequired or app.StaffMFAOptional (default).
	StaffMFA string
	// Mail configures the links and delivery of outgoing mail.
	Mail app.MailConfig
	// Conversation configures comments and files on records (the
	// supplier's name, --max-file-size).
	Conversation app.ConversationConfig
	// TrustedProxies are the peers whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed (--trusted-proxies); from any
	// other peer they are ignored.
	TrustedProxies []netip.Prefix
	// DefaultLocale is the pages' language when neither the user nor the
	// browser names one (--default-locale; empty: en).
	DefaultLocale string
	// Brand is the name, logo and accent colour of the pages
	// (--brand-name, --brand-logo, --brand-color); the zero Brand is
	// Portcullis'. Mails take theirs from Mail.Brand.
	Brand render.Brand
	// FormKey (32 bytes) seals the forms kept across a sign-in when a
	// session ends while one is open (surface.Resume). Nodes that share
	// it resume each other's forms; nil is a random key of this process.
	FormKey []byte
}

// MaxBody caps every request body (DESIGN.md §5.10).
const MaxBody = 32 << 20

// Server serves the surfaces over one app. Create it with New; it holds no
// goroutines.
type Server struct {
	app      *app.App
	log      *slog.Logger
	rd       *render.Renderer
	api      []surface.Route
	authzen  []surface.Route
	scim     []surface.Route
	handler  http.Handler
	metrics  *metrics
	registry *prometheus.Registry
	resume   *surface.Resume
}

// New returns a server over st and eng, the engine that reflects st: it
// builds the use cases (app.New) with the server's metrics and mounts the
// surfaces.
func New(st store.Store, eng *access.Engine, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{log: cfg.Logger, registry: prometheus.NewRegistry()}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newMetrics(s.registry)
	s.app = app.New(st, eng, app.Config{Sessions: cfg.Sessions, Throttle: cfg.Throttle, Observer: s.metrics, Logger: cfg.Logger,
		MFASecrets: cfg.MFASecrets, StaffMFA: cfg.StaffMFA, Mail: cfg.Mail, Conversation: cfg.Conversation})
	rd, err := render.New(cfg.Logger)
	if err != nil {
		panic(err) // embedded templates: a test catches this
	}
	rd.SetDefaultLocale(cfg.DefaultLocale)
	rd.SetPolicy(eng.Policy)
	rd.SetBrand(cfg.Brand)
	rd.SetGroupNames(func(id string) (string, bool) {
		g, ok := eng.Group(id)
		return g.Name, ok && g.Name != ""
	})
	s.rd = rd
	if s.resume, err = surface.NewResume(cfg.FormKey, s.app.Now); err != nil {
		panic(err) // a key that is not 32 bytes: the command line derives it
	}
	s.api = api.New(s.app, cfg.Logger, cfg.Version).Routes()

	mux := http.NewServeMux()
	for _, rt := range s.api {
		mux.Handle(rt.Method+" "+rt.Pattern, s.chain(rt, true))
	}
	// A known API path with another method is 405, any other /api/ path
	// 404, both with the API's error body.
	notAllowed(mux, s.api, s.apiError)
	mux.Handle("/api/", s.apiError(access.Errorf(access.CodeNotFound, "no such endpoint"), ""))
	s.authzen = authzen.New(s.app, cfg.Logger, cfg.PublicURL).Routes()
	for _, rt := range s.authzen {
		mux.Handle(rt.Method+" "+rt.Pattern, s.chain(rt, true))
	}
	// SCIM: the same, in the SCIM error schema.
	sc := scim.New(s.app, cfg.Logger, cfg.PublicURL)
	s.scim = sc.Routes()
	for _, rt := range s.scim {
		mux.Handle(rt.Method+" "+rt.Pattern, s.chain(rt, true))
	}
	scimError := func(e *access.Error, allow string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if allow != "" {
				w.Header().Set("Allow", allow)
			}
			sc.WriteError(w, r, e)
		})
	}
	notAllowed(mux, s.scim, scimError)
	mux.Handle(scim.Prefix+"/", scimError(access.Errorf(access.CodeNotFound, "no such SCIM endpoint"), ""))

	portalRoutes := portal.New(s.app, rd, cfg.Logger).Routes()
	pages := append(portalRoutes, admin.New(s.app, rd, cfg.Logger).Routes()...)
	pages = append(pages, sso.New(s.app, cfg.Logger, cfg.PublicURL, nil).Routes()...)
	for _, rt := range pages {
		mux.Handle(rt.Method+" "+rt.Pattern, s.chain(rt, false))
	}
	// View as: the portal's read-only pages again under /admin/view-as/{as},
	// where the portal shows them as that user; anything else is refused.
	for _, rt := range portalRoutes {
		if rt.ReadOnly {
			mux.Handle(rt.Method+" /admin/view-as/{as}"+rt.Pattern, s.chain(rt, false))
		}
	}
	mux.Handle("/admin/view-as/{as}/", s.chain(surface.Route{Handle: func(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
		return access.Errorf(access.CodeForbidden, "view as is read-only: nothing can be changed while viewing the portal as another user")
	}}, false))
	// A page path with another method, and any path nothing serves, is a
	// page inside the normal frame (portal.md §5), never Go's plain text.
	notAllowed(mux, pages, s.pageError)
	mux.Handle("/", s.pageError(access.Errorf(access.CodeNotFound, "there is no page at this address"), ""))

	static, _ := fs.Sub(web.Static, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(http.FileServerFS(static))))
	brandRoutes(mux, cfg.Brand)
	nw := clients{trusted: cfg.TrustedProxies, publicHTTPS: strings.HasPrefix(strings.ToLower(cfg.PublicURL), "https://")}
	s.handler = nw.handler(securityHeaders(http.NewCrossOriginProtection().Handler(mux)))
	return s
}

// notAllowed answers a known path of routes with another method 405 (with
// its Allow header), written by answer. Patterns without a method would be
// less specific than the routes', but one per other method is needed, not
// one without a method: that would conflict with a route of another
// pattern that overlaps (DELETE /api/v1/invitations/{id} and .../accept).
// GET also answers HEAD.
func notAllowed(mux *http.ServeMux, routes []surface.Route, answer func(e *access.Error, allow string) http.Handler) {
	allow := map[string][]string{}
	for _, rt := range routes {
		allow[rt.Pattern] = append(allow[rt.Pattern], rt.Method)
	}
	for pattern, methods := range allow {
		sort.Strings(methods)
		h := answer(access.Errorf(surface.CodeMethodNotAllowed, "this method is not allowed here"), strings.Join(methods, ", "))
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			if !slices.Contains(methods, m) {
				mux.Handle(m+" "+pattern, h)
			}
		}
	}
}

// Handler returns the root handler. It serves no /metrics: that is
// MetricsHandler's, on its own address (--metrics-addr).
func (s *Server) Handler() http.Handler { return s.handler }

// MetricsHandler serves the Prometheus metrics. The command line mounts
// it at /metrics on --metrics-addr only, never on the public address
// (identity.md §4).
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
}

// App returns the use cases the server serves.
func (s *Server) App() *app.App { return s.app }

// Registry returns the Prometheus registry, for collectors of other
// components (the store's pool statistics).
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// RouteInfo describes a route of the API.
type RouteInfo struct {
	Method, Pattern string
	Public          bool
}

// Routes lists every API route; tests sweep them and check the OpenAPI
// document against them.
func (s *Server) Routes() []RouteInfo { return routeInfos(s.api) }

// AuthZENRoutes lists the AuthZEN routes (package authzen), for the
// authorization sweep.
func (s *Server) AuthZENRoutes() []RouteInfo { return routeInfos(s.authzen) }

// SCIMRoutes lists the SCIM 2.0 routes (package scim), for the
// authorization sweep.
func (s *Server) SCIMRoutes() []RouteInfo { return routeInfos(s.scim) }

func routeInfos(rts []surface.Route) []RouteInfo {
	out := make([]RouteInfo, len(rts))
	for i, rt := range rts {
		out[i] = RouteInfo{rt.Method, rt.Pattern, rt.Public}
	}
	return out
}

// chain is the one middleware chain of every route: metrics, the body
// limit, the content type (API), authentication, min_revision (API), the
// handler, and the error it returns written as JSON (API) or a page.
func (s *Server) chain(rt surface.Route, isAPI bool) http.Handler {
	label := rt.Method + " " + rt.Pattern
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() { s.metrics.observe(label, sw.status, time.Since(start)) }()
		limit := int64(MaxBody)
		if rt.MaxBody > 0 {
			limit = rt.MaxBody
		}
		r.Body = http.MaxBytesReader(sw, r.Body, limit)
		fail := func(c *app.Actor, err error) {
			if rt.WriteError != nil {
				rt.WriteError(sw, r, err)
				return
			}
			if isAPI {
				s.writeError(sw, r, err)
				return
			}
			var u *access.User
			if c != nil {
				u = &c.User
			}
			s.rd.Error(sw, r, u, err)
		}
		if isAPI && !acceptedContentType(r, rt) {
			fail(nil, access.Errorf(surface.CodeUnsupportedMediaType, "request bodies must be application/json"))
			return
		}
		var c *app.Actor
		if !rt.Public {
			var err error
			if rt.Authenticate != nil {
				c, err = rt.Authenticate(r)
			} else {
				c, err = s.authenticate(r)
			}
			if !isAPI && (err != nil || c.Token) {
				// Pages are for browser sessions: sign in first.
				s.signInFirst(sw, r, err)
				return
			}
			if err != nil {
				fail(nil, err)
				return
			}
			if c.MFAEnrolOnly && !rt.MFAEnrol {
				// Enrol first (app.SignIn): pages go to the profile's
				// enrolment, the API answers 403.
				if !isAPI {
					http.Redirect(sw, r, "/profile?mfa=enrol", http.StatusSeeOther)
					return
				}
				fail(c, access.Errorf(surface.CodeMFAEnrolmentRequired, "set up multi-factor authentication first: POST /api/v1/me/mfa/totp, then /api/v1/me/mfa/totp/confirm"))
				return
			}
		}
		if c != nil && !isAPI && r.Method == http.MethodGet {
			r = s.resume.Take(sw, r, c.ID())
		}
		if v := r.URL.Query().Get("min_revision"); v != "" && isAPI {
			rev, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				rev = -1
			}
			if err := s.app.AwaitRevision(r.Context(), rev); err != nil {
				fail(c, err)
				return
			}
		}
		if c != nil && !isAPI && changeAgain(r) {
			// "Change" on a change's confirmation: back to the form's
			// page with what was typed (surface.KeepEdit).
			if page := s.resume.KeepEdit(sw, r, c.ID()); page != "" {
				http.Redirect(sw, r, page, http.StatusSeeOther)
				return
			}
		}
		if err := rt.Handle(sw, r, c); err != nil {
			fail(c, err)
		}
	})
}

// changeAgain reports whether r is a change's confirmation posted with
// confirm=edit. Only URL-encoded forms are read: a multipart body stays
// for its handler to stream.
func changeAgain(r *http.Request) bool {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return false
	}
	return r.PostFormValue("confirm") == "edit"
}

// signInFirst sends a page request without a valid session to sign in,
// coming back to it afterwards. A form sent when its session had ended
// is kept (surface.Resume) and sign-in returns to the form's page, saying
// why; a page asked for (or a form of nothing but secrets sent) with an
// ended session says that it ended.
func (s *Server) signInFirst(w http.ResponseWriter, r *http.Request, err error) {
	next, notice := r.URL.RequestURI(), ""
	if surface.SessionSecret(r) != "" {
		notice = "1"
	}
	if r.Method == http.MethodPost && err != nil {
		var lapsed *app.LapsedSession
		user := ""
		if errors.As(err, &lapsed) {
			user = lapsed.UserID
		}
		var kept bool
		if next, kept = s.resume.Keep(w, r, user); kept {
			notice = "form"
		}
	}
	target := "/login?next=" + url.QueryEscape(next)
	if notice != "" {
		target += "&expired=" + notice
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// authenticate finds the actor of a request: an API token (Authorization:
// Bearer) or the session cookie.
func (s *Server) authenticate(r *http.Request) (*app.Actor, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			secret = ""
		}
		return s.app.AuthenticateToken(r.Context(), secret)
	}
	return s.app.AuthenticateSession(r.Context(), surface.SessionSecret(r))
}

// acceptedContentType admits JSON bodies (and a missing Content-Type, for
// curl users), plus YAML where the route takes it (the policy), files
// where it takes them, and anything where it takes any body (a record's
// file).
func acceptedContentType(r *http.Request, rt surface.Route) bool {
	if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch {
		return true
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	switch strings.TrimSpace(strings.ToLower(ct)) {
	case "", "application/json", "application/merge-patch+json":
		return true
	case "application/yaml", "application/x-yaml", "text/yaml":
		return rt.AcceptYAML
	case "text/csv", "application/x-ndjson":
		return rt.AcceptFiles
	case "application/scim+json":
		return rt.AcceptSCIM
	}
	return rt.AcceptAnyBody
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code       string             `json:"code"`
	Message    string             `json:"message"`
	ExistingID string             `json:"existing_id,omitempty"`
	Items      []access.ItemError `json:"items,omitempty"`
}

// writeError answers with the error's code and message. An error that is
// not a domain error is internal: it is logged with the request and the
// client only learns that something went wrong.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := surface.DomainError(err)
	if e == nil {
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &access.Error{Code: access.CodeInternal, Message: "internal error"}
	}
	writeJSON(w, surface.Status(e.Code), errorBody{errorDetail{Code: e.Code, Message: e.Message, ExistingID: e.ExistingID, Items: e.Items}})
}

// pageError answers with a fixed error as a page: with the navigation of
// the signed-in user when the request has a session, else the bare frame.
func (s *Server) pageError(e *access.Error, allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allow != "" {
			w.Header().Set("Allow", allow)
		}
		var u *access.User
		if surface.SessionSecret(r) != "" {
			if c, err := s.app.AuthenticateSession(r.Context(), surface.SessionSecret(r)); err == nil && !c.MFAEnrolOnly {
				u = &c.User
			}
		}
		s.rd.Error(w, r, u, e)
	})
}

// apiError answers with a fixed API error (404, 405 with its Allow
// header).
func (s *Server) apiError(e *access.Error, allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allow != "" {
			w.Header().Set("Allow", allow)
		}
		if e.Code == surface.CodeMethodNotAllowed {
			s.writeError(w, r, access.Errorf(e.Code, "method %s is not allowed here", r.Method))
			return
		}
		s.writeError(w, r, e)
	})
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		if r.TLS != nil {
			// Served over TLS directly (--tls-cert): browsers keep to HTTPS.
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// staticFiles lets browsers cache the embedded assets for a day.
func staticFiles(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		h.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
