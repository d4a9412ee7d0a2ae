// Package sso is the OpenID Connect surface of single sign-on per
// customer (identity.md §7): /sso/{id}/start sends the browser to the
// identity provider with an authorization code request (PKCE S256, state
// and nonce), and /sso/{id}/callback redeems the code and verifies the
// ID token through the provider's discovery document and JWKS (issuer,
// audience, expiry, nonce, signature: coreos/go-oidc), then hands the
// verified claims to app.SignInSSO, which decides who signs in.
//
// State, nonce and the PKCE verifier live in one HttpOnly cookie bound to
// the browser that started the sign-in (path /sso/, SameSite Lax, 10
// minutes), so any node of a cluster can finish it. The callback is a
// top-level GET from the provider, which SameSite Lax cookies accompany.
package sso

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// StateCookie holds a sign-in in progress.
const StateCookie = "portcullis_sso"

// stateTTL is how long a sign-in may take at the provider.
const stateTTL = 10 * time.Minute

// discoveryTTL is how long a provider's discovery document (and with it
// its key set, which go-oidc refreshes on an unknown key id) is reused.
const discoveryTTL = time.Hour

// Surface serves the sign-in routes. Create it with New.
type Surface struct {
	app       *app.App
	log       *slog.Logger
	publicURL string
	client    *http.Client

	mu        sync.Mutex
	providers map[string]cachedProvider // by issuer
}

type cachedProvider struct {
	p       *oidc.Provider
	fetched time.Time
}

// New returns the surface over a. publicURL is the base of the redirect
// URI (<public-url>/sso/<id>/callback); empty derives it from each
// request. client, when nil, is an HTTP client with a 10 s timeout for the
// provider's endpoints.
func New(a *app.App, log *slog.Logger, publicURL string, client *http.Client) *Surface {
	if log == nil {
		log = slog.Default()
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Surface{app: a, log: log, publicURL: strings.TrimRight(publicURL, "/"), client: client, providers: map[string]cachedProvider{}}
}

// Routes lists the sign-in routes; both are public.
func (s *Surface) Routes() []surface.Route {
	return []surface.Route{
		{Method: "GET", Pattern: "/sso/{id}/start", Public: true, Handle: s.handleStart},
		{Method: "GET", Pattern: "/sso/{id}/callback", Public: true, Handle: s.handleCallback},
	}
}

// state is the cookie's content.
type state struct {
	Provider   string `json:"p"`
	State      string `json:"s"`
	Nonce      string `json:"n"`
	Verifier   string `json:"v"`
	Next       string `json:"next"`
	Invitation string `json:"inv,omitempty"`
	Expires    int64  `json:"exp"`
}

// RedirectURI returns the redirect URI of provider id that the provider
// must have registered.
func RedirectURI(base, id string) string { return base + "/sso/" + url.PathEscape(id) + "/callback" }

func (s *Surface) base(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if surface.ClientOf(r).Secure || r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// errFailed is what the person sees when the provider's answer cannot be
// used; the cause is logged and audited, never shown.
func errFailed(name string) error {
	return access.Errorf(access.CodeUnauthenticated, "Signing in with %s did not work. Please try again from the sign-in page.", name)
}

func (s *Surface) handleStart(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	p, err := s.app.ProviderForSignIn(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	op, err := s.discover(r.Context(), p.Issuer)
	if err != nil {
		s.log.Warn("sso: discovery", "provider", p.ID, "err", err)
		return access.Errorf(access.CodeUnavailable, "%s cannot be reached right now. Please try again later.", p.Name)
	}
	st := state{Provider: p.ID, State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(),
		Next: render.SafeNext(r.URL.Query().Get("next")), Invitation: r.URL.Query().Get("invitation"),
		Expires: s.app.Now().Add(stateTTL).Unix()}
	b, _ := json.Marshal(st)
	http.SetCookie(w, &http.Cookie{Name: StateCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/sso/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: surface.ClientOf(r).Secure || r.TLS != nil, MaxAge: int(stateTTL.Seconds())})
	opts := []oauth2.AuthCodeOption{oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)}
	if hint := r.URL.Query().Get("login_hint"); hint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", hint))
	}
	http.Redirect(w, r, s.config(r, p, op).AuthCodeURL(st.State, opts...), http.StatusSeeOther)
	return nil
}

func (s *Surface) handleCallback(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	id := r.PathValue("id")
	p, err := s.app.ProviderForSignIn(r.Context(), id)
	if err != nil {
		return err
	}
	st, ok := s.readState(r, id)
	http.SetCookie(w, &http.Cookie{Name: StateCookie, Value: "", Path: "/sso/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	q := r.URL.Query()
	if !ok || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		s.app.SSOFailed(r.Context(), p.ID, "state")
		return access.Errorf(access.CodeUnauthenticated, "This sign-in has expired or was started in another browser. Please sign in again.")
	}
	if e := q.Get("error"); e != "" {
		s.log.Info("sso: provider refused", "provider", p.ID, "error", e, "description", q.Get("error_description"))
		s.app.SSOFailed(r.Context(), p.ID, "provider_error")
		return access.Errorf(access.CodeUnauthenticated, "%s did not sign you in. Please try again from the sign-in page.", p.Name)
	}
	ident, err := s.verify(r, p, st, q.Get("code"))
	if err != nil {
		s.log.Warn("sso: verification failed", "provider", p.ID, "err", err)
		s.app.SSOFailed(r.Context(), p.ID, "token_invalid")
		return errFailed(p.Name)
	}
	res, err := s.app.SignInSSO(r.Context(), ident)
	if err != nil {
		return err
	}
	if old := surface.SessionSecret(r); old != "" {
		_ = s.app.EndSession(r.Context(), old)
	}
	surface.SetSessionCookie(w, r, res.Session.Secret, res.Session.Expires)
	http.Redirect(w, r, st.Next, http.StatusSeeOther)
	return nil
}

// verify redeems the code (with the PKCE verifier) and verifies the ID
// token: signature through the provider's JWKS, issuer, audience (the
// client id), expiry and the nonce. Claims the token lacks (email, name,
// groups) are taken from the userinfo endpoint when its subject matches.
func (s *Surface) verify(r *http.Request, p app.SSOProvider, st state, code string) (app.SSOIdentity, error) {
	ctx := oidc.ClientContext(r.Context(), s.client)
	op, err := s.discover(ctx, p.Issuer)
	if err != nil {
		return app.SSOIdentity{}, err
	}
	cfg := s.config(r, p, op)
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return app.SSOIdentity{}, err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return app.SSOIdentity{}, errors.New("no id_token in the token response")
	}
	idt, err := op.Verifier(&oidc.Config{ClientID: p.ClientID, Now: s.app.Now}).Verify(ctx, raw)
	if err != nil {
		return app.SSOIdentity{}, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return app.SSOIdentity{}, errors.New("id token nonce does not match")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return app.SSOIdentity{}, err
	}
	email := p.Claims.Email
	if email == "" {
		email = "email"
	}
	if _, ok := claims[email]; !ok && op.UserInfoEndpoint() != "" {
		ui, err := op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return app.SSOIdentity{}, err
		}
		if ui.Subject != idt.Subject {
			return app.SSOIdentity{}, errors.New("userinfo subject differs from the id token's")
		}
		extra := map[string]any{}
		if err := ui.Claims(&extra); err != nil {
			return app.SSOIdentity{}, err
		}
		for k, v := range extra {
			if _, ok := claims[k]; !ok {
				claims[k] = v
			}
		}
	}
	return app.SSOIdentity{Provider: p.ID, Subject: idt.Subject, Claims: claims, Invitation: st.Invitation}, nil
}

// readState returns the cookie's sign-in when it is for provider id and
// has not expired.
func (s *Surface) readState(r *http.Request, id string) (state, bool) {
	ck, err := r.Cookie(StateCookie)
	if err != nil {
		return state{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	var st state
	if err != nil || json.Unmarshal(b, &st) != nil {
		return state{}, false
	}
	if st.Provider != id || st.State == "" || s.app.Now().Unix() > st.Expires {
		return state{}, false
	}
	st.Next = render.SafeNext(st.Next)
	return st, true
}

func (s *Surface) config(r *http.Request, p app.SSOProvider, op *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.Secret, Endpoint: op.Endpoint(),
		RedirectURL: RedirectURI(s.base(r), p.ID), Scopes: p.Scopes}
}

// discover returns the provider of an issuer, from the cache when its
// discovery document is recent: go-oidc checks that the document's issuer
// is the one configured.
func (s *Surface) discover(ctx context.Context, issuer string) (*oidc.Provider, error) {
	s.mu.Lock()
	c, ok := s.providers[issuer]
	s.mu.Unlock()
	if ok && time.Since(c.fetched) < discoveryTTL {
		return c.p, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), s.client), issuer)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.providers[issuer] = cachedProvider{p: p, fetched: time.Now()}
	s.mu.Unlock()
	return p, nil
}

// random returns 32 random bytes in base64url.
func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
