package server_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/portcullis-dev/portcullis/internal/server"
)

// totpCode is the code of secret at t, as an authenticator app shows it.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// fresh is a client with a cookie jar and no session yet.
func (env *testEnv) fresh() *client {
	jar, _ := cookiejar.New(nil)
	return &client{env: env, hc: &http.Client{Jar: jar}}
}

// enrol turns TOTP on for c's user and returns the secret and the
// recovery codes.
func enrol(t *testing.T, c *client) (secret string, codes []string) {
	secret, codes, _ = enrolAt(t, c)
	return secret, codes
}

// enrolAt is enrol that also returns the instant of the confirming code.
func enrolAt(t *testing.T, c *client) (secret string, codes []string, at time.Time) {
	t.Helper()
	res := c.do("POST", "/api/v1/me/mfa/totp", nil)
	if res.status != http.StatusCreated {
		t.Fatalf("start totp: %d %s", res.status, res.body)
	}
	secret = res.json(t)["secret"].(string)
	if res := c.do("POST", "/api/v1/me/mfa/totp/confirm", map[string]string{"code": "000000"}); res.status != http.StatusBadRequest {
		t.Errorf("wrong first code: %d %s", res.status, res.body)
	}
	at = time.Now()
	res = c.do("POST", "/api/v1/me/mfa/totp/confirm", map[string]string{"code": totpCode(t, secret, at)})
	if res.status != http.StatusOK {
		t.Fatalf("confirm totp: %d %s", res.status, res.body)
	}
	for _, c := range res.json(t)["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes", len(codes))
	}
	return secret, codes, at
}

// passwordStep signs in with the password and returns the mfa_token.
func passwordStep(t *testing.T, c *client, user string) string {
	t.Helper()
	res := c.do("POST", "/api/v1/session", map[string]string{"email": user + "@example.com", "password": password})
	m := res.json(t)
	if res.status != http.StatusOK || m["mfa_required"] != true || m["mfa_token"] == "" {
		t.Fatalf("password step of %s: %d %s", user, res.status, res.body)
	}
	if res.header.Get("Set-Cookie") != "" {
		t.Errorf("the password step set a cookie: %s", res.header.Get("Set-Cookie"))
	}
	return m["mfa_token"].(string)
}

func TestMFA_TOTPSignIn(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		u20 := env.as("u20")
		if st := u20.do("GET", "/api/v1/me/mfa", nil).json(t); st["enabled"] != false || st["required"] != false {
			t.Fatalf("status before: %v", st)
		}
		secret, codes, now := enrolAt(t, u20)
		if st := u20.do("GET", "/api/v1/me/mfa", nil).json(t); st["enabled"] != true || st["recovery_codes_left"] != 10.0 {
			t.Fatalf("status after: %v", st)
		}
		if res := u20.do("POST", "/api/v1/me/mfa/totp", nil); res.status != http.StatusConflict {
			t.Errorf("second enrolment: %d %s", res.status, res.body)
		}

		// The password alone starts no session.
		c := env.fresh()
		tok := passwordStep(t, c, "u20")
		if res := c.do("GET", "/api/v1/me", nil); res.status != http.StatusUnauthorized {
			t.Errorf("me after the password step: %d", res.status)
		}
		// The code of the step the enrolment used is spent: no replay.
		if res := c.do("POST", "/api/v1/session/mfa", map[string]string{"mfa_token": tok, "code": totpCode(t, secret, now)}); res.status != http.StatusUnauthorized {
			t.Errorf("replayed enrolment code: %d %s", res.status, res.body)
		}
		next := totpCode(t, secret, now.Add(30*time.Second))
		res := c.do("POST", "/api/v1/session/mfa", map[string]string{"mfa_token": tok, "code": next})
		if res.status != http.StatusCreated || !strings.Contains(res.body, `"u20"`) {
			t.Fatalf("second step: %d %s", res.status, res.body)
		}
		if res := c.do("GET", "/api/v1/me", nil); res.status != http.StatusOK {
			t.Errorf("me after the second step: %d", res.status)
		}
		// The token is single use, and the code cannot be replayed with a
		// new one.
		if res := c.do("POST", "/api/v1/session/mfa", map[string]string{"mfa_token": tok, "code": next}); res.status != http.StatusUnauthorized {
			t.Errorf("used token: %d %s", res.status, res.body)
		}
		c2 := env.fresh()
		if res := c2.do("POST", "/api/v1/session/mfa", map[string]string{"mfa_token": passwordStep(t, c2, "u20"), "code": next}); res.status != http.StatusUnauthorized {
			t.Errorf("replayed code: %d %s", res.status, res.body)
		}

		// A recovery code works once.
		c3 := env.fresh()
		if res := c3.do("POST", "/api/v1/session/mfa", map[string]string{"mfa_token": passwordStep(t, c3, "u20"), "recovery_code": strings.ToUpper(codes[0])}); res.status != http.StatusCreated {
			t.Fatalf("recovery code: %d %s", res.status, res.body)
		}
		c4 := env.fresh()
		if res := c4.do("POST", "/api/v1/session/mfa", map[string]string{"mfa_token": passwordStep(t, c4, "u20"), "recovery_code": codes[0]}); res.status != http.StatusUnauthorized {
			t.Errorf("recovery code again: %d %s", res.status, res.body)
		}
		// Shapes are validated.
		for _, body := range []map[string]string{{"mfa_token": "x"}, {"mfa_token": "x", "code": "12345"}, {"mfa_token": "x", "code": "123456", "recovery_code": "a"}, {"code": "123456"}} {
			if res := env.anonymous().do("POST", "/api/v1/session/mfa", body); res.status != http.StatusBadRequest {
				t.Errorf("%v: %d %s", body, res.status, res.body)
			}
		}

		// Audited with the method; no secret in the log.
		audit := env.bearer().do("GET", "/api/v1/audit?action=session.login&target=user:u20", nil)
		for _, m := range []string{`"method":"password+totp"`, `"method":"password+recovery"`, `"method":"password"`} {
			if !strings.Contains(audit.body, m) {
				t.Errorf("audit lacks %s: %s", m, audit.body)
			}
		}
		enabled := env.bearer().do("GET", "/api/v1/audit?action=mfa.enabled&target=user:u20", nil)
		if !strings.Contains(enabled.body, "mfa.enabled") || strings.Contains(enabled.body, secret) || strings.Contains(enabled.body, codes[1]) {
			t.Errorf("mfa.enabled audit: %s", enabled.body)
		}

		// Turning it off needs the password and a code; tokens may not.
		session := c3
		if res := session.do("DELETE", "/api/v1/me/mfa", map[string]string{"password": "wrong-password-123", "code": codes[1]}); res.status != http.StatusForbidden {
			t.Errorf("off with a wrong password: %d %s", res.status, res.body)
		}
		if res := session.do("DELETE", "/api/v1/me/mfa", map[string]string{"password": password, "code": "nope-nope"}); res.status != http.StatusForbidden {
			t.Errorf("off with a wrong code: %d %s", res.status, res.body)
		}
		if res := session.do("DELETE", "/api/v1/me/mfa", map[string]string{"password": password, "code": codes[1]}); res.status != http.StatusNoContent {
			t.Fatalf("off: %d %s", res.status, res.body)
		}
		if res := env.fresh().do("POST", "/api/v1/session", map[string]string{"email": "u20@example.com", "password": password}); res.status != http.StatusCreated {
			t.Errorf("sign-in after off: %d %s", res.status, res.body)
		}
		if res := env.bearer().do("POST", "/api/v1/me/mfa/totp", nil); res.status != http.StatusForbidden {
			t.Errorf("enrolment with a token: %d %s", res.status, res.body)
		}
	})
}

func TestMFA_ResetByStaff(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		enrol(t, env.as("u30"))
		for _, who := range []string{"u10", "adm80", "auditor"} {
			if res := env.as(who).do("DELETE", "/api/v1/users/u30/mfa", nil); res.status != http.StatusForbidden {
				t.Errorf("%s resets: %d %s", who, res.status, res.body)
			}
		}
		if res := env.as("u10").do("GET", "/api/v1/users/u30/mfa", nil); res.status != http.StatusForbidden {
			t.Errorf("u10 reads u30's mfa: %d %s", res.status, res.body)
		}
		if st := env.as("auditor").do("GET", "/api/v1/users/u30/mfa", nil).json(t); st["enabled"] != true {
			t.Errorf("auditor reads: %v", st)
		}
		if res := env.as("manager").do("DELETE", "/api/v1/users/u30/mfa", nil); res.status != http.StatusNoContent {
			t.Fatalf("manager resets: %d %s", res.status, res.body)
		}
		if res := env.as("manager").do("DELETE", "/api/v1/users/u30/mfa", nil); res.status != http.StatusNotFound {
			t.Errorf("second reset: %d %s", res.status, res.body)
		}
		if res := env.fresh().do("POST", "/api/v1/session", map[string]string{"email": "u30@example.com", "password": password}); res.status != http.StatusCreated {
			t.Errorf("sign-in after reset: %d %s", res.status, res.body)
		}
		if a := env.bearer().do("GET", "/api/v1/audit?action=mfa.reset&target=user:u30", nil); !strings.Contains(a.body, `"actor":"user:manager"`) {
			t.Errorf("reset audit: %s", a.body)
		}
	})
}

// TestMFA_CodeLimits checks that codes are limited per (user, address)
// however concurrent the attempts, and per mfa_token.
func TestMFA_CodeLimits(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		enrol(t, env.as("owner"))
		c := env.fresh()
		tokens := make([]string, 20)
		for i := range tokens {
			tokens[i] = passwordStep(t, c, "owner")
		}
		var mu sync.Mutex
		statuses := map[int]int{}
		var wg sync.WaitGroup
		for _, tok := range tokens {
			wg.Go(func() {
				res := env.anonymous().do("POST", "/api/v1/session/mfa", map[string]string{"mfa_token": tok, "code": "000000"})
				mu.Lock()
				statuses[res.status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if statuses[http.StatusUnauthorized] > 5 || statuses[http.StatusTooManyRequests] < 15 {
			t.Errorf("20 concurrent wrong codes: %v, want at most 5 checked", statuses)
		}
	})
}

func TestMFA_RequireMFA(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		admin := env.bearer()
		res := admin.do("PATCH", "/api/v1/accounts/C1", map[string]any{"require_mfa": true})
		if res.status != http.StatusOK || res.json(t)["require_mfa"] != true {
			t.Fatalf("require_mfa on C1: %d %s", res.status, res.body)
		}
		if res := admin.do("GET", "/api/v1/accounts/C1-ST1", nil); res.json(t)["require_mfa"] != false {
			t.Errorf("C1-ST1 stores require_mfa itself: %s", res.body)
		}
		// A user homed below C1 inherits the requirement; C2's does not.
		if res := admin.do("PUT", "/api/v1/users/sub1", map[string]any{"kind": "external", "name": "Sub", "email": "sub1@example.com", "home_account": "C1-ST1"}); res.status != http.StatusCreated {
			t.Fatalf("create sub1: %d %s", res.status, res.body)
		}
		if res := admin.do("POST", "/api/v1/users/sub1/password", map[string]string{"password": password}); res.status != http.StatusNoContent {
			t.Fatalf("sub1 password: %d %s", res.status, res.body)
		}
		for user, want := range map[string]bool{"sub1": true, "u10": true, "other": false} {
			res := env.fresh().do("POST", "/api/v1/session", map[string]string{"email": user + "@example.com", "password": password})
			if got := res.json(t)["mfa_enrolment_required"] == true; res.status != http.StatusCreated || got != want {
				t.Errorf("%s signs in: %d %s, want enrolment required %v", user, res.status, res.body, want)
			}
		}

		// Enrol first: nothing else is reachable.
		c := env.fresh()
		c.do("POST", "/api/v1/session", map[string]string{"email": "u10@example.com", "password": password})
		if res := c.do("GET", "/api/v1/records/sales_order", nil); res.status != http.StatusForbidden || res.code() != "mfa_enrolment_required" {
			t.Errorf("records before enrolment: %d %s", res.status, res.body)
		}
		if res := c.do("GET", "/api/v1/me", nil); res.status != http.StatusOK {
			t.Errorf("me before enrolment: %d %s", res.status, res.body)
		}
		if st := c.do("GET", "/api/v1/me/mfa", nil).json(t); st["required"] != true {
			t.Errorf("status: %v", st)
		}
		// Pages lead to the enrolment on the profile page, which is served.
		c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		if res := c.do("GET", "/a/C1/", nil); res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile?mfa=enrol" {
			t.Errorf("a portal page before enrolment: %d %s", res.status, res.header.Get("Location"))
		}
		if res := c.do("GET", "/profile", nil); res.status != http.StatusOK || !strings.Contains(res.body, "requires two-factor authentication") {
			t.Errorf("profile before enrolment: %d", res.status)
		}
		c.hc.CheckRedirect = nil
		enrol(t, c)
		if res := c.do("GET", "/api/v1/records/sales_order", nil); res.status != http.StatusOK {
			t.Errorf("records after enrolment: %d %s", res.status, res.body)
		}
		// Required MFA cannot be turned off by its user.
		if res := c.do("DELETE", "/api/v1/me/mfa", map[string]string{"password": password, "code": "123456"}); res.status != http.StatusForbidden {
			t.Errorf("turning required MFA off: %d %s", res.status, res.body)
		}
		// Only staff writers set require_mfa.
		if res := env.as("adm80").do("PATCH", "/api/v1/accounts/C1", map[string]any{"require_mfa": false}); res.status != http.StatusForbidden {
			t.Errorf("customer admin lifts require_mfa: %d %s", res.status, res.body)
		}
	})
}

// TestMFA_StaffRequired runs a second server over the same store with
// --staff-mfa required: staff enrol first, external users do not.
func TestMFA_StaffRequired(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		srv := server.New(env.st, env.eng, server.Config{Version: "test", StaffMFA: "required"})
		hs := httptest.NewServer(srv.Handler())
		defer hs.Close()
		staff := *env
		staff.srv = hs
		for user, want := range map[string]bool{"admin": true, "auditor": true, "u20": false} {
			res := staff.fresh().do("POST", "/api/v1/session", map[string]string{"email": user + "@example.com", "password": password})
			if got := res.json(t)["mfa_enrolment_required"] == true; res.status != http.StatusCreated || got != want {
				t.Errorf("%s signs in: %d %s, want enrolment required %v", user, res.status, res.body, want)
			}
		}
		c := staff.fresh()
		c.do("POST", "/api/v1/session", map[string]string{"email": "admin@example.com", "password": password})
		if res := c.do("GET", "/api/v1/users", nil); res.status != http.StatusForbidden {
			t.Errorf("admin before enrolment: %d %s", res.status, res.body)
		}
	})
}
