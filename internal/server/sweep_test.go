package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/app"
)

// secrets are strings only C1's people may see: C1's name, a C1 order's
// note and price, C1 users' names. No response to another customer may
// contain them.
var secrets = []string{"Acme Secret Corp", "c1-secret-note", "Secret Person"}

// pathFor fills a route pattern with C1's data, the target of the sweep.
func pathFor(pattern string) string {
	r := strings.NewReplacer("{type}", "sales_order", "{user}", "u20")
	p := r.Replace(pattern)
	id := "C1"
	switch {
	case strings.HasPrefix(pattern, "/api/v1/records/"):
		id = "SO1"
	case strings.HasPrefix(pattern, "/api/v1/users/"), strings.HasPrefix(pattern, "/scim/v2/Users/"):
		id = "u20"
	case strings.HasPrefix(pattern, "/api/v1/groups/"), strings.HasPrefix(pattern, "/scim/v2/Groups/"):
		id = "acct:C1"
	case strings.HasPrefix(pattern, "/api/v1/grants/"), strings.HasPrefix(pattern, "/api/v1/tokens/"):
		id = "g1"
	}
	p = strings.ReplaceAll(p, "{id}", id)
	if strings.HasSuffix(p, "/explain") {
		p += "?user=u20&type=sales_order&id=SO1"
	}
	return p
}

// bodyFor is a plausible write body for a route, aimed at C1's data.
func bodyFor(method, pattern string) any {
	switch {
	case method == "GET" || method == "DELETE":
		return nil
	case strings.HasPrefix(pattern, "/api/v1/grants"):
		return map[string]any{"principal": "user:other", "account": "C1", "role": "L90"}
	case strings.HasPrefix(pattern, "/api/v1/records:batch"):
		return map[string]any{"upsert": []any{map[string]any{"type": "sales_order", "id": "SO1", "owner": "C2"}}}
	case strings.HasPrefix(pattern, "/api/v1/records"):
		return map[string]any{"owner": "C1", "attributes": map[string]any{"status": "cancelled"}}
	case strings.Contains(pattern, "/password"):
		return map[string]any{"password": "a-new-password-123", "current_password": "x"}
	case strings.HasPrefix(pattern, "/api/v1/check"):
		return map[string]any{"user": "u20", "type": "sales_order", "id": "SO1", "checks": []any{}}
	case strings.HasPrefix(pattern, "/api/v1/users"):
		return map[string]any{"status": "disabled"}
	case strings.HasPrefix(pattern, "/api/v1/accounts"):
		return map[string]any{"external_access": false}
	case strings.HasPrefix(pattern, "/api/v1/tokens"):
		return map[string]any{"name": "sweep", "user": "admin"}
	case pattern == "/api/v1/policy":
		return map[string]any{"roles": []any{}}
	case strings.HasPrefix(pattern, "/access/v1/"):
		return map[string]any{"subject": map[string]any{"type": "user", "id": "u20"}, "action": map[string]any{"name": "read"},
			"resource": map[string]any{"type": "sales_order", "id": "SO1"}}
	}
	return map[string]any{}
}

// allowedWrites are the writes an authenticated external user may make in
// the sweep: signing in and out, and starting its own MFA enrolment.
var allowedWrites = map[string]bool{"POST /api/v1/session": true, "DELETE /api/v1/session": true, "POST /api/v1/me/mfa/totp": true}

// TestAuthorizationSweep calls every route of the router as anonymous, as a
// user of another customer, as a plain L10 user of C1 and as the SCIM
// client of another customer (C2), and asserts that
// none returns another customer's data or succeeds in a write it should
// not. The routes come from the server itself, so a new route is swept
// automatically.
func TestAuthorizationSweep(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		routes := env.server.Routes()
		if len(routes) < 40 {
			t.Fatalf("only %d routes", len(routes))
		}
		routes = append(routes, env.server.AuthZENRoutes()...)
		routes = append(routes, env.server.SCIMRoutes()...)
		_, scimC2, _, err := env.server.App().CreateSCIMToken(t.Context(), app.SystemActor("test"),
			app.SCIMTokenRequest{Name: "globex", Account: "C2", MaxRole: "L40", GroupRoles: map[string]string{"acct:C1": "L40"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, who := range []string{"anonymous", "other", "u10", "scim-C2"} {
			for _, rt := range routes {
				key := rt.Method + " " + rt.Pattern
				var c *client
				switch who {
				case "anonymous":
					c = env.anonymous()
				case "scim-C2":
					c = &client{env: env, hc: &http.Client{}, token: scimC2}
				default:
					c = env.as(who) // a fresh session: logout routes must not end the sweep
				}
				res := c.do(rt.Method, pathFor(rt.Pattern), bodyFor(rt.Method, rt.Pattern))
				where := who + " " + key
				if res.status >= 500 {
					t.Errorf("%s: %d %s", where, res.status, res.body)
				}
				if who == "anonymous" && !rt.Public && res.status != http.StatusUnauthorized {
					t.Errorf("%s: status %d, want 401", where, res.status)
				}
				if who != "u10" || rt.Public {
					for _, s := range secrets {
						if strings.Contains(res.body, s) {
							t.Errorf("%s leaks %q: %s", where, s, res.body)
						}
					}
				}
				if rt.Method != "GET" && res.status < 300 && !allowedWrites[key] && !rt.Public {
					t.Errorf("%s: write succeeded with %d: %s", where, res.status, res.body)
				}
			}
		}
		// The world is unchanged: C1's order is still C1's, nobody gained L90.
		admin := env.as("admin")
		if got := admin.do("GET", "/api/v1/records/sales_order/SO1", nil).json(t)["owner"]; got != "C1" {
			t.Errorf("SO1 owner = %v after the sweep", got)
		}
		if res := admin.do("GET", "/api/v1/grants?principal=user:other", nil); strings.Contains(res.body, "L90") {
			t.Errorf("other gained a grant: %s", res.body)
		}
	})
}
