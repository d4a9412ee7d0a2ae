package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestAuditHead checks GET /api/v1/audit/head: staff get the number of
// entries and the newest hash, the one /audit lists first; customers are
// refused; and a token's writes are audited as token:<id>.
func TestAuditHead(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		defer env.use(t)()
		res := env.bearer().do("PUT", "/api/v1/accounts/C9", map[string]any{"name": "Nine"})
		if res.status != http.StatusCreated && res.status != http.StatusOK {
			t.Fatalf("put account: %d %s", res.status, res.body)
		}
		head := env.as("auditor").do("GET", "/api/v1/audit/head", nil)
		if head.status != http.StatusOK {
			t.Fatalf("head: %d %s", head.status, head.body)
		}
		h := head.json(t)
		list := env.bearer().do("GET", "/api/v1/audit?limit=1", nil).json(t)
		newest := list["items"].([]any)[0].(map[string]any)
		if h["head"] != newest["hash"] || h["entries"] != newest["id"] {
			t.Errorf("head %v, newest entry %v", h, newest)
		}
		if res := env.as("u20").do("GET", "/api/v1/audit/head", nil); res.status != http.StatusForbidden {
			t.Errorf("customer head: %d %s", res.status, res.body)
		}
		byToken := env.bearer().do("GET", "/api/v1/audit?target=account:C9", nil)
		if !strings.Contains(byToken.body, `"actor":"token:t_`) {
			t.Errorf("a token's write: %s; want actor token:<id>", byToken.body)
		}
		// The filter finds the admin's entries by either form.
		env.as("admin").do("PUT", "/api/v1/accounts/C8", map[string]any{"name": "Eight"})
		for _, f := range []string{"admin", "user:admin"} {
			if res := env.bearer().do("GET", "/api/v1/audit?actor="+f+"&target=account:C8", nil); !strings.Contains(res.body, `"actor":"user:admin"`) {
				t.Errorf("actor=%s: %s", f, res.body)
			}
		}
	})
}
