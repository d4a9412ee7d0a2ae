// Package server is Portcullis' HTTP surface: the JSON API of DESIGN.md §3,
// authentication (session cookies and API tokens), health and metrics. The
// engine decides, the store filters, the server translates: every handler
// authorizes its caller, asks the access engine, lets the store enforce
// access in the query, and maps domain errors to status codes in one table
// (respond.go), never sending an internal cause to a client.
package server

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Config holds the server's settings.
type Config struct {
	// SessionPolicy bounds session lifetimes (12 h idle, 7 days by default).
	Sessions auth.SessionPolicy
	// Throttle limits login attempts; nil uses the defaults.
	Throttle *auth.Throttle
	// Version is reported by /healthz.
	Version string
	Logger  *slog.Logger
}

// Server serves the API. Create it with New; it holds no goroutines.
type Server struct {
	store    store.Store
	engine   *access.Engine
	cfg      Config
	log      *slog.Logger
	throttle *auth.Throttle
	routes   []route
	openapi  map[string]any // built once from routes
	handler  http.Handler
	metrics  *metrics
	registry *prometheus.Registry
	// hashing bounds concurrent password verifications to the CPUs.
	hashing chan struct{}
	// templates are the parsed pages, by name.
	templates map[string]*template.Template
	// extraWebRoutes are page routes added by other files (admin console).
	extraWebRoutes []webRouteDef
}

// webRouteDef is one page route.
type webRouteDef struct {
	pattern string
	public  bool
	h       webHandler
}

// route is one API route. The list of routes is the router's own, so the
// OpenAPI test and the authorization sweep see every route automatically.
type route struct {
	Method  string
	Pattern string // ServeMux pattern path, e.g. /api/v1/accounts/{id}
	// Public routes need no authentication.
	Public  bool
	Summary string
	handle  handlerFunc
}

// handlerFunc handles an authenticated request; a returned error is
// written by writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *caller) error

// New returns a server over st.
func New(st store.Store, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Sessions.IdleTimeout == 0 && cfg.Sessions.MaxAge == 0 {
		cfg.Sessions = auth.SessionPolicy{}
	}
	s := &Server{store: st, engine: st.Engine(), cfg: cfg, log: cfg.Logger, throttle: cfg.Throttle,
		hashing: make(chan struct{}, runtime.GOMAXPROCS(0))}
	if s.throttle == nil {
		s.throttle = auth.NewThrottle(auth.ThrottleConfig{})
	}
	s.registry = prometheus.NewRegistry()
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newMetrics(s.registry)
	s.routes = s.apiRoutes()
	s.openapi = s.openAPI()

	tpl, err := parseTemplates()
	if err != nil {
		panic(err) // embedded templates: a test catches this
	}
	s.templates = tpl
	s.extraWebRoutes = s.adminRoutes()
	mux := http.NewServeMux()
	s.webRoutes(mux)
	for _, rt := range s.routes {
		mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	s.handler = s.securityHeaders(http.NewCrossOriginProtection().Handler(s.apiErrors(mux)))
	return s
}

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Registry returns the Prometheus registry, for collectors of other
// components (the store's pool statistics).
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// wrap adds what every route needs: a body limit, min_revision waits,
// authentication, metrics, and the error mapping.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.metrics.observe(rt.Method+" "+rt.Pattern, sw.status, time.Since(start))
		}()
		r.Body = http.MaxBytesReader(sw, r.Body, maxBody)
		if !acceptedContentType(r, rt) {
			s.writeError(sw, r, access.Errorf(codeUnsupportedMediaType, "request bodies must be application/json"))
			return
		}
		var c *caller
		if !rt.Public {
			var err error
			if c, err = s.authenticate(r); err != nil {
				s.writeError(sw, r, err)
				return
			}
		}
		if v := r.URL.Query().Get("min_revision"); v != "" {
			if err := s.waitRevision(r.Context(), v); err != nil {
				s.writeError(sw, r, err)
				return
			}
		}
		if err := rt.handle(sw, r, c); err != nil {
			s.writeError(sw, r, err)
		}
	})
}

// acceptedContentType admits JSON bodies (and a missing Content-Type, for
// curl users), plus YAML for the policy document.
func acceptedContentType(r *http.Request, rt route) bool {
	if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch {
		return true
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	ct = strings.TrimSpace(strings.ToLower(ct))
	switch ct {
	case "", "application/json", "application/merge-patch+json":
		return true
	case "application/yaml", "application/x-yaml", "text/yaml":
		return rt.Pattern == "/api/v1/policy"
	}
	return false
}

// waitRevision waits, at most 5 s, until the store has applied the given
// revision (DESIGN.md §5.11).
func (s *Server) waitRevision(ctx context.Context, v string) error {
	rev, err := strconv.ParseInt(v, 10, 64)
	if err != nil || rev < 0 {
		return access.Errorf(access.CodeInvalid, "min_revision must be a non-negative integer")
	}
	if s.store.Revision() >= rev {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return s.store.WaitRevision(ctx, rev)
}

// securityHeaders sets the headers every response carries.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// apiErrors answers requests the mux has no route for (404, or 405 for a
// known path with another method) with the API's JSON error body under
// /api/ and /healthz, keeping the mux's Allow header.
func (s *Server) apiErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" || !strings.HasPrefix(r.URL.Path, "/api/") {
			mux.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(&errorRewriter{ResponseWriter: w, s: s, r: r}, r)
	})
}

// errorRewriter replaces the mux's plain-text 404 and 405 bodies.
type errorRewriter struct {
	http.ResponseWriter
	s       *Server
	r       *http.Request
	written bool
}

func (e *errorRewriter) WriteHeader(code int) {
	if e.written {
		return
	}
	e.written = true
	e.ResponseWriter.Header().Del("Content-Type")
	e.ResponseWriter.Header().Del("X-Content-Type-Options")
	e.ResponseWriter.Header().Set("X-Content-Type-Options", "nosniff")
	if code == http.StatusMethodNotAllowed {
		e.s.writeError(e.ResponseWriter, e.r, access.Errorf(codeMethodNotAllowed, "method %s is not allowed here", e.r.Method))
		return
	}
	e.s.writeError(e.ResponseWriter, e.r, access.Errorf(access.CodeNotFound, "no such endpoint"))
}

func (e *errorRewriter) Write(b []byte) (int, error) {
	if !e.written {
		e.WriteHeader(http.StatusNotFound)
	}
	return len(b), nil // the mux's text body is dropped
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

type metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	decisions *prometheus.CounterVec
	listTime  prometheus.Histogram
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "portcullis_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_decisions_total", Help: "Access decisions by result.",
		}, []string{"allowed"}),
		listTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "portcullis_list_query_duration_seconds", Help: "Record list query latency.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.decisions, m.listTime)
	return m
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

func (m *metrics) decision(allowed bool) {
	m.decisions.WithLabelValues(strconv.FormatBool(allowed)).Inc()
}

// RouteInfo describes a route of the API.
type RouteInfo struct {
	Method, Pattern string
	Public          bool
}

// Routes lists every API route; tests sweep them and check the OpenAPI
// document against them.
func (s *Server) Routes() []RouteInfo {
	out := make([]RouteInfo, len(s.routes))
	for i, rt := range s.routes {
		out[i] = RouteInfo{rt.Method, rt.Pattern, rt.Public}
	}
	return out
}
