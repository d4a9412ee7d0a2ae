package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/app"
)

// previewAnswer decodes a preview.
func previewAnswer(t *testing.T, res response) app.Preview {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("preview: %d %s", res.status, res.body)
	}
	var p app.Preview
	if err := json.Unmarshal([]byte(res.body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func previewOf(changes ...map[string]any) map[string]any {
	return map[string]any{"changes": changes}
}

func hasWarning(p app.Preview, code string) bool {
	return slices.ContainsFunc(p.Warnings, func(w app.PreviewWarning) bool { return w.Code == code })
}

// TestPreview_GrantWritesNothing: a grant previewed shows exactly what it
// would give (records, fields, samples, newest first) and writes nothing: no grant, no
// revision, no audit entry.
func TestPreview_GrantWritesNothing(t *testing.T) {
	env := newEnv(t, t.TempDir()+"/test.db")
	tok := env.bearer()
	audit := tok.do("GET", "/api/v1/audit?limit=500", nil).body
	rev := env.st.Revision()
	res := tok.do("POST", "/api/v1/preview", previewOf(map[string]any{"op": "grant.create",
		"grant": map[string]any{"principal": "user:other", "account": "C1", "role": "L30"}}))
	p := previewAnswer(t, res)
	if p.Revision != rev || p.Users != 1 {
		t.Errorf("revision %d users %d, want %d and 1", p.Revision, p.Users, rev)
	}
	var read *app.PreviewEffect
	for i, e := range p.Effects {
		if e.User != "other" {
			t.Errorf("effect for %s: %+v", e.User, e)
		}
		if e.Type == "sales_order" && e.Action == "read" {
			read = &p.Effects[i]
		}
	}
	if read == nil || read.Gained != 2 || read.Lost != 0 || !slices.Equal(read.SampleGained, []string{"SO3", "SO1"}) ||
		!slices.Contains(read.FieldsGained, "price") || len(read.FieldsLost) != 0 {
		t.Fatalf("sales_order read effect %+v, want SO1 and SO3 gained with their prices", read)
	}
	if !hasWarning(p, app.WarnBroadExposure) {
		t.Errorf("2 of 3 orders is broad exposure: warnings %+v", p.Warnings)
	}
	for _, w := range p.Warnings {
		if w.Code == app.WarnBroadExposure && w.Type == "sales_order" && (w.Gained != 2 || w.Total != 3) {
			t.Errorf("broad exposure %+v, want 2 of 3 orders", w)
		}
	}
	if env.st.Revision() != rev || len(env.grantsOf("user:other")) != 1 {
		t.Errorf("the preview wrote: revision %d, grants %v", env.st.Revision(), env.grantsOf("user:other"))
	}
	if after := tok.do("GET", "/api/v1/audit?limit=500", nil).body; after != audit {
		t.Errorf("the preview was audited")
	}
}

// TestPreview_Warnings: switching the customer's external access off
// affects its Owner; a policy giving L20 prices exposes fields.
func TestPreview_Warnings(t *testing.T) {
	env := newEnv(t, t.TempDir()+"/test.db")
	tok := env.bearer()
	p := previewAnswer(t, tok.do("POST", "/api/v1/preview", previewOf(map[string]any{"op": "account.update", "id": "C1",
		"patch": map[string]any{"external_access": false}})))
	if !hasWarning(p, app.WarnOwnerAffected) {
		t.Errorf("switch off: warnings %+v, want owner_affected", p.Warnings)
	}
	for _, u := range []string{"u10", "u20", "u30", "adm80", "owner"} {
		if !slices.ContainsFunc(p.Effects, func(e app.PreviewEffect) bool { return e.User == u && e.Lost > 0 }) {
			t.Errorf("switch off: %s loses nothing: %+v", u, p.Effects)
		}
	}
	doc := strings.Replace(tok.do("GET", "/api/v1/policy", nil).json(t)["source"].(string),
		"      sales_order: {actions: [read]}\n", "      sales_order: {actions: [read], fields: [price]}\n", 1)
	p = previewAnswer(t, tok.do("POST", "/api/v1/preview", previewOf(map[string]any{"op": "policy.replace", "document": doc})))
	if !hasWarning(p, app.WarnFieldsExposed) {
		t.Errorf("policy: warnings %+v, want fields_exposed", p.Warnings)
	}
	if !slices.ContainsFunc(p.Effects, func(e app.PreviewEffect) bool {
		return e.User == "u20" && e.Type == "sales_order" && slices.Equal(e.FieldsGained, []string{"price"})
	}) {
		t.Errorf("policy: u20 does not gain price: %+v", p.Effects)
	}
}

// TestPreview_SameErrorsAsTheChange: an invalid or forbidden change
// previewed answers the status the real call answers, for staff, a
// customer admin and a user without admin rights.
func TestPreview_SameErrorsAsTheChange(t *testing.T) {
	env := newEnv(t, t.TempDir()+"/test.db")
	ownerGrant := env.grantsOf("user:owner")[0].ID
	otherGrant := env.grantsOf("user:other")[0].ID
	u20Grant := env.grantsOf("user:u20")[0].ID
	clients := map[string]*client{"admin": env.bearer(), "auditor": env.as("auditor"), "manager": env.as("manager"),
		"adm80": env.as("adm80"), "u20": env.as("u20")}
	for _, c := range []struct {
		name, actor    string
		change         map[string]any
		method, path   string
		body           any
		wantStatusCode int
	}{
		{"auditor creates", "auditor", map[string]any{"op": "grant.create", "grant": map[string]any{"principal": "user:u10", "account": "C2", "role": "L20"}},
			"POST", "/api/v1/grants", map[string]any{"principal": "user:u10", "account": "C2", "role": "L20"}, 403},
		{"no admin", "u20", map[string]any{"op": "grant.delete", "id": u20Grant}, "DELETE", "/api/v1/grants/" + u20Grant, nil, 403},
		{"bad scope", "admin", map[string]any{"op": "grant.update", "id": u20Grant, "patch": map[string]any{"scope": "galaxy"}},
			"PATCH", "/api/v1/grants/" + u20Grant, map[string]any{"scope": "galaxy"}, 400},
		{"second grant", "admin", map[string]any{"op": "grant.create", "grant": map[string]any{"principal": "user:u20", "account": "C1", "role": "L30"}},
			"POST", "/api/v1/grants", map[string]any{"principal": "user:u20", "account": "C1", "role": "L30"}, 409},
		{"protected", "admin", map[string]any{"op": "grant.delete", "id": ownerGrant}, "DELETE", "/api/v1/grants/" + ownerGrant, nil, 409},
		{"unknown grant", "admin", map[string]any{"op": "grant.delete", "id": "nope"}, "DELETE", "/api/v1/grants/nope", nil, 404},
		{"cycle", "admin", map[string]any{"op": "account.update", "id": "C1", "patch": map[string]any{"parent": "C1-ST1"}},
			"PATCH", "/api/v1/accounts/C1", map[string]any{"parent": "C1-ST1"}, 400},
		{"unknown account", "admin", map[string]any{"op": "account.update", "id": "ZZ", "patch": map[string]any{"inherit": false}},
			"PATCH", "/api/v1/accounts/ZZ", map[string]any{"inherit": false}, 404},
		{"bad status", "admin", map[string]any{"op": "user.update", "id": "u20", "patch": map[string]any{"status": "asleep"}},
			"PATCH", "/api/v1/users/u20", map[string]any{"status": "asleep"}, 400},
		{"unknown group", "admin", map[string]any{"op": "group.add_member", "group": "nogroup", "user": "u20"},
			"PUT", "/api/v1/groups/nogroup/members/u20", nil, 404},
		{"manager policy", "manager", map[string]any{"op": "policy.replace", "document": "roles: []"}, "PUT", "/api/v1/policy", "roles: []", 403},
		{"bad policy", "admin", map[string]any{"op": "policy.replace", "document": "roles: [oops"}, "PUT", "/api/v1/policy", "roles: [oops", 400},
		{"customer admin: other customer's user", "adm80", map[string]any{"op": "grant.create", "grant": map[string]any{"principal": "user:other", "account": "C1", "role": "L20"}},
			"POST", "/api/v1/grants", map[string]any{"principal": "user:other", "account": "C1", "role": "L20"}, 403},
		{"customer admin: above its level", "adm80", map[string]any{"op": "grant.update", "id": u20Grant, "patch": map[string]any{"role": "L90"}},
			"PATCH", "/api/v1/grants/" + u20Grant, map[string]any{"role": "L90"}, 0},
		{"customer admin: grant outside reach", "adm80", map[string]any{"op": "grant.delete", "id": otherGrant}, "DELETE", "/api/v1/grants/" + otherGrant, nil, 404},
		{"customer admin: owner", "adm80", map[string]any{"op": "grant.delete", "id": ownerGrant}, "DELETE", "/api/v1/grants/" + ownerGrant, nil, 0},
		{"customer admin: account", "adm80", map[string]any{"op": "account.update", "id": "C1", "patch": map[string]any{"inherit": false}},
			"PATCH", "/api/v1/accounts/C1", map[string]any{"inherit": false}, 403},
		{"customer admin: foreign member", "adm80", map[string]any{"op": "group.add_member", "group": "acct:C1", "user": "other"},
			"PUT", "/api/v1/accounts/C1/members/other", nil, 403},
		{"customer admin: foreign user", "adm80", map[string]any{"op": "user.update", "id": "other", "patch": map[string]any{"status": "disabled"}},
			"PATCH", "/api/v1/users/other", map[string]any{"status": "disabled"}, 404},
		{"customer admin: policy", "adm80", map[string]any{"op": "policy.replace", "document": "roles: []"}, "PUT", "/api/v1/policy", "roles: []", 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer env.use(t)()
			cl := clients[c.actor]
			pre := cl.do("POST", "/api/v1/preview", previewOf(c.change))
			var real response
			if s, ok := c.body.(string); ok {
				real = cl.send(c.method, c.path, "application/yaml", "", strings.NewReader(s))
			} else {
				real = cl.do(c.method, c.path, c.body)
			}
			if real.status < 400 {
				t.Fatalf("the real change succeeded (%d %s): the case is wrong", real.status, real.body)
			}
			if pre.status != real.status || pre.code() != real.code() {
				t.Errorf("preview %d %s, real change %d %s", pre.status, pre.body, real.status, real.body)
			}
			if c.wantStatusCode != 0 && real.status != c.wantStatusCode {
				t.Errorf("real change %d, the case expects %d", real.status, c.wantStatusCode)
			}
		})
	}
}

// TestPreview_CustomerAdmin: a customer admin previews a grant it may make
// and sees only its own people.
func TestPreview_CustomerAdmin(t *testing.T) {
	env := newEnv(t, t.TempDir()+"/test.db")
	adm := env.as("adm80")
	p := previewAnswer(t, adm.do("POST", "/api/v1/preview", previewOf(
		map[string]any{"op": "grant.update", "id": env.grantsOf("user:u20")[0].ID, "patch": map[string]any{"role": "L40"}},
		map[string]any{"op": "group.add_member", "group": "acct:C1", "user": "u30"},
	)))
	if p.Users != 1 || len(p.Effects) == 0 {
		t.Fatalf("preview %+v, want effects for u20 only", p)
	}
	for _, e := range p.Effects {
		if e.User != "u20" {
			t.Errorf("effect for %s", e.User)
		}
	}
	if !slices.ContainsFunc(p.Effects, func(e app.PreviewEffect) bool { return e.Type == "invoice" && e.Gained == 1 }) {
		t.Errorf("u20 does not gain the invoice: %+v", p.Effects)
	}
	if res := adm.do("POST", "/api/v1/preview", map[string]any{"changes": []any{}}); res.status != http.StatusBadRequest {
		t.Errorf("no changes: %d %s", res.status, res.body)
	}
}
