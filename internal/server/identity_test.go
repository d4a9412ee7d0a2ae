package server_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/server"
)

// identityScenarios are the escalation and enumeration scenarios of
// identity.md §2 and §3: a customer admin (adm80, L80 on C1) changing an
// email or constraints, or reading another customer's user (other, at C2)
// by id or email, is refused with answers that reveal nothing.
var identityScenarios = []scenarioGroup{
	{name: "customer admin and emails", scenarios: []scenario{
		{name: "cannot change a colleague's email", as: "adm80", method: "PATCH", path: "/api/v1/users/u20",
			body: map[string]any{"email": "u20@attacker.example"}, status: 403, code: "forbidden"},
		{name: "cannot change the owner's email (the login)", as: "adm80", method: "PATCH", path: "/api/v1/users/owner",
			body: map[string]any{"email": "owner@attacker.example"}, status: 403, code: "forbidden"},
		{name: "cannot change its own email without its password", as: "adm80", method: "PATCH", path: "/api/v1/users/adm80",
			body: map[string]any{"email": "adm@attacker.example"}, status: 400, code: "invalid", contains: []string{"current_password"}},
		{name: "cannot change a colleague's constraints", as: "adm80", method: "PATCH", path: "/api/v1/users/u20",
			body: map[string]any{"constraints": map[string]any{"ticket": map[string]any{"type": []string{"question"}}}}, status: 403, code: "forbidden"},
		{name: "staff constrain the customer admin", as: "token", method: "PATCH", path: "/api/v1/users/adm80",
			body: map[string]any{"constraints": map[string]any{"ticket": map[string]any{"type": []string{"question"}}}}, status: 200},
		{name: "cannot lift its own constraints", as: "adm80", method: "PATCH", path: "/api/v1/users/adm80",
			body: map[string]any{"constraints": nil}, status: 403, code: "forbidden"},
		{name: "cannot widen its own constraints", as: "adm80", method: "PATCH", path: "/api/v1/users/adm80",
			body: map[string]any{"constraints": map[string]any{"ticket": map[string]any{"type": []string{"question", "incident"}}}}, status: 403, code: "forbidden"},
		{name: "cannot create a constrained user", as: "adm80", method: "PUT", path: "/api/v1/users/fresh1",
			body: map[string]any{"email": "fresh1@example.com", "home_account": "C1", "constraints": map[string]any{"ticket": map[string]any{"type": []string{"question"}}}}, status: 403, code: "forbidden"},
		{name: "the emails stayed", as: "token", method: "GET", path: "/api/v1/users?home_account=C1", status: 200,
			contains: []string{`"u20@example.com"`, `"owner@example.com"`, `"adm80@example.com"`}, notContains: []string{"attacker"}},
	}},
	{name: "customer admin and other customers' users", scenarios: []scenario{
		{name: "another customer's user by id", as: "adm80", method: "GET", path: "/api/v1/users/other", status: 404, code: "not_found",
			contains: []string{`"user other not found"`}, notContains: []string{"C2", "Globex", "other@example.com"}},
		{name: "an unknown user by id: the same answer", as: "adm80", method: "GET", path: "/api/v1/users/nobody", status: 404, code: "not_found",
			contains: []string{`"user nobody not found"`}},
		{name: "another customer's user by email", as: "adm80", method: "GET", path: "/api/v1/users?q=other@example.com", status: 200,
			contains: []string{`"items":[]`}, notContains: []string{`"other"`, "C2"}},
		{name: "another customer's user by home account", as: "adm80", method: "GET", path: "/api/v1/users?home_account=C2", status: 200,
			contains: []string{`"items":[]`}},
		{name: "patching another customer's user", as: "adm80", method: "PATCH", path: "/api/v1/users/other",
			body: map[string]any{"email": "x@attacker.example"}, status: 404, code: "not_found", notContains: []string{"C2", "reach"}},
		{name: "creating over another customer's user id", as: "adm80", method: "PUT", path: "/api/v1/users/other",
			body: map[string]any{"email": "fresh2@example.com", "home_account": "C1"}, status: 409, code: "conflict",
			contains: []string{"cannot be used here"}, notContains: []string{"C2", "Globex", "reach", "existing_id"}},
		{name: "creating with another customer's email: the same answer", as: "adm80", method: "PUT", path: "/api/v1/users/fresh3",
			body: map[string]any{"email": "other@example.com", "home_account": "C1"}, status: 409, code: "conflict",
			contains: []string{"cannot be used here"}, notContains: []string{`"other"`, "C2", "already in use", "existing_id"}},
		{name: "creating with a colleague's email names the colleague", as: "adm80", method: "PUT", path: "/api/v1/users/fresh4",
			body: map[string]any{"email": "u20@example.com", "home_account": "C1"}, status: 409, code: "conflict",
			contains: []string{`"existing_id":"u20"`}},
		{name: "a grant for an unknown user is refused like one for another customer's", as: "adm80", method: "POST", path: "/api/v1/grants",
			body: map[string]any{"principal": "user:nobody", "account": "C1", "role": "L20"}, status: 403, code: "forbidden",
			contains: []string{"user nobody is outside your reach"}},
		{name: "a grant for another customer's user", as: "adm80", method: "POST", path: "/api/v1/grants",
			body: map[string]any{"principal": "user:other", "account": "C1", "role": "L20"}, status: 403, code: "forbidden",
			contains: []string{"user other is outside your reach"}},
	}},
	{name: "a user's own email and locale", scenarios: []scenario{
		{name: "needs the current password", as: "u20", method: "PATCH", path: "/api/v1/users/u20",
			body: map[string]any{"email": "u20-new@example.com"}, status: 400, code: "invalid"},
		{name: "a wrong current password", as: "u20", method: "PATCH", path: "/api/v1/users/u20",
			body: map[string]any{"email": "u20-new@example.com", "current_password": "not my password"}, status: 403, code: "forbidden"},
		{name: "with the current password", as: "u20", method: "PATCH", path: "/api/v1/users/u20",
			body: map[string]any{"email": "u20-new@example.com", "current_password": password, "locale": "zh"}, status: 200,
			contains: []string{`"u20-new@example.com"`, `"locale":"zh"`, `"last_login_at":"`}},
		{name: "an address in use elsewhere: the neutral answer", as: "u10", method: "PATCH", path: "/api/v1/users/u10",
			body: map[string]any{"email": "other@example.com", "current_password": password}, status: 409, code: "conflict",
			notContains: []string{`"other"`, "existing_id", "already in use"}},
		{name: "nothing else of itself", as: "u20", method: "PATCH", path: "/api/v1/users/u20",
			body: map[string]any{"home_account": "C1-ST1"}, status: 403, code: "forbidden"},
		{name: "an unknown locale", as: "token", method: "PATCH", path: "/api/v1/users/u30", body: map[string]any{"locale": "fr"}, status: 400, code: "invalid"},
		{name: "staff set a locale", as: "token", method: "PATCH", path: "/api/v1/users/u30", body: map[string]any{"locale": "de"}, status: 200,
			contains: []string{`"locale":"de"`}},
	}},
	{name: "sign-in input", scenarios: []scenario{
		{name: "a password over 256 bytes is 400 before hashing", method: "POST", path: "/api/v1/session",
			body: map[string]any{"email": "u20@example.com", "password": strings.Repeat("x", 257)}, status: 400, code: "invalid"},
		{name: "a common password is refused", as: "u30", method: "POST", path: "/api/v1/users/u30/password",
			body: map[string]any{"password": "1qaz2wsx3edc", "current_password": password}, status: 400, code: "invalid"},
		{name: "one character repeated is refused", as: "u30", method: "POST", path: "/api/v1/users/u30/password",
			body: map[string]any{"password": strings.Repeat("a", 20), "current_password": password}, status: 400, code: "invalid"},
	}},
}

func TestIdentityScenarios(t *testing.T) {
	for _, g := range identityScenarios {
		t.Run(g.name, func(t *testing.T) {
			backends(t, func(t *testing.T, env *testEnv) {
				runScenarios(t, env, g.scenarios)
			})
		})
	}
}

// TestMetrics_NotPublic: the public handler serves no /metrics; the
// metrics handler (mounted on --metrics-addr) does.
func TestMetrics_NotPublic(t *testing.T) {
	env := newEnv(t, t.TempDir()+"/test.db")
	res, err := http.Get(env.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusOK {
		t.Errorf("GET /metrics on the public address = %d", res.StatusCode)
	}
	rec := httptest.NewRecorder()
	env.server.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "process_resident_memory_bytes") {
		t.Errorf("MetricsHandler = %d %.200s", rec.Code, rec.Body.String())
	}
}

// TestSessionCookie_Secure: Secure over TLS (with HSTS), with an https
// public URL, and behind a trusted proxy that says https; not from an
// untrusted peer that says so.
func TestSessionCookie_Secure(t *testing.T) {
	env := newEnv(t, t.TempDir()+"/test.db")
	login := func(t *testing.T, h http.Handler, tlsServer bool, header map[string]string) *http.Response {
		t.Helper()
		var srv *httptest.Server
		if tlsServer {
			srv = httptest.NewTLSServer(h)
		} else {
			srv = httptest.NewServer(h)
		}
		defer srv.Close()
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/session", strings.NewReader(`{"email":"u20@example.com","password":"`+password+`"}`))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("login: %d", res.StatusCode)
		}
		return res
	}
	secure := func(res *http.Response) bool {
		for _, c := range res.Cookies() {
			if c.Name == "portcullis_session" {
				return c.Secure
			}
		}
		return false
	}
	trusted, err := server.ParseTrustedProxies("127.0.0.1, 10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	proxied := server.New(env.st, env.eng, server.Config{TrustedProxies: trusted}).Handler()
	public := server.New(env.st, env.eng, server.Config{PublicURL: "https://portcullis.example"}).Handler()

	if res := login(t, env.server.Handler(), false, map[string]string{"X-Forwarded-Proto": "https"}); secure(res) {
		t.Error("Secure from an untrusted peer's X-Forwarded-Proto")
	}
	if res := login(t, env.server.Handler(), true, nil); !secure(res) || res.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("over TLS: Secure %v, HSTS %q", secure(res), res.Header.Get("Strict-Transport-Security"))
	}
	if res := login(t, proxied, false, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}); !secure(res) {
		t.Error("not Secure behind a trusted proxy on https")
	}
	if res := login(t, proxied, false, nil); secure(res) {
		t.Error("Secure behind a trusted proxy on http")
	}
	if res := login(t, public, false, nil); !secure(res) {
		t.Error("not Secure with an https public URL")
	}
}

// TestTrustedProxies_ClientAddress: the throttle counts the right-most
// untrusted hop behind a trusted proxy, and the peer otherwise.
func TestTrustedProxies_ClientAddress(t *testing.T) {
	env := newEnv(t, t.TempDir()+"/test.db")
	trusted, _ := server.ParseTrustedProxies("127.0.0.1/32,10.0.0.0/8")
	srv := httptest.NewServer(server.New(env.st, env.eng, server.Config{TrustedProxies: trusted}).Handler())
	defer srv.Close()
	try := func(xff string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/session", strings.NewReader(`{"email":"u20@example.com","password":"wrong password"}`))
		req.Header.Set("Content-Type", "application/json")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	// Five failures from 203.0.113.1 (forged left hops do not matter).
	for i := range 5 {
		if s := try("198.51.100." + string(rune('1'+i)) + ", 203.0.113.1, 10.1.2.3"); s != 401 {
			t.Fatalf("attempt %d: %d", i, s)
		}
	}
	if s := try("203.0.113.1"); s != 429 {
		t.Errorf("sixth from the same client: %d, want 429", s)
	}
	if s := try("203.0.113.2"); s != 401 {
		t.Errorf("another client behind the proxy: %d, want 401", s)
	}
}
