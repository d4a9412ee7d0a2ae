package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
)

// scimStep is one request of testdata/scim_rfc7644.json: the examples of
// RFC 7644 for Users and Groups adapted to Portcullis' schema, plus the
// forms Entra ID and Okta send. {name} in path and body is the id saved
// by an earlier step's "save"; want is a subset of the response; not
// lists strings the body must not contain; grant, when present, is the
// role the saved group's grant must carry on C1 afterwards ("" none).
type scimStep struct {
	Name   string          `json:"name"`
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"body"`
	Status int             `json:"status"`
	Want   json.RawMessage `json:"want"`
	Not    []string        `json:"not"`
	Save   string          `json:"save"`
	Grant  *string         `json:"grant"`
}

// newSCIMToken creates a SCIM token for C1 (max L30, "Tour Guides" → L20).
func newSCIMToken(t *testing.T, env *testEnv) (store.SCIMToken, string) {
	t.Helper()
	tok, secret, _, err := env.server.App().CreateSCIMToken(context.Background(), app.SystemActor("test"),
		app.SCIMTokenRequest{Name: "entra", Account: "C1", MaxRole: "L30", GroupRoles: map[string]string{"Tour Guides": "L20"}})
	if err != nil {
		t.Fatal(err)
	}
	return tok, secret
}

func TestSCIM_RFC7644(t *testing.T) {
	data, err := os.ReadFile("testdata/scim_rfc7644.json")
	if err != nil {
		t.Fatal(err)
	}
	var steps []scimStep
	if err := json.Unmarshal(data, &steps); err != nil {
		t.Fatal(err)
	}
	backends(t, func(t *testing.T, env *testEnv) {
		tok, secret := newSCIMToken(t, env)
		c := &client{env: env, hc: &http.Client{}, token: secret}
		saved := map[string]string{}
		subst := func(s string) string {
			for k, v := range saved {
				s = strings.ReplaceAll(s, "{"+k+"}", v)
			}
			return s
		}
		for _, st := range steps {
			var body any
			if len(st.Body) > 0 {
				body = subst(string(st.Body))
			}
			res := c.do(st.Method, subst(st.Path), body)
			if res.status != st.Status {
				t.Fatalf("%s: %s %s = %d %s, want %d", st.Name, st.Method, st.Path, res.status, res.body, st.Status)
			}
			if res.body != "" && !strings.HasPrefix(res.header.Get("Content-Type"), "application/scim+json") {
				t.Errorf("%s: Content-Type %q", st.Name, res.header.Get("Content-Type"))
			}
			if len(st.Want) > 0 {
				var want, got any
				if err := json.Unmarshal([]byte(subst(string(st.Want))), &want); err != nil {
					t.Fatalf("%s: want: %v", st.Name, err)
				}
				if err := json.Unmarshal([]byte(res.body), &got); err != nil {
					t.Fatalf("%s: body %q: %v", st.Name, res.body, err)
				}
				if err := subset(want, got); err != nil {
					t.Errorf("%s: %v\n%s", st.Name, err, res.body)
				}
			}
			for _, n := range st.Not {
				if strings.Contains(res.body, n) {
					t.Errorf("%s: the response names %s: %s", st.Name, n, res.body)
				}
			}
			if st.Save != "" {
				saved[st.Save] = res.json(t)["id"].(string)
			}
			if st.Grant != nil {
				var roles []string
				for _, g := range env.eng.GroupGrants(saved["group"]) {
					if g.Account != "C1" {
						t.Errorf("%s: grant %s on %s", st.Name, g.ID, g.Account)
					}
					roles = append(roles, g.Role)
				}
				if want := *st.Grant; (want == "" && len(roles) > 0) || (want != "" && !reflect.DeepEqual(roles, []string{want})) {
					t.Errorf("%s: group grants %v, want %q", st.Name, roles, want)
				}
			}
		}
		// Every change is audited as scim.* naming the token.
		entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Actor: "scim:" + tok.ID, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]bool{}
		for _, e := range entries {
			if !strings.HasPrefix(e.Action, "scim.") {
				t.Errorf("audit entry %s by the SCIM token", e.Action)
			}
			actions[e.Action] = true
		}
		for _, a := range []string{"scim.user.put", "scim.user.delete", "scim.group.put", "scim.member.add", "scim.member.remove", "scim.grant.create", "scim.grant.delete", "scim.group.delete"} {
			if !actions[a] {
				t.Errorf("no %s entry by scim:%s (have %v)", a, tok.ID, actions)
			}
		}
		// API tokens and sessions are no SCIM credentials, SCIM tokens no API ones.
		if res := env.bearer().do("GET", "/scim/v2/Users", nil); res.status != http.StatusUnauthorized || !strings.Contains(res.body, "urn:ietf:params:scim:api:messages:2.0:Error") {
			t.Errorf("API token at /scim/v2: %d %s", res.status, res.body)
		}
		if res := c.do("GET", "/api/v1/users", nil); res.status != http.StatusUnauthorized {
			t.Errorf("SCIM token at /api/v1: %d %s", res.status, res.body)
		}
		if res := c.do("GET", "/scim/v2/Bulk", nil); res.status != http.StatusNotFound || !strings.Contains(res.body, `"status":"404"`) {
			t.Errorf("unknown SCIM path: %d %s", res.status, res.body)
		}
		if res := c.do("DELETE", "/scim/v2/Users", nil); res.status != http.StatusMethodNotAllowed || res.header.Get("Allow") != "GET, POST" {
			t.Errorf("DELETE /scim/v2/Users: %d %v %s", res.status, res.header, res.body)
		}
		for _, p := range []string{"ServiceProviderConfig", "ResourceTypes", "Schemas"} {
			if res := env.anonymous().do("GET", "/scim/v2/"+p, nil); res.status != http.StatusOK {
				t.Errorf("%s: %d %s", p, res.status, res.body)
			}
		}
		// A revoked token is refused at once.
		if res := env.bearer().do("DELETE", "/api/v1/scim-tokens/"+tok.ID, nil); res.status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", res.status, res.body)
		}
		if res := c.do("GET", "/scim/v2/Users", nil); res.status != http.StatusUnauthorized {
			t.Errorf("revoked token: %d %s", res.status, res.body)
		}
	})
}

// subset reports how want is not contained in got: objects by key,
// arrays element by element and of the same length.
func subset(want, got any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("want an object, got %v", got)
		}
		for k, v := range w {
			if err := subset(v, g[k]); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("want %d elements, got %v", len(w), got)
		}
		for i := range w {
			if err := subset(w[i], g[i]); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	}
	if !reflect.DeepEqual(want, got) {
		return fmt.Errorf("want %v, got %v", want, got)
	}
	return nil
}

// TestSCIM_DeactivateAcrossNodes: active false through one node and the
// user's next request on another node, within a second, is refused.
func TestSCIM_DeactivateAcrossNodes(t *testing.T) {
	env := newRevokeEnv(t, pgtest.DSN(t))
	_, secret := newSCIMToken(t, env.a)
	scimA := &client{env: env.a, hc: &http.Client{}, token: secret}
	onA := login(t, env.a, "u20")
	onB := onA.on(env.b)
	mustStatus(t, onB, http.StatusOK, "before the deactivation on B")
	start := time.Now()
	res := scimA.do("PATCH", "/scim/v2/Users/u20", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
	if res.status != http.StatusOK {
		t.Fatalf("deactivate: %d %s", res.status, res.body)
	}
	mustStatus(t, onA, http.StatusUnauthorized, "the next request on the deactivating node")
	refusedWithin(t, onB, time.Second-time.Since(start)+50*time.Millisecond, "another node")
}

// TestAdminSCIMTokens: the console creates a SCIM token (the secret shown
// once), lists it and revokes it; auditors may not see the page.
func TestAdminSCIMTokens(t *testing.T) {
	env := newEnv(t, t.TempDir()+"/test.db")
	manager := env.as("manager")
	res := manager.admGet("/admin/scim-tokens")
	admStatus(t, res, http.StatusOK)
	admAccessible(t, "/admin/scim-tokens", res.body)
	admHas(t, res, "No SCIM token.", "/scim/v2")
	res = manager.admPost("/admin/scim-tokens", url.Values{"name": {"entra"}, "account": {"C1"}, "max_role": {"L20"}, "group_roles": {"Admins = L80"}})
	admStatus(t, res, http.StatusBadRequest)
	admHas(t, res, `id="scim_group_roles-error"`, "above max_role")
	res = manager.admPost("/admin/scim-tokens", url.Values{"name": {"entra"}, "account": {"C1"}, "max_role": {"L20"}, "group_roles": {"Buyers = L10\r\n\r\nSales = L20"}})
	admStatus(t, res, http.StatusCreated)
	i := strings.Index(res.body, "pcscim_")
	if i < 0 {
		t.Fatalf("no secret on the page:\n%s", admExcerpt(res.body))
	}
	secret := res.body[i : i+len("pcscim_")+43]
	admHas(t, res, "Buyers → L10", "Sales → L20")
	sc := &client{env: env, hc: &http.Client{}, token: secret}
	if r := sc.do("GET", "/scim/v2/Users", nil); r.status != http.StatusOK {
		t.Fatalf("the new token: %d %s", r.status, r.body)
	}
	res = manager.admGet("/admin/scim-tokens")
	admLacks(t, res, secret)
	toks, err := env.st.ListSCIMTokens(t.Context())
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens %v %v", toks, err)
	}
	res = manager.admPost("/admin/scim-tokens/"+toks[0].ID+"/revoke", url.Values{})
	admStatus(t, res, http.StatusOK)
	admHas(t, res, "The SCIM token was revoked")
	if r := sc.do("GET", "/scim/v2/Users", nil); r.status != http.StatusUnauthorized {
		t.Errorf("the revoked token: %d %s", r.status, r.body)
	}
	if r := env.as("auditor").admGet("/admin/scim-tokens"); r.status != http.StatusForbidden {
		t.Errorf("auditor: %d", r.status)
	}
}
