package server

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/web"
)

// The web pages (portal at /, console at /admin) are rendered on the
// server with html/template and work without JavaScript. They use the same
// session cookie, the same authorization and the same engine as the API;
// cross-origin form posts are refused by http.CrossOriginProtection.

// page is what every template receives.
type page struct {
	Title string
	User  *access.User
	// Accounts are the accounts the portal user can act on (the switcher,
	// shown only when there are several); Current is the one in the URL.
	Accounts []access.AccountAccess
	Current  *access.AccountAccess
	// Base is the URL prefix of the portal pages ("" or, for view as,
	// "/admin/view-as/<user>").
	Base string
	// ViewAs is set when staff view the portal as an external user.
	ViewAs *access.User
	Nav    []navItem
	Flash  string
	Error  string
	// Errors are per-field messages shown next to their inputs.
	Errors map[string]string
	Data   any
}

type navItem struct {
	Label, Href string
	Current     bool
}

// webRoutes registers the portal and console pages and static files.
func (s *Server) webRoutes(mux *http.ServeMux) {
	static, _ := fs.Sub(web.Static, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(http.FileServerFS(static))))
	s.webRoute(mux, "GET /login", true, s.handleLoginPage)
	s.webRoute(mux, "POST /login", true, s.handleLoginForm)
	s.webRoute(mux, "POST /logout", false, s.handleLogoutForm)
	s.webRoute(mux, "GET /{$}", false, s.handleHome)
	for _, prefix := range []string{"", "/admin/view-as/{as}"} {
		s.webRoute(mux, "GET "+prefix+"/a/{account}/{$}", false, s.handlePortalHome)
		s.webRoute(mux, "GET "+prefix+"/a/{account}/switch", false, s.handlePortalSwitch)
		s.webRoute(mux, "GET "+prefix+"/a/{account}/{type}", false, s.handlePortalList)
		s.webRoute(mux, "GET "+prefix+"/a/{account}/{type}/{id}", false, s.handlePortalRecord)
		// Forms (portal_forms.go). Under view as they show, disabled, what
		// the user would get; every POST there is refused.
		s.webRoute(mux, "GET "+prefix+"/a/{account}/{type}/new", false, s.handlePortalNew)
		s.webRoute(mux, "POST "+prefix+"/a/{account}/{type}/new", false, s.handlePortalCreate)
		s.webRoute(mux, "GET "+prefix+"/a/{account}/{type}/{id}/edit", false, s.handlePortalEdit)
		s.webRoute(mux, "POST "+prefix+"/a/{account}/{type}/{id}/edit", false, s.handlePortalUpdate)
		// Company users (portal_users.go). The literal "users" wins over
		// {type}: a policy type named "users" would have no list page.
		// The grant a change or revoke names is a query parameter or form
		// field, since /users/{grant} would overlap {type}/new.
		s.webRoute(mux, "GET "+prefix+"/a/{account}/users", false, s.handlePortalUsers)
		s.webRoute(mux, "POST "+prefix+"/a/{account}/users/add", false, s.handlePortalUsersAdd)
		s.webRoute(mux, "GET "+prefix+"/a/{account}/users/change", false, s.handlePortalGrantForm("change"))
		s.webRoute(mux, "POST "+prefix+"/a/{account}/users/change", false, s.handlePortalGrantChange)
		s.webRoute(mux, "GET "+prefix+"/a/{account}/users/revoke", false, s.handlePortalGrantForm("revoke"))
		s.webRoute(mux, "POST "+prefix+"/a/{account}/users/revoke", false, s.handlePortalGrantRevoke)
	}
	s.webRoute(mux, "GET /switch", false, s.handleRootSwitch)
	s.webRoute(mux, "GET /profile", false, s.handleProfile)
	s.webRoute(mux, "POST /profile/password", false, s.handleProfilePassword)
	for _, wr := range s.extraWebRoutes {
		s.webRoute(mux, wr.pattern, wr.public, wr.h)
	}
}

// staticFiles lets browsers cache the embedded assets for a day.
func staticFiles(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		h.ServeHTTP(w, r)
	})
}

// handleRootSwitch serves the switcher on pages without an account.
func (s *Server) handleRootSwitch(w http.ResponseWriter, r *http.Request, c *caller) error {
	http.Redirect(w, r, "/a/"+url.PathEscape(r.URL.Query().Get("account"))+"/", http.StatusSeeOther)
	return nil
}

// webHandler handles a page; an error renders the error page.
type webHandler func(w http.ResponseWriter, r *http.Request, c *caller) error

// templates parses layout.html with each page template.
func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"fmtDate": func(s string) string {
			if len(s) > 10 {
				if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
					return t.UTC().Format("2006-01-02 15:04")
				}
			}
			return s
		},
		"fmtTime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04")
		},
		"fmtTimePtr": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04")
		},
		"value": formatValue,
		"label": fieldLabel,
		"isNum": func(v any) bool { _, ok := v.(float64); return ok },
		"join":  strings.Join,
		"query": func(v url.Values) string { return v.Encode() },
		"derefInt": func(p *int) string {
			if p == nil {
				return ""
			}
			return fmt.Sprint(*p)
		},
		"hasPrefix": strings.HasPrefix,
		"contains": func(list []string, v string) bool {
			for _, x := range list {
				if x == v {
					return true
				}
			}
			return false
		},
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(web.Templates, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(web.Templates, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(web.Templates, n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		out[strings.TrimSuffix(base, ".html")] = t
	}
	return out, nil
}

// formatValue renders an attribute value for a table cell.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprintf("%d", int64(x))
		}
		return fmt.Sprintf("%.2f", x)
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case []any:
		return fmt.Sprintf("%d items", len(x))
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+": "+formatValue(x[k]))
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

// doneMessages are the confirmations a page shows after a redirect that
// names one in its ?done= parameter (POST, redirect, GET). Only these fixed
// texts are ever shown: the parameter never carries text of its own.
var doneMessages = map[string]string{
	"created":         "Created.",
	"saved":           "Your changes were saved.",
	"added":           "Access added.",
	"invited":         "User invited and access added.",
	"changed":         "Access changed.",
	"revoked":         "Access revoked.",
	"password":        "Your password was changed. Your other sessions were signed out.",
	"account_created": "The account was created.",
	"account_saved":   "The account was saved.",
	"access_on":       "External users are now allowed on this account. Its group and default grant are active.",
	"access_off":      "External users are no longer allowed on this account. Its grants are kept but inactive.",
	"grant_added":     "The grant was added.",
	"grant_saved":     "The grant was saved.",
	"grant_removed":   "The grant was removed.",
	"user_created":    "The user was created.",
	"user_saved":      "The user was saved.",
	"constraints":     "The constraints were saved.",
	"password_set":    "The password was set. The user's sessions have ended.",
	"group_created":   "The group was created.",
	"group_saved":     "The group was saved.",
	"member_added":    "The member was added.",
	"member_removed":  "The member was removed.",
	"policy_saved":    "The new policy version was saved and is in force.",
}

// render writes a page with status; a ?done= confirmation becomes its flash
// message.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	if p.Flash == "" {
		p.Flash = doneMessages[r.URL.Query().Get("done")]
	}
	t := s.templates[name]
	if t == nil {
		s.log.Error("no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// webRoute registers a page; public pages need no session.
func (s *Server) webRoute(mux *http.ServeMux, pattern string, public bool, h webHandler) {
	mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() { s.metrics.observe(pattern, sw.status, time.Since(start)) }()
		r.Body = http.MaxBytesReader(sw, r.Body, 1<<20)
		var c *caller
		if !public {
			var err error
			c, err = s.authenticate(r)
			if err != nil || c.token {
				next := r.URL.RequestURI()
				http.Redirect(sw, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
				return
			}
		}
		if err := h(sw, r, c); err != nil {
			s.pageError(sw, r, c, err)
		}
	}))
}

// pageError renders a domain error as a page, with the status of the
// error table; internal causes are logged, never shown.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, c *caller, err error) {
	code := access.ErrorCode(err)
	status := statusOf[code]
	msg := "Something went wrong. Please try again."
	if e, ok := err.(*access.Error); ok && code != access.CodeInternal {
		msg = e.Message
	} else {
		s.log.Error("page error", "path", r.URL.Path, "err", err)
		status = http.StatusInternalServerError
	}
	switch code {
	case access.CodeNotFound:
		msg = "This page does not exist, or you may not see it."
	case access.CodeForbidden:
		if msg == "" {
			msg = "You may not do this."
		}
	}
	p := &page{Title: http.StatusText(status), Error: msg}
	if c != nil {
		p.User = &c.user
	}
	s.render(w, r, status, "error", p)
}

type loginData struct {
	Email, Next string
}

func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request, _ *caller) error {
	s.render(w, r, http.StatusOK, "login", &page{Title: "Sign in", Data: loginData{Next: safeNext(r.URL.Query().Get("next"))}})
	return nil
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request, _ *caller) error {
	email, pw, next := r.PostFormValue("email"), r.PostFormValue("password"), safeNext(r.PostFormValue("next"))
	u, err := s.Login(r.Context(), email, pw, clientIP(r))
	if err != nil {
		status := statusOf[access.ErrorCode(err)]
		if status == 0 || access.ErrorCode(err) == access.CodeInternal {
			return err
		}
		msg := "Wrong email or password."
		if access.ErrorCode(err) == access.CodeRateLimited {
			msg = err.(*access.Error).Message
		}
		s.render(w, r, status, "login", &page{Title: "Sign in", Error: msg, Data: loginData{Email: email, Next: next}})
		return nil
	}
	if ck, err := r.Cookie(SessionCookie); err == nil && ck.Value != "" {
		_ = s.store.DeleteSession(r.Context(), auth.HashSecret(ck.Value))
	}
	if err := s.startSession(w, r, u); err != nil {
		return err
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) handleLogoutForm(w http.ResponseWriter, r *http.Request, c *caller) error {
	if c.session != "" {
		if err := s.store.DeleteSession(r.Context(), c.session); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// handleHome sends staff to the console and portal users to their first
// account.
func (s *Server) handleHome(w http.ResponseWriter, r *http.Request, c *caller) error {
	if r.URL.Path != "/" {
		return access.Errorf(access.CodeNotFound, "no such page")
	}
	if c.internal() {
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
		return nil
	}
	accts := s.engine.Reach(c.user.ID)
	if len(accts) == 0 {
		s.render(w, r, http.StatusOK, "noaccess", &page{Title: "No access", User: &c.user})
		return nil
	}
	http.Redirect(w, r, "/a/"+url.PathEscape(preferredAccount(c.user, accts))+"/", http.StatusSeeOther)
	return nil
}

// preferredAccount is the user's home account when it can act there, else
// the first account it reaches.
func preferredAccount(u access.User, accts []access.AccountAccess) string {
	for _, a := range accts {
		if a.ID == u.HomeAccount {
			return a.ID
		}
	}
	return accts[0].ID
}
