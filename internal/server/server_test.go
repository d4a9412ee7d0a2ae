package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/server"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// password is every test user's password.
const password = "correct horse battery"

// backends runs fn against SQLite and PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, env *testEnv)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, newEnv(t, t.TempDir()+"/test.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, newEnv(t, pgtest.DSN(t)))
	})
}

// testEnv is a server on a real database with a small world:
//
//	C1 (customer, external access) ─ C1-ST1 (sold-to)
//	C2 (customer, external access)
//
// users: admin, auditor, manager (access_manager); u20 (L20 on C1), u30 (L30
// on C1), u10 (L10 on C1), adm80 (L80 on C1), owner (L90 on C1), other (L40
// on C2). Records: sales orders SO1 (C1), SO2 (C2), SO3 (C1-ST1); invoice IN1
// (C1); shipment SH1 (parent SO1); ticket T1 (C1, created by u10).
type testEnv struct {
	t      *testing.T
	st     store.Store
	eng    *access.Engine
	srv    *httptest.Server
	token  string // admin API token
	server *server.Server
}

var hash = func() string {
	h, err := auth.HashPassword(password)
	if err != nil {
		panic(err)
	}
	return h
}()

func newEnv(t *testing.T, dsn string) *testEnv { t.Helper(); return newEnvAt(t, dsn, nil) }

// newEnvAt is newEnv with the engine's (and so the use cases') clock
// (nil: time.Now).
func newEnvAt(t *testing.T, dsn string, clock func() time.Time) *testEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := follow.Start(ctx, st, follow.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []access.Account{
		{ID: "C1", Name: "Acme Secret Corp", Kind: "customer", ExternalAccess: true, Inherit: true},
		{ID: "C1-ST1", Name: "Acme Sold-To", Kind: "sold_to", Parent: "C1", Inherit: true},
		{ID: "C2", Name: "Globex", Kind: "customer", ExternalAccess: true, Inherit: true},
	} {
		_, _, err := st.PutAccount(ctx, store.Write{Actor: "test"}, a)
		must(err)
	}
	users := []access.User{
		{ID: "admin", Kind: "internal", StaffRole: "admin"},
		{ID: "auditor", Kind: "internal", StaffRole: "auditor"},
		{ID: "manager", Kind: "internal", StaffRole: "access_manager"},
		{ID: "u10", Kind: "external", HomeAccount: "C1"},
		{ID: "u20", Kind: "external", HomeAccount: "C1"},
		{ID: "u30", Kind: "external", HomeAccount: "C1"},
		{ID: "adm80", Kind: "external", HomeAccount: "C1"},
		{ID: "owner", Kind: "external", HomeAccount: "C1"},
		{ID: "other", Kind: "external", HomeAccount: "C2"},
	}
	for _, u := range users {
		u.Name, u.Email, u.Status = u.ID, u.ID+"@example.com", access.StatusActive
		if u.HomeAccount == "C1" {
			u.Name = "Secret Person " + u.ID
		}
		_, _, err := st.PutUser(ctx, store.Write{Actor: "test"}, u)
		must(err)
		_, err = st.SetPassword(ctx, store.Write{Actor: "test"}, u.ID, hash)
		must(err)
	}
	for _, g := range []access.Grant{
		{Principal: "user:u10", Account: "C1", Role: "L10"},
		{Principal: "user:u20", Account: "C1", Role: "L20"},
		{Principal: "user:u30", Account: "C1", Role: "L30"},
		{Principal: "user:adm80", Account: "C1", Role: "L80"},
		{Principal: "user:owner", Account: "C1", Role: "L90"},
		{Principal: "user:other", Account: "C2", Role: "L40"},
	} {
		g.Scope, g.Access = access.ScopeSubtree, access.AccessReadWrite
		_, _, err := st.CreateGrant(ctx, store.Write{Actor: "test"}, g)
		must(err)
	}
	now := time.Now().UTC().Format(time.DateOnly)
	recs := []*access.Record{
		{Type: "sales_order", ID: "SO1", Owner: "C1", Date: now, Attributes: map[string]any{"number": "SO1", "status": "open", "customer": "C1", "note": "c1-secret-note",
			"price": 100.0, "amount": 95.0, "lines": []any{map[string]any{"sku": "A", "price": 60.0}}}},
		{Type: "sales_order", ID: "SO2", Owner: "C2", Date: now, Attributes: map[string]any{"number": "SO2", "status": "open", "customer": "C2", "price": 7.0}},
		{Type: "sales_order", ID: "SO3", Owner: "C1-ST1", Date: now, Attributes: map[string]any{"number": "SO3", "status": "shipped", "price": 3.0}},
		{Type: "invoice", ID: "IN1", Owner: "C1", Date: now, Attributes: map[string]any{"number": "IN1", "amount": 95.0}},
		{Type: "shipment", ID: "SH1", Parent: &access.Ref{Type: "sales_order", ID: "SO1"}, Date: now, Attributes: map[string]any{"number": "SH1"}},
		{Type: "ticket", ID: "T1", Owner: "C1", Creator: "u10", Date: now, Attributes: map[string]any{"title": "Broken", "type": "incident", "status": "new"}},
	}
	_, err = st.Batch(ctx, store.Write{}, store.RecordBatch{Upsert: recs})
	must(err)
	srv := server.New(st, f.Engine(), server.Config{Version: "test"})
	_, secret, _, err := srv.App().CreateToken(ctx, app.SystemActor("test"), app.TokenRequest{User: "admin", Name: "tests"})
	must(err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &testEnv{t: t, st: st, eng: f.Engine(), srv: hs, token: secret, server: srv}
}

// use makes env report to t (a subtest) until the returned func restores
// the test it reported to before; the clients of env report through it.
func (env *testEnv) use(t *testing.T) (restore func()) {
	prev := env.t
	env.t = t
	return func() { env.t = prev }
}

// client is an HTTP client acting as one user.
type client struct {
	env   *testEnv
	hc    *http.Client
	token string
}

// as signs in as a user through the API and returns its client.
func (env *testEnv) as(user string) *client {
	env.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{env: env, hc: &http.Client{Jar: jar}}
	res := c.do("POST", "/api/v1/session", map[string]string{"email": user + "@example.com", "password": password})
	if res.status != http.StatusCreated {
		env.t.Fatalf("login %s: %d %s", user, res.status, res.body)
	}
	return c
}

// anonymous is a client without credentials.
func (env *testEnv) anonymous() *client {
	return &client{env: env, hc: &http.Client{}}
}

// bearer is a client with the admin's API token.
func (env *testEnv) bearer() *client {
	return &client{env: env, hc: &http.Client{}, token: env.token}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func (r response) code() string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(r.body), &e)
	return e.Error.Code
}

func (c *client) do(method, path string, body any) response {
	c.env.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.env.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.env.srv.URL+path, rd)
	if err != nil {
		c.env.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.env.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if validates(req.URL.Path) {
		if ct, err := loadContract(); err != nil {
			c.env.t.Error(err)
		} else if err := ct.check(req, res.StatusCode, res.Header, data); err != nil {
			c.env.t.Errorf("%s %s: the response breaks %s: %v", method, path, openAPIFile, err)
		}
	}
	return response{status: res.StatusCode, header: res.Header, body: string(data)}
}
