package server_test

import (
	"context"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/server"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// The store caches tokens and sessions by hash. These tests prove the cache
// never outlives a revocation: on the node that revokes, the very next
// request is refused; on another node (a second store on the same
// database), within a second.

// revokeEnv is the world of newEnv with a second node: another store and
// server on the same database.
type revokeEnv struct {
	a, b *testEnv
}

func newRevokeEnv(t *testing.T, dsn string) *revokeEnv {
	t.Helper()
	a := newEnv(t, dsn)
	st, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := follow.Start(context.Background(), st, follow.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	srv := server.New(st, f.Engine(), server.Config{Version: "test"})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	b := &testEnv{t: t, st: st, eng: f.Engine(), srv: hs, token: a.token, server: srv}
	return &revokeEnv{a: a, b: b}
}

// on returns c acting against env's server with the same credentials
// (token or cookie jar).
func (c *client) on(env *testEnv) *client {
	return &client{env: env, hc: c.hc, token: c.token}
}

// login signs user in on env and returns a client with the session cookie.
func login(t *testing.T, env *testEnv, user string) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{env: env, hc: &http.Client{Jar: jar}}
	if res := c.do("POST", "/api/v1/session", map[string]string{"email": user + "@example.com", "password": password}); res.status != http.StatusCreated {
		t.Fatalf("login %s: %d %s", user, res.status, res.body)
	}
	return c
}

// mustStatus asks GET /api/v1/me a few times (the first fills the cache)
// and wants status every time.
func mustStatus(t *testing.T, c *client, status int, what string) {
	t.Helper()
	for range 3 {
		if res := c.do("GET", "/api/v1/me", nil); res.status != status {
			t.Fatalf("%s: GET /api/v1/me = %d %s, want %d", what, res.status, res.body, status)
		}
	}
}

// refusedWithin polls GET /api/v1/me until it answers 401 and fails when
// that takes longer than d.
func refusedWithin(t *testing.T, c *client, d time.Duration, what string) {
	t.Helper()
	start := time.Now()
	for {
		res := c.do("GET", "/api/v1/me", nil)
		if res.status == http.StatusUnauthorized {
			t.Logf("%s: refused after %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
		if res.status != http.StatusOK {
			t.Fatalf("%s: GET /api/v1/me = %d %s", what, res.status, res.body)
		}
		if time.Since(start) > d {
			t.Fatalf("%s: still accepted %v after the revocation", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRevocation(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dsn := t.TempDir() + "/test.db"
			if backend == "postgres" {
				dsn = pgtest.DSN(t)
			}
			env := newRevokeEnv(t, dsn)
			admin := env.a.bearer()
			ctx := context.Background()

			t.Run("Token", func(t *testing.T) {
				tok, secret, _, err := env.a.server.App().CreateToken(ctx, app.SystemActor("test"), app.TokenRequest{User: "auditor", Name: "victim"})
				if err != nil {
					t.Fatal(err)
				}
				onA := &client{env: env.a, hc: &http.Client{}, token: secret}
				onB := onA.on(env.b)
				mustStatus(t, onA, http.StatusOK, "before the revocation on A")
				mustStatus(t, onB, http.StatusOK, "before the revocation on B")
				if res := admin.do("DELETE", "/api/v1/tokens/"+tok.ID, nil); res.status != http.StatusNoContent {
					t.Fatalf("revoke: %d %s", res.status, res.body)
				}
				mustStatus(t, onA, http.StatusUnauthorized, "the next request on the revoking node")
				refusedWithin(t, onB, time.Second, "another node")
			})

			t.Run("Logout", func(t *testing.T) {
				onA := login(t, env.a, "u20")
				onB := onA.on(env.b)
				mustStatus(t, onA, http.StatusOK, "before the logout on A")
				mustStatus(t, onB, http.StatusOK, "before the logout on B")
				// A copy of the cookie, as an attacker who stole it holds it
				// (the logout clears the browser's own). Cookies ignore
				// ports: the jar sends it to both nodes.
				jar, _ := cookiejar.New(nil)
				u, _ := url.Parse(env.a.srv.URL)
				jar.SetCookies(u, onA.hc.Jar.Cookies(u))
				stolen := &client{env: env.a, hc: &http.Client{Jar: jar}}
				if res := onA.do("DELETE", "/api/v1/session", nil); res.status != http.StatusNoContent {
					t.Fatalf("logout: %d %s", res.status, res.body)
				}
				mustStatus(t, stolen, http.StatusUnauthorized, "the next request on the revoking node")
				refusedWithin(t, stolen.on(env.b), time.Second, "another node")
			})

			t.Run("PasswordChange", func(t *testing.T) {
				onA := login(t, env.a, "u30")
				onB := onA.on(env.b)
				mustStatus(t, onA, http.StatusOK, "before the password change on A")
				mustStatus(t, onB, http.StatusOK, "before the password change on B")
				if res := admin.do("POST", "/api/v1/users/u30/password", map[string]string{"password": "another long passphrase"}); res.status != http.StatusNoContent {
					t.Fatalf("set password: %d %s", res.status, res.body)
				}
				mustStatus(t, onA, http.StatusUnauthorized, "the next request on the revoking node")
				refusedWithin(t, onB, time.Second, "another node")
			})

			t.Run("DeleteUser", func(t *testing.T) {
				_, secret, _, err := env.a.server.App().CreateToken(ctx, app.SystemActor("test"), app.TokenRequest{User: "manager", Name: "victim"})
				if err != nil {
					t.Fatal(err)
				}
				onA := &client{env: env.a, hc: &http.Client{}, token: secret}
				onB := onA.on(env.b)
				mustStatus(t, onA, http.StatusOK, "before the deletion on A")
				mustStatus(t, onB, http.StatusOK, "before the deletion on B")
				if _, err := env.a.st.DeleteUser(ctx, store.Write{Actor: "test"}, "manager"); err != nil {
					t.Fatal(err)
				}
				mustStatus(t, onA, http.StatusUnauthorized, "the next request on the revoking node")
				refusedWithin(t, onB, time.Second, "another node")
			})
		})
	}
}
