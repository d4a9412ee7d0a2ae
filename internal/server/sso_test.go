package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// ssoEnv is the test world with an identity provider "acme" for the
// customer C1 (domain acme.example) on a test OpenID provider, and two
// people of that domain: anna, homed in C1-ST1 with a grant made by hand
// (L20 on C1), and carl, a contractor homed at the other customer C2.
type ssoEnv struct {
	*testEnv
	op *testOP
}

func newSSOEnv(t *testing.T, provider map[string]any) *ssoEnv {
	t.Helper()
	env := newEnv(t, t.TempDir()+"/test.db")
	op := newTestOP(t, "portcullis-client", "client-secret-1")
	ctx := context.Background()
	for _, u := range []access.User{
		{ID: "anna", Kind: access.KindExternal, Name: "Anna", Email: "anna@acme.example", HomeAccount: "C1-ST1", Status: access.StatusActive},
		{ID: "carl", Kind: access.KindExternal, Name: "Carl", Email: "carl@acme.example", HomeAccount: "C2", Status: access.StatusActive},
	} {
		if _, _, err := env.st.PutUser(ctx, store.Write{Actor: "test"}, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := env.st.CreateGrant(ctx, store.Write{Actor: "test"}, access.Grant{Principal: "user:anna", Account: "C1", Role: "L20",
		Scope: access.ScopeSubtree, Access: access.AccessReadWrite}); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"name": "ACME Entra ID", "issuer": op.issuer(), "client_id": "portcullis-client", "client_secret": "client-secret-1",
		"account": "C1", "email_domains": []string{"acme.example"}, "local_passwords": "disabled"}
	for k, v := range provider {
		body[k] = v
	}
	res := env.bearer().do("PUT", "/api/v1/identity-providers/acme", body)
	if res.status != http.StatusCreated {
		t.Fatalf("PUT identity provider: %d %s", res.status, res.body)
	}
	return &ssoEnv{testEnv: env, op: op}
}

// signIn signs in through the provider as the person with claims (the
// provider's answer changed by tamper) and returns the browser and the
// page it landed on.
func (env *ssoEnv) signIn(claims map[string]any, tamper func(map[string]any) bool) (*browser, htmlPage) {
	env.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{env: env.testEnv, hc: &http.Client{Jar: jar}}
	env.op.signIn(claims, tamper)
	return b, b.get("/sso/acme/start?next=/profile")
}

// me returns the id of the user the browser is signed in as, or "".
func (b *browser) me() string {
	p := b.get("/api/v1/me")
	if p.status != http.StatusOK {
		return ""
	}
	var m struct {
		User struct{ ID string } `json:"user"`
	}
	_ = json.Unmarshal([]byte(p.body), &m)
	return m.User.ID
}

func person(sub, email string, extra ...any) map[string]any {
	c := map[string]any{"sub": sub, "email": email, "email_verified": true, "name": "Person " + sub}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i].(string)] = extra[i+1]
	}
	return c
}

func TestSSO_SignIn(t *testing.T) {
	t.Parallel()
	env := newSSOEnv(t, nil)
	b, p := env.signIn(person("s-anna", "Anna@ACME.example"), nil)
	if p.status != http.StatusOK || !strings.HasPrefix(p.url, "/profile") {
		t.Fatalf("landed on %s (%d): %s", p.url, p.status, p.body)
	}
	if got := b.me(); got != "anna" {
		t.Fatalf("signed in as %q, want anna", got)
	}
	q := env.op.seen
	if q.Get("code_challenge_method") != "S256" || q.Get("login_hint") != "" || !strings.HasSuffix(q.Get("redirect_uri"), "/sso/acme/callback") {
		t.Errorf("authorization request: %v", q)
	}
	es, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: "session.login", Target: "user:anna"})
	if err != nil || len(es) != 1 || !strings.Contains(string(es[0].After), `"sso:acme"`) {
		t.Errorf("session.login entries = %+v, %v", es, err)
	}
	if id, err := env.st.SSOLinkedUser(context.Background(), "acme", "s-anna"); err != nil || id != "anna" {
		t.Errorf("link = %q, %v", id, err)
	}
	// The hand-made grant is as it was.
	if gs := env.eng.UserGrants("anna"); len(gs) != 1 || gs[0].Role != "L20" || gs[0].Source != "" {
		t.Errorf("anna's grants = %+v", gs)
	}
	// Linked: the next sign-in finds her by subject, whatever the email says.
	b, _ = env.signIn(person("s-anna", "anna.renamed@acme.example"), nil)
	if got := b.me(); got != "anna" {
		t.Errorf("second sign-in as %q, want anna", got)
	}
}

// TestSSO_TamperedTokens: every ID token that fails verification is
// refused, no session starts and nothing is linked.
func TestSSO_TamperedTokens(t *testing.T) {
	t.Parallel()
	env := newSSOEnv(t, nil)
	for _, tc := range []struct {
		name   string
		claims map[string]any
		tamper func(map[string]any) bool
		status int
	}{
		{"wrong issuer", person("s-anna", "anna@acme.example"), func(c map[string]any) bool { c["iss"] = "https://evil.example"; return false }, 401},
		{"wrong audience", person("s-anna", "anna@acme.example"), func(c map[string]any) bool { c["aud"] = "another-client"; return false }, 401},
		{"wrong nonce", person("s-anna", "anna@acme.example"), func(c map[string]any) bool { c["nonce"] = "replayed"; return false }, 401},
		{"no nonce", person("s-anna", "anna@acme.example"), func(c map[string]any) bool { delete(c, "nonce"); return false }, 401},
		{"expired", person("s-anna", "anna@acme.example"), func(c map[string]any) bool {
			c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
			return false
		}, 401},
		{"bad signature", person("s-anna", "anna@acme.example"), func(map[string]any) bool { return true }, 401},
		{"unverified email", person("s-anna", "anna@acme.example", "email_verified", false), nil, 401},
		{"unverified email as a string", person("s-anna", "anna@acme.example", "email_verified", "false"), nil, 401},
		{"no email", map[string]any{"sub": "s-anna"}, nil, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer env.use(t)()
			b, p := env.signIn(tc.claims, tc.tamper)
			if p.status != tc.status {
				t.Errorf("status %d, want %d: %s", p.status, tc.status, p.body)
			}
			if got := b.me(); got != "" {
				t.Errorf("signed in as %s", got)
			}
			if _, err := env.st.SSOLinkedUser(context.Background(), "acme", "s-anna"); access.ErrorCode(err) != access.CodeNotFound {
				t.Errorf("linked after a refused sign-in: %v", err)
			}
		})
	}
	es, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: "session.login_failed"})
	if err != nil || len(es) < 9 {
		t.Errorf("session.login_failed entries = %d, %v; want one per refusal", len(es), err)
	}
	t.Run("state from another browser", func(t *testing.T) {
		defer env.use(t)()
		b, _ := env.signIn(person("s-anna", "anna@acme.example"), nil)
		p := b.get("/sso/acme/callback?code=x&state=forged")
		if p.status != http.StatusUnauthorized || b.me() != "anna" {
			t.Errorf("forged state: %d; the earlier session must stay", p.status)
		}
		fresh := &browser{env: env.testEnv, hc: &http.Client{}}
		if p := fresh.get("/sso/acme/callback?code=x&state=y"); p.status != http.StatusUnauthorized {
			t.Errorf("callback without the state cookie: %d", p.status)
		}
	})
}

// TestSSO_OtherCustomer: the provider of C1 asserting the email of a
// person homed at C2 (or of staff) is refused and nothing is linked.
func TestSSO_OtherCustomer(t *testing.T) {
	t.Parallel()
	env := newSSOEnv(t, map[string]any{"jit": map[string]any{"enabled": true, "home_account": "C1", "role": "L10"}, "max_role": "L40"})
	for _, tc := range []struct{ name, sub, email string }{
		{"a contractor of another customer", "s-carl", "carl@acme.example"},
		{"another customer's address outside its domains", "s-other", "other@example.com"},
		{"a staff member", "s-admin", "admin@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer env.use(t)()
			b, p := env.signIn(person(tc.sub, tc.email), nil)
			if p.status != http.StatusForbidden || b.me() != "" {
				t.Fatalf("status %d, signed in as %q", p.status, b.me())
			}
			if strings.Contains(p.body, "C2") || strings.Contains(p.body, "Globex") {
				t.Errorf("the refusal names the other customer: %s", p.body)
			}
			if _, err := env.st.SSOLinkedUser(context.Background(), "acme", tc.sub); access.ErrorCode(err) != access.CodeNotFound {
				t.Errorf("linked: %v", err)
			}
		})
	}
	if u, _ := env.eng.User("carl"); u.HomeAccount != "C2" || len(env.eng.UserGrants("carl")) != 0 {
		t.Errorf("carl changed: %+v %+v", u, env.eng.UserGrants("carl"))
	}
	// A provider cannot take over a user linked to another subject.
	env.signIn(person("s-anna", "anna@acme.example"), nil)
	if b, p := env.signIn(person("s-impostor", "anna@acme.example"), nil); p.status != http.StatusConflict || b.me() != "" {
		t.Errorf("another subject for anna: %d", p.status)
	}
}

// TestSSO_JITAndGroups: an unknown address of the provider's domain
// becomes an active user, and the provider's grant follows the groups at
// every sign-in, never above max_role and never touching grants made by
// hand.
func TestSSO_JITAndGroups(t *testing.T) {
	t.Parallel()
	env := newSSOEnv(t, map[string]any{"jit": map[string]any{"enabled": true, "home_account": "C1", "role": "L10", "days_back": 90},
		"group_roles": map[string]any{"orders": "L20", "billing": "L40"}, "max_role": "L40", "claims": map[string]any{"groups": "roles"}})
	// Defence in depth: a mapping above max_role (a provider saved under
	// an older policy) is capped at sign-in.
	p, err := env.st.GetIdentityProvider(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	p.GroupRoles["admins"] = "L80"
	if _, _, err := env.st.PutIdentityProvider(context.Background(), store.Write{Actor: "test"}, p); err != nil {
		t.Fatal(err)
	}
	sign := func(groups ...string) string {
		t.Helper()
		b, page := env.signIn(person("s-nina", "nina@acme.example", "roles", groups, "name", "Nina Neu"), nil)
		if page.status != http.StatusOK {
			t.Fatalf("sign-in with %v: %d %s", groups, page.status, page.body)
		}
		return b.me()
	}
	id := sign("orders")
	u, ok := env.eng.User(id)
	if !ok || u.Status != access.StatusActive || u.HomeAccount != "C1" || u.Name != "Nina Neu" || u.Email != "nina@acme.example" || u.Kind != access.KindExternal {
		t.Fatalf("JIT user = %+v", u)
	}
	for _, step := range []struct {
		groups []string
		role   string
	}{
		{[]string{"orders"}, "L20"},
		{[]string{"orders", "billing"}, "L40"},
		{[]string{"admins", "orders"}, "L40"}, // capped at max_role
		{[]string{"unmapped"}, "L10"},         // jit.role when no group maps
		{nil, "L10"},
		{[]string{"billing"}, "L40"},
	} {
		if got := sign(step.groups...); got != id {
			t.Fatalf("signed in as %s, want %s", got, id)
		}
		gs := env.eng.UserGrants(id)
		if len(gs) != 1 || gs[0].Role != step.role || gs[0].Account != "C1" || gs[0].Source != "idp:acme" {
			t.Fatalf("groups %v: grants %+v, want one %s grant of source idp:acme on C1", step.groups, gs, step.role)
		}
		if gs[0].DaysBack == nil || *gs[0].DaysBack != 90 {
			t.Errorf("days_back = %v, want 90", gs[0].DaysBack)
		}
	}
	res := env.bearer().do("GET", "/api/v1/grants?principal=user:"+id, nil)
	if res.status != http.StatusOK || !strings.Contains(res.body, `"source":"idp:acme"`) {
		t.Errorf("grant JSON: %d %s", res.status, res.body)
	}
	// anna's grant on C1 was made by hand: the groups never change it.
	b, _ := env.signIn(person("s-anna", "anna@acme.example", "roles", []string{"billing"}), nil)
	if b.me() != "anna" {
		t.Fatal("anna did not sign in")
	}
	if gs := env.eng.UserGrants("anna"); len(gs) != 1 || gs[0].Role != "L20" || gs[0].Source != "" {
		t.Errorf("anna's grants = %+v", gs)
	}
}

// TestSSO_LocalPasswordsDisabled: a federated domain whose provider
// disables local passwords can neither sign in with a password nor reset
// one; the sign-in page sends it to the provider.
func TestSSO_LocalPasswordsDisabled(t *testing.T) {
	t.Parallel()
	env := newSSOEnv(t, nil)
	ctx := context.Background()
	if _, err := env.st.SetPassword(ctx, store.Write{Actor: "test"}, "anna", hash); err != nil {
		t.Fatal(err)
	}
	res := env.anonymous().do("POST", "/api/v1/session", map[string]string{"email": "anna@acme.example", "password": password})
	if res.status != http.StatusForbidden || !strings.Contains(res.body, "/sso/acme/start") {
		t.Errorf("password sign-in: %d %s", res.status, res.body)
	}
	if res := env.anonymous().do("POST", "/api/v1/password-reset", map[string]string{"email": "anna@acme.example"}); res.status != http.StatusAccepted {
		t.Errorf("reset request: %d %s", res.status, res.body)
	}
	if res := env.bearer().do("POST", "/api/v1/users/anna/password-reset", nil); res.status != http.StatusForbidden {
		t.Errorf("staff reset: %d %s", res.status, res.body)
	}
	msgs, _, err := env.st.ListOutbox(ctx, store.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.To == "anna@acme.example" {
			t.Errorf("a reset message went out: %+v", m.Kind)
		}
	}
	// The sign-in page: the email decides, a password or not.
	env.op.signIn(person("s-anna", "anna@acme.example"), nil)
	jar, _ := cookiejar.New(nil)
	b := &browser{env: env.testEnv, hc: &http.Client{Jar: jar}}
	p := b.post("/login", url.Values{"email": {"anna@acme.example"}, "password": {password}, "next": {"/profile"}})
	p.must(t, http.StatusOK, "Continue with ACME Entra ID", `http-equiv="refresh"`)
	if b.me() != "" {
		t.Fatal("a password signed in a domain without local passwords")
	}
	start := "/sso/acme/start?" + url.Values{"login_hint": {"anna@acme.example"}, "next": {"/profile"}}.Encode()
	if !strings.Contains(p.body, strings.ReplaceAll(start, "&", "&amp;")) {
		t.Fatalf("the page does not continue to %s: %s", start, p.body)
	}
	if p = b.get(start); p.status != http.StatusOK || b.me() != "anna" || env.op.seen.Get("login_hint") != "anna@acme.example" {
		t.Errorf("the sign-in did not go through the provider: %d at %s", p.status, p.url)
	}
	// "Forgot password?" points the domain to its provider.
	p = (&browser{env: env.testEnv, hc: &http.Client{}}).post("/forgot", url.Values{"email": {"anyone@acme.example"}})
	p.must(t, http.StatusOK, "No password needed", "Continue with ACME Entra ID", "/sso/acme/start?login_hint=anyone%40acme.example")
	// An address that is not federated is asked for its password.
	p = (&browser{env: env.testEnv, hc: &http.Client{}}).post("/login", url.Values{"email": {"u20@example.com"}, "next": {"/"}})
	p.must(t, http.StatusOK, "Enter your password.", `value="u20@example.com"`)
}

// TestSSO_Invitation: the accept page of an invitation to a federated
// domain offers the provider, and signing in through it accepts it.
func TestSSO_Invitation(t *testing.T) {
	t.Parallel()
	env := newSSOEnv(t, nil)
	res := env.bearer().do("POST", "/api/v1/invitations", map[string]any{"email": "ida@acme.example", "name": "Ida", "home_account": "C1",
		"grants": []map[string]any{{"account": "C1", "role": "L20"}}})
	if res.status != http.StatusCreated {
		t.Fatalf("invite: %d %s", res.status, res.body)
	}
	user := res.json(t)["user"].(string)
	msgs, _, err := env.st.ListOutbox(context.Background(), store.OutboxFilter{})
	if err != nil || len(msgs) == 0 {
		t.Fatalf("outbox: %v", err)
	}
	token := ""
	for _, m := range msgs {
		if m.To == "ida@acme.example" {
			token = m.Secret
		}
	}
	_, tok, _ := strings.Cut(token, "/invite/")
	if tok == "" {
		t.Fatalf("no invitation link in %q", token)
	}
	jar, _ := cookiejar.New(nil)
	b := &browser{env: env.testEnv, hc: &http.Client{Jar: jar}}
	page := b.get("/invite/" + tok)
	page.must(t, http.StatusOK, "Continue with ACME Entra ID", "/sso/acme/start?invitation=")
	if strings.Contains(page.body, `name="password"`) {
		t.Error("the accept page offers a password although the provider disables local passwords")
	}
	env.op.signIn(person("s-ida", "ida@acme.example"), nil)
	p := b.get("/sso/acme/start?invitation=" + url.QueryEscape(tok))
	if p.status != http.StatusOK || b.me() != user {
		t.Fatalf("accept through the provider: %d at %s, signed in as %q", p.status, p.url, b.me())
	}
	if u, _ := env.eng.User(user); u.Status != access.StatusActive {
		t.Errorf("status %s after accepting", u.Status)
	}
}

// TestIdentityProviders_API: the resource of identity.md §7 for staff
// writers only, the secret write-only, domains unique, clear validation.
func TestIdentityProviders_API(t *testing.T) {
	t.Parallel()
	env := newEnv(t, t.TempDir()+"/test.db")
	good := func(extra ...any) map[string]any {
		b := map[string]any{"name": "Globex Okta", "issuer": "https://globex.okta.example", "client_id": "0oa123", "client_secret": "very-secret-value",
			"account": "C2", "email_domains": []string{"Globex.example"}}
		for i := 0; i+1 < len(extra); i += 2 {
			b[extra[i].(string)] = extra[i+1]
		}
		return b
	}
	runScenarios(t, env, []scenario{
		{name: "an auditor cannot create one", as: "auditor", method: "PUT", path: "/api/v1/identity-providers/globex", body: good(), status: 403, code: "forbidden"},
		{name: "a customer admin cannot create one", as: "adm80", method: "PUT", path: "/api/v1/identity-providers/globex", body: good(), status: 403, code: "forbidden"},
		{name: "a customer admin cannot list them", as: "adm80", method: "GET", path: "/api/v1/identity-providers", status: 403, code: "forbidden"},
		{name: "anonymous", method: "GET", path: "/api/v1/identity-providers", status: 401},
		{name: "an access manager creates one", as: "manager", method: "PUT", path: "/api/v1/identity-providers/globex", body: good(), status: 201,
			contains:    []string{`"client_secret_set":true`, `"email_domains":["globex.example"]`, `"scopes":["openid","email","profile"]`, `"local_passwords":"allowed"`, `"account":"C2"`},
			notContains: []string{"very-secret-value", `"client_secret"`}},
		{name: "an update keeps what it omits, the secret too", as: "token", method: "PUT", path: "/api/v1/identity-providers/globex",
			body: map[string]any{"name": "Globex", "local_passwords": "disabled"}, status: 200,
			contains: []string{`"name":"Globex"`, `"client_secret_set":true`, `"client_id":"0oa123"`, `"local_passwords":"disabled"`}, notContains: []string{"very-secret-value"}},
		{name: "reads never show the secret", as: "auditor", method: "GET", path: "/api/v1/identity-providers/globex", status: 200,
			contains: []string{`"client_secret_set":true`}, notContains: []string{"very-secret-value"}},
		{name: "the list", as: "token", method: "GET", path: "/api/v1/identity-providers", status: 200, contains: []string{`"id":"globex"`}, notContains: []string{"very-secret-value"}},
		{name: "a domain of another provider", as: "token", method: "PUT", path: "/api/v1/identity-providers/globex2",
			body: good("email_domains", []string{"globex.example"}), status: 409, code: "conflict", contains: []string{`"existing_id":"globex"`}},
		{name: "no secret on create", as: "token", method: "PUT", path: "/api/v1/identity-providers/x1", body: good("client_secret", nil, "email_domains", []string{"x1.example"}),
			status: 400, code: "invalid", contains: []string{"client_secret is required"}},
		{name: "an http issuer", as: "token", method: "PUT", path: "/api/v1/identity-providers/x1", body: good("issuer", "http://idp.example", "email_domains", []string{"x1.example"}),
			status: 400, code: "invalid", contains: []string{"issuer must be"}},
		{name: "no domains", as: "token", method: "PUT", path: "/api/v1/identity-providers/x1", body: good("email_domains", []string{}), status: 400, code: "invalid",
			contains: []string{"email_domains"}},
		{name: "a bad domain", as: "token", method: "PUT", path: "/api/v1/identity-providers/x1", body: good("email_domains", []string{"not a domain"}), status: 400,
			code: "invalid", contains: []string{"is not an email domain"}},
		{name: "an unknown account", as: "token", method: "PUT", path: "/api/v1/identity-providers/x1", body: good("account", "NOPE", "email_domains", []string{"x1.example"}),
			status: 400, code: "invalid", contains: []string{"account NOPE does not exist"}},
		{name: "jit needs max_role", as: "token", method: "PUT", path: "/api/v1/identity-providers/x1",
			body: good("email_domains", []string{"x1.example"}, "jit", map[string]any{"enabled": true, "home_account": "C2", "role": "L10"}), status: 400, code: "invalid",
			contains: []string{"max_role is required"}},
		{name: "jit homes within the account", as: "token", method: "PUT", path: "/api/v1/identity-providers/x1",
			body: good("email_domains", []string{"x1.example"}, "max_role", "L40", "jit", map[string]any{"enabled": true, "home_account": "C1", "role": "L10"}), status: 400,
			code: "invalid", contains: []string{"jit.home_account"}},
		{name: "a group role above max_role", as: "token", method: "PUT", path: "/api/v1/identity-providers/x1",
			body: good("email_domains", []string{"x1.example"}, "max_role", "L40", "group_roles", map[string]any{"admins": "L80"}), status: 400, code: "invalid",
			contains: []string{"role L80 is above max_role"}},
		{name: "a protected max_role", as: "token", method: "PUT", path: "/api/v1/identity-providers/x1",
			body: good("email_domains", []string{"x1.example"}, "max_role", "L90", "group_roles", map[string]any{"owners": "L90"}), status: 400, code: "invalid",
			contains: []string{"not assignable"}},
		{name: "a staff provider makes no grants", as: "token", method: "PUT", path: "/api/v1/identity-providers/staff",
			body: good("account", nil, "email_domains", []string{"supplier.example"}, "max_role", "L40", "group_roles", map[string]any{"x": "L10"}), status: 400, code: "invalid",
			contains: []string{"staff provider"}},
		{name: "a staff provider", as: "token", method: "PUT", path: "/api/v1/identity-providers/staff",
			body: good("account", nil, "email_domains", []string{"supplier.example"}), status: 201, contains: []string{`"account":null`}},
		{name: "an unknown field", as: "token", method: "PUT", path: "/api/v1/identity-providers/x1", body: good("client_secret_set", true), status: 400, code: "invalid"},
		{name: "an access manager deletes one", as: "manager", method: "DELETE", path: "/api/v1/identity-providers/staff", status: 204},
		{name: "gone", as: "token", method: "GET", path: "/api/v1/identity-providers/staff", status: 404, code: "not_found"},
		{name: "audited without the secret", as: "token", method: "GET", path: "/api/v1/audit?action=identity_provider.put", status: 200,
			contains: []string{`"target":"identity_provider:globex"`, `"actor":"user:manager"`}, notContains: []string{"very-secret-value"}},
		{name: "the delete is audited", as: "token", method: "GET", path: "/api/v1/audit?action=identity_provider.delete", status: 200,
			contains: []string{`"target":"identity_provider:staff"`}},
	})
}

// TestIdentityProviders_Console: staff connect, edit and delete a
// provider from the console alone; the secret never shows and an empty
// secret input keeps it; auditors read without forms.
func TestIdentityProviders_Console(t *testing.T) {
	t.Parallel()
	env := newEnv(t, t.TempDir()+"/test.db")
	admin := env.as("admin")
	form := url.Values{"id": {"globex"}, "name": {"Globex Okta"}, "issuer": {"https://globex.okta.example"}, "client_id": {"0oa1"},
		"client_secret": {"console-secret-1"}, "scopes": {"openid email profile groups"}, "account": {"C2"}, "email_domains": {"globex.example, globex.test"},
		"local_passwords": {"disabled"}, "jit_enabled": {"on"}, "jit_home_account": {"C2"}, "jit_role": {"L10"}, "jit_days_back": {"30"},
		"group_roles": {"buyers = L20\nbilling = L40\n"}, "max_role": {"L40"}}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("max_role", "L20")
	r := admin.admPost("/admin/identity-providers", bad)
	admStatus(t, r, http.StatusBadRequest)
	admHas(t, r, "role L40 is above max_role", `id="idp_group_roles"`, `aria-invalid="true"`)
	admLacks(t, r, "console-secret-1")
	r = admin.admPost("/admin/identity-providers", form)
	admStatus(t, r, http.StatusOK)
	admHas(t, r, "The identity provider was saved", "/sso/globex/callback", "globex.example, globex.test", "billing = L40", "(set; leave empty to keep it)")
	admLacks(t, r, "console-secret-1")
	edit := url.Values{}
	for k, v := range form {
		edit[k] = v
	}
	edit.Set("client_secret", "")
	edit.Set("name", "Globex")
	r = admin.admPost("/admin/identity-providers/globex", edit)
	admStatus(t, r, http.StatusOK)
	p, err := env.st.GetIdentityProvider(context.Background(), "globex")
	if err != nil || p.Name != "Globex" || !p.ClientSecretSet || p.JIT.DaysBack == nil || *p.JIT.DaysBack != 30 || p.GroupRoles["buyers"] != "L20" || len(p.Scopes) != 4 {
		t.Fatalf("stored provider %+v, %v", p, err)
	}
	r = env.as("auditor").admGet("/admin/identity-providers/globex")
	admStatus(t, r, http.StatusOK)
	admLacks(t, r, "console-secret-1", "Delete this identity provider", ">Save<")
	admStatus(t, env.as("auditor").admPost("/admin/identity-providers/globex/delete", url.Values{}), http.StatusForbidden)
	r = admin.admPost("/admin/identity-providers/globex/delete", url.Values{})
	admStatus(t, r, http.StatusOK)
	admHas(t, r, "The identity provider was deleted", "No identity provider yet")
}

// TestSSO_StaffProvider: a provider without an account signs in existing
// internal users only: never an external user of its domain, never a new
// one.
func TestSSO_StaffProvider(t *testing.T) {
	t.Parallel()
	env := newSSOEnv(t, map[string]any{"account": nil, "email_domains": []string{"example.com"}, "local_passwords": "allowed"})
	b, p := env.signIn(person("s-admin", "admin@example.com"), nil)
	if p.status != http.StatusOK || b.me() != "admin" {
		t.Fatalf("staff sign-in: %d, as %q", p.status, b.me())
	}
	for _, email := range []string{"u20@example.com", "newcomer@example.com"} {
		if b, p := env.signIn(person("s-"+email, email), nil); p.status != http.StatusForbidden || b.me() != "" {
			t.Errorf("%s through the staff provider: %d, as %q", email, p.status, b.me())
		}
	}
	if _, err := env.st.GetUserByEmail(context.Background(), "newcomer@example.com"); access.ErrorCode(err) != access.CodeNotFound {
		t.Errorf("the staff provider created a user: %v", err)
	}
	// Passwords stay allowed: the sign-in page takes one.
	res := env.anonymous().do("POST", "/api/v1/session", map[string]string{"email": "u20@example.com", "password": password})
	if res.status != http.StatusCreated {
		t.Errorf("password sign-in with local passwords allowed: %d %s", res.status, res.body)
	}
}
