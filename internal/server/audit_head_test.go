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

// TestAuditRecordSharing checks that API record writes that change owner,
// teams or parent leave one record.sharing entry each, by the token that
// made them, and that attribute-only writes leave none.
func TestAuditRecordSharing(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		defer env.use(t)()
		tok := env.bearer()
		count := func(target string) int {
			t.Helper()
			res := tok.do("GET", "/api/v1/audit?action=record.sharing&target="+target, nil)
			return len(res.json(t)["items"].([]any))
		}
		if res := tok.do("PATCH", "/api/v1/records/invoice/IN1", map[string]any{"attributes": map[string]any{"amount": 96.0}}); res.status != http.StatusOK {
			t.Fatalf("patch attributes: %d %s", res.status, res.body)
		}
		if n := count("record:invoice/IN1"); n != 0 {
			t.Errorf("an attribute-only PATCH: %d sharing entries", n)
		}
		if res := tok.do("PATCH", "/api/v1/records/invoice/IN1", map[string]any{"teams": []any{map[string]any{"principal": "account:C2", "access": "read"}}}); res.status != http.StatusOK {
			t.Fatalf("patch teams: %d %s", res.status, res.body)
		}
		res := tok.do("GET", "/api/v1/audit?action=record.sharing&target=record:invoice/IN1", nil)
		if n := count("record:invoice/IN1"); n != 1 || !strings.Contains(res.body, `"actor":"token:t_`) || !strings.Contains(res.body, `"account:C2"`) ||
			strings.Contains(res.body, "amount") {
			t.Errorf("a teams PATCH: %d entries %s; want one by the token, teams without attributes", n, res.body)
		}
		batch := map[string]any{"upsert": []any{
			map[string]any{"type": "sales_order", "id": "SO2", "owner": "C2", "attributes": map[string]any{"number": "SO2", "status": "closed", "customer": "C2"}},
			map[string]any{"type": "sales_order", "id": "SO3", "owner": "C1", "attributes": map[string]any{"number": "SO3", "status": "shipped", "customer": "C1"}},
		}}
		if res := tok.do("POST", "/api/v1/records:batch", batch); res.status != http.StatusOK {
			t.Fatalf("batch: %d %s", res.status, res.body)
		}
		if a, b := count("record:sales_order/SO2"), count("record:sales_order/SO3"); a != 0 || b != 1 {
			t.Errorf("batch: %d entries for SO2 (attributes only), %d for SO3 (owner C1-ST1 → C1); want 0 and 1", a, b)
		}
	})
}
