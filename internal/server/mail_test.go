package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
)

// mailScenarios walk identity.md §1-§3 over HTTP: invitations, the
// delegation and no-enumeration rules, the outbox, and password resets.
var mailScenarios = []scenario{
	{name: "staff invite", as: "token", method: "POST", path: "/api/v1/invitations",
		body:   map[string]any{"email": "new1@example.com", "name": "New One", "home_account": "C1", "locale": "de", "grants": []any{map[string]any{"account": "C1", "role": "L20"}}},
		status: 201, contains: []string{`"status":"pending"`, `"created_by":"admin"`, `"home_account":"C1"`, `"expires_at"`}, notContains: []string{"pci_", "token"}},
	{name: "the invited user is invited, its grant exists", as: "token", method: "GET", path: "/api/v1/users?q=new1", status: 200, contains: []string{`"status":"invited"`}},
	{name: "staff get existing_id for an email in use", as: "token", method: "POST", path: "/api/v1/invitations",
		body: map[string]any{"email": "U20@example.com", "home_account": "C1"}, status: 409, code: "conflict", contains: []string{`"existing_id":"u20"`}},
	{name: "a customer admin invites into its reach", as: "adm80", method: "POST", path: "/api/v1/invitations",
		body:   map[string]any{"email": "new2@example.com", "home_account": "C1-ST1", "grants": []any{map[string]any{"account": "C1-ST1", "role": "L20", "days_back": 30}}},
		status: 201, contains: []string{`"created_by":"adm80"`}},
	{name: "a customer admin learns nothing of another customer's address", as: "adm80", method: "POST", path: "/api/v1/invitations",
		body: map[string]any{"email": "other@example.com", "home_account": "C1"}, status: 409, code: "conflict",
		contains: []string{"this address cannot be invited here"}, notContains: []string{"existing_id", `"other"`, "C2"}},
	{name: "a customer admin gets existing_id within its reach", as: "adm80", method: "POST", path: "/api/v1/invitations",
		body: map[string]any{"email": "u20@example.com", "home_account": "C1"}, status: 409, code: "conflict", contains: []string{`"existing_id":"u20"`}},
	{name: "a customer admin cannot invite into another customer", as: "adm80", method: "POST", path: "/api/v1/invitations",
		body: map[string]any{"email": "new3@example.com", "home_account": "C2"}, status: 403, code: "forbidden"},
	{name: "a customer admin cannot give a role above its own", as: "adm80", method: "POST", path: "/api/v1/invitations",
		body: map[string]any{"email": "new3@example.com", "home_account": "C1", "grants": []any{map[string]any{"account": "C1", "role": "L90"}}}, status: 403, code: "forbidden"},
	{name: "a customer admin cannot grant on another customer", as: "adm80", method: "POST", path: "/api/v1/invitations",
		body: map[string]any{"email": "new3@example.com", "home_account": "C1", "grants": []any{map[string]any{"account": "C2", "role": "L10"}}}, status: 403, code: "forbidden"},
	{name: "a plain user cannot invite", as: "u20", method: "POST", path: "/api/v1/invitations", body: map[string]any{"email": "new3@example.com", "home_account": "C1"}, status: 403, code: "forbidden"},
	{name: "an auditor cannot invite", as: "auditor", method: "POST", path: "/api/v1/invitations", body: map[string]any{"email": "new3@example.com", "home_account": "C1"}, status: 403, code: "forbidden"},
	{name: "expires_in is at most 720h", as: "token", method: "POST", path: "/api/v1/invitations",
		body: map[string]any{"email": "new3@example.com", "home_account": "C1", "expires_in": "721h"}, status: 400, code: "invalid"},
	{name: "an unknown locale", as: "token", method: "POST", path: "/api/v1/invitations",
		body: map[string]any{"email": "new3@example.com", "home_account": "C1", "locale": "fr"}, status: 400, code: "invalid"},
	{name: "a batch with bad items names them and writes nothing", as: "token", method: "POST", path: "/api/v1/invitations:batch",
		body: map[string]any{"invitations": []any{
			map[string]any{"email": "b1@example.com", "home_account": "C1"},
			map[string]any{"email": "b2@example.com", "home_account": "NOPE"},
			map[string]any{"email": "b1@example.com", "home_account": "C1"},
		}}, status: 400, code: "invalid", contains: []string{`"index":1`, `"index":2`}, notContains: []string{`"index":0`}},
	{name: "nothing of the bad batch exists", as: "token", method: "GET", path: "/api/v1/users?q=b1%40", status: 200, contains: []string{`"items":[]`}},
	{name: "a good batch", as: "token", method: "POST", path: "/api/v1/invitations:batch",
		body: map[string]any{"invitations": []any{
			map[string]any{"email": "b1@example.com", "home_account": "C1"},
			map[string]any{"email": "b2@example.com", "home_account": "C2", "grants": []any{map[string]any{"account": "C2", "role": "L10"}}},
		}}, status: 201, contains: []string{`"b1@example.com"`, `"b2@example.com"`}},
	{name: "a customer admin lists the invitations within its reach", as: "adm80", method: "GET", path: "/api/v1/invitations?status=pending", status: 200,
		contains: []string{"new1@example.com", "new2@example.com", "b1@example.com"}, notContains: []string{"b2@example.com"}},
	{name: "staff list every invitation", as: "auditor", method: "GET", path: "/api/v1/invitations", status: 200, contains: []string{"b2@example.com"}},
	{name: "an unknown invitation status", as: "token", method: "GET", path: "/api/v1/invitations?status=maybe", status: 400, code: "invalid"},
	{name: "plain users cannot list invitations", as: "u20", method: "GET", path: "/api/v1/invitations", status: 403, code: "forbidden"},

	{name: "admins see undelivered links in the outbox", as: "token", method: "GET", path: "/api/v1/outbox?status=not_sent", status: 200,
		contains: []string{`"kind":"invitation"`, "/invite/pci_", "Ihre Einladung zum Kundenportal"}},
	{name: "auditors see the outbox without secrets", as: "auditor", method: "GET", path: "/api/v1/outbox", status: 200,
		contains: []string{"[link removed]"}, notContains: []string{"pci_"}},
	{name: "access managers do not see the outbox", as: "manager", method: "GET", path: "/api/v1/outbox", status: 403, code: "forbidden"},
	{name: "customer admins do not see the outbox", as: "adm80", method: "GET", path: "/api/v1/outbox", status: 403, code: "forbidden"},

	{name: "a reset request for an unknown address", as: "", method: "POST", path: "/api/v1/password-reset", body: map[string]any{"email": "nobody@example.com"}, status: 202},
	{name: "a reset request for a known address", as: "", method: "POST", path: "/api/v1/password-reset", body: map[string]any{"email": "u30@example.com"}, status: 202},
	{name: "a reset request for an invited user sends nothing", as: "", method: "POST", path: "/api/v1/password-reset", body: map[string]any{"email": "new1@example.com"}, status: 202},
	{name: "a bogus reset token", as: "", method: "POST", path: "/api/v1/password-reset/pcr_nope", body: map[string]any{"password": "a long enough password"}, status: 404, code: "not_found"},
	{name: "a customer admin sends a reset within its reach", as: "adm80", method: "POST", path: "/api/v1/users/u10/password-reset", status: 202, notContains: []string{"pcr_"}},
	{name: "a customer admin cannot reset another customer's user", as: "adm80", method: "POST", path: "/api/v1/users/other/password-reset", status: 404, code: "not_found"},
	{name: "a customer admin cannot reset a user with grants above it", as: "adm80", method: "POST", path: "/api/v1/users/owner/password-reset", status: 403, code: "forbidden"},
	{name: "a plain user cannot send resets", as: "u20", method: "POST", path: "/api/v1/users/u10/password-reset", status: 403, code: "forbidden"},
	{name: "staff send a reset", as: "token", method: "POST", path: "/api/v1/users/u10/password-reset", status: 202},
	{name: "a bogus invitation token", as: "", method: "POST", path: "/api/v1/invitations/accept", body: map[string]any{"token": "pci_nope", "password": "a long enough password"}, status: 404, code: "not_found"},
	{name: "resending an unknown invitation", as: "token", method: "POST", path: "/api/v1/invitations/inv_nope/resend", status: 404, code: "not_found"},
}

func TestMailScenarios(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) { runScenarios(t, env, mailScenarios) })
}

var linkRE = regexp.MustCompile(`/(invite|reset)/(pc[ir]_[A-Za-z0-9_-]+)`)

// outboxLinks returns the tokens of the undelivered links to email, newest
// first, as an admin sees them in the outbox.
func outboxLinks(t *testing.T, env *testEnv, email, kind string) []string {
	t.Helper()
	res := env.bearer().do("GET", "/api/v1/outbox", nil)
	var page struct {
		Items []struct{ To, Kind, Text string }
	}
	if err := json.Unmarshal([]byte(res.body), &page); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range page.Items {
		if m.To == email && m.Kind == kind {
			if mm := linkRE.FindStringSubmatch(m.Text); mm != nil {
				out = append(out, mm[2])
			}
		}
	}
	return out
}

// TestInvitations_AcceptResendRevoke follows the links of the outbox
// through the API.
func TestInvitations_AcceptResendRevoke(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		admin := env.bearer()
		res := admin.do("POST", "/api/v1/invitations", map[string]any{"email": "acc@example.com", "home_account": "C1",
			"grants": []any{map[string]any{"account": "C1", "role": "L20"}}})
		if res.status != 201 {
			t.Fatalf("invite: %d %s", res.status, res.body)
		}
		id := res.json(t)["id"].(string)
		first := outboxLinks(t, env, "acc@example.com", "invitation")
		if len(first) != 1 {
			t.Fatalf("links: %v", first)
		}
		// Resend: a new link, the old one dies.
		if res := admin.do("POST", "/api/v1/invitations/"+id+"/resend", nil); res.status != 200 {
			t.Fatalf("resend: %d %s", res.status, res.body)
		}
		links := outboxLinks(t, env, "acc@example.com", "invitation")
		if len(links) != 2 || links[0] == first[0] {
			t.Fatalf("after resend: %v", links)
		}
		jar, _ := cookiejar.New(nil)
		browser := &client{env: env, hc: &http.Client{Jar: jar}}
		if res := browser.do("POST", "/api/v1/invitations/accept", map[string]any{"token": first[0], "password": "a long enough password"}); res.status != 404 {
			t.Fatalf("the old link: %d %s", res.status, res.body)
		}
		if res := browser.do("POST", "/api/v1/invitations/accept", map[string]any{"token": links[0], "password": "short"}); res.status != 400 || res.code() != "invalid" {
			t.Fatalf("a weak password: %d %s", res.status, res.body)
		}
		res = browser.do("POST", "/api/v1/invitations/accept", map[string]any{"token": links[0], "password": "a long enough password", "name": "Acc Epted"})
		if res.status != 201 || !strings.Contains(res.body, `"status":"active"`) || !strings.Contains(res.body, `"name":"Acc Epted"`) {
			t.Fatalf("accept: %d %s", res.status, res.body)
		}
		if res := browser.do("GET", "/api/v1/me", nil); res.status != 200 || !strings.Contains(res.body, `"id":"C1"`) {
			t.Fatalf("the accepted user's session: %d %s", res.status, res.body)
		}
		if res := browser.do("POST", "/api/v1/invitations/accept", map[string]any{"token": links[0], "password": "a long enough password"}); res.status != 404 {
			t.Fatalf("the link twice: %d %s", res.status, res.body)
		}
		if res := admin.do("GET", "/api/v1/invitations?status=accepted", nil); !strings.Contains(res.body, id) {
			t.Fatalf("accepted list: %s", res.body)
		}
		if res := admin.do("GET", "/api/v1/audit?action=invitation.accepted", nil); !strings.Contains(res.body, "invitation:"+id) {
			t.Fatalf("not audited: %s", res.body)
		}
		if res := admin.do("POST", "/api/v1/invitations/"+id+"/resend", nil); res.status != 409 {
			t.Fatalf("resending an accepted invitation: %d %s", res.status, res.body)
		}

		// Revoke: the link dies, the user stays invited.
		res = admin.do("POST", "/api/v1/invitations", map[string]any{"email": "rev@example.com", "home_account": "C1"})
		id2, user2 := res.json(t)["id"].(string), res.json(t)["user"].(string)
		tok := outboxLinks(t, env, "rev@example.com", "invitation")
		if res := admin.do("DELETE", "/api/v1/invitations/"+id2, nil); res.status != 204 {
			t.Fatalf("revoke: %d %s", res.status, res.body)
		}
		if res := browser.do("POST", "/api/v1/invitations/accept", map[string]any{"token": tok[0], "password": "a long enough password"}); res.status != 404 {
			t.Fatalf("a revoked link: %d %s", res.status, res.body)
		}
		if res := admin.do("GET", "/api/v1/users/"+user2, nil); !strings.Contains(res.body, `"status":"invited"`) {
			t.Fatalf("after revoke: %s", res.body)
		}
		if res := env.as("adm80").do("DELETE", "/api/v1/invitations/"+id2, nil); res.status != 409 {
			t.Fatalf("revoking twice: %d %s", res.status, res.body)
		}
	})
}

// TestPasswordReset_ByMail asks for a reset, uses it once, and checks the
// sessions ended and the "password changed" message.
func TestPasswordReset_ByMail(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		u20 := env.as("u20")
		anon := env.anonymous()
		if res := anon.do("POST", "/api/v1/password-reset", map[string]any{"email": "U20@example.com"}); res.status != 202 || strings.TrimSpace(res.body) != "{}" {
			t.Fatalf("request: %d %s", res.status, res.body)
		}
		links := outboxLinks(t, env, "u20@example.com", "password_reset")
		if len(links) != 1 {
			t.Fatalf("links: %v", links)
		}
		if res := anon.do("POST", "/api/v1/password-reset/"+links[0], map[string]any{"password": "x"}); res.status != 400 {
			t.Fatalf("weak: %d %s", res.status, res.body)
		}
		if res := anon.do("POST", "/api/v1/password-reset/"+links[0], map[string]any{"password": "a brand new password"}); res.status != 204 {
			t.Fatalf("reset: %d %s", res.status, res.body)
		}
		if res := u20.do("GET", "/api/v1/me", nil); res.status != 401 {
			t.Fatalf("the old session survived the reset: %d", res.status)
		}
		if res := anon.do("POST", "/api/v1/password-reset/"+links[0], map[string]any{"password": "another new password"}); res.status != 404 {
			t.Fatalf("the link twice: %d %s", res.status, res.body)
		}
		if res := anon.do("POST", "/api/v1/session", map[string]any{"email": "u20@example.com", "password": "a brand new password"}); res.status != 201 {
			t.Fatalf("sign in with the new password: %d %s", res.status, res.body)
		}
		res := env.bearer().do("GET", "/api/v1/outbox", nil)
		if !strings.Contains(res.body, `"kind":"password_changed"`) {
			t.Fatalf("no password changed message: %s", res.body)
		}
		if res := env.bearer().do("GET", "/api/v1/audit?action=user.password_reset", nil); !strings.Contains(res.body, "user:u20") {
			t.Fatalf("not audited: %s", res.body)
		}
	})
}
