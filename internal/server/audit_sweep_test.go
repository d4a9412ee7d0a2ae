package server_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/policy"
)

// auditSweepExempt are the API writes that change no access, each with
// the reason; every other write route must be exercised by
// TestAuditSweep, so a new route fails it until it is classified.
var auditSweepExempt = map[string]string{
	"POST /api/v1/session":                      "signing in: audited as session.login, not an access change",
	"POST /api/v1/session/mfa":                  "the second step of signing in (session.login)",
	"DELETE /api/v1/session":                    "signing out ends the caller's own session",
	"POST /api/v1/check":                        "a decision, nothing changes",
	"POST /api/v1/check:batch":                  "decisions, nothing changes",
	"POST /api/v1/password-reset":               "asks for a link by mail; the mail is in the outbox, the user is unchanged",
	"POST /api/v1/records/{type}":               "an external user's create: owner and creator are where every record starts (records.md §6 audits changes of sharing)",
	"POST /api/v1/records/{type}/{id}/comments": "a comment changes no access (records.md §2), like an attribute write",
	"POST /access/v1/evaluation":                "AuthZEN decision",
	"POST /access/v1/evaluations":               "AuthZEN decisions",
	"POST /access/v1/search/subject":            "AuthZEN search",
	"POST /access/v1/search/resource":           "AuthZEN search",
	"POST /access/v1/search/action":             "AuthZEN search",
	"POST /api/v1/preview":                      "a preview writes nothing (governance.md §1)",
}

// auditClient is a client and the one form of actor its calls must be
// audited with.
type auditClient struct {
	*client
	actor string
}

// auditEntry is an entry of GET /api/v1/audit.
type auditEntry struct {
	ID     int64  `json:"id"`
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Target string `json:"target"`
}

// TestAuditSweep makes every access-changing call of the API (accounts,
// users, passwords, groups, memberships, grants, policy, tokens, record
// writes that change owner, teams or parent, record deletes, as_user
// reads and view as, invitations, password resets, MFA) once, as a token,
// a staff user or a customer admin, and checks that each leaves exactly
// the entries it should, one per access change (most calls: one), each
// with the caller as actor in its one form (user:<id> or token:<id>). The
// write routes come from the server: one neither swept nor exempt
// (auditSweepExempt) fails the test.
func TestAuditSweep(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		defer env.use(t)()
		// Every session first: a sign-in is audited too.
		tok := auditClient{env.bearer(), ""}
		for _, it := range tok.do("GET", "/api/v1/tokens", nil).json(t)["items"].([]any) {
			if m := it.(map[string]any); m["name"] == "tests" {
				tok.actor = "token:" + m["id"].(string)
			}
		}
		if tok.actor == "" {
			t.Fatal("the test token is not listed")
		}
		admin := auditClient{env.as("admin"), "user:admin"}
		mgr := auditClient{env.as("manager"), "user:manager"}
		cadm := auditClient{env.as("adm80"), "user:adm80"}
		u30 := auditClient{env.as("u30"), "user:u30"}
		anon := env.fresh()

		last := func() int64 {
			t.Helper()
			return int64(tok.do("GET", "/api/v1/audit/head", nil).json(t)["entries"].(float64))
		}
		since := func(after int64) []auditEntry {
			t.Helper()
			res := tok.do("GET", "/api/v1/audit?limit=500", nil)
			var l struct{ Items []auditEntry }
			if err := json.Unmarshal([]byte(res.body), &l); err != nil {
				t.Fatal(err)
			}
			var out []auditEntry
			for _, e := range l.Items {
				if e.ID > after {
					out = append(out, e)
				}
			}
			slices.Reverse(out)
			return out
		}
		covered := map[string]bool{}
		// step makes one call of route (method and pattern) and checks the
		// entries it leaves against want ("action target", a target
		// ending in * matching any suffix), in any order.
		step := func(route string, c auditClient, path string, body any, ctype string, want ...string) response {
			t.Helper()
			covered[route] = true
			method, _, _ := strings.Cut(route, " ")
			before := last()
			var res response
			switch b := body.(type) {
			case string:
				res = c.send(method, path, ctype, "", strings.NewReader(b))
			default:
				res = c.do(method, path, body)
			}
			if res.status >= 300 {
				t.Errorf("%s %s: %d %s", method, path, res.status, res.body)
				return res
			}
			got := since(before)
			var gotS []string
			for _, e := range got {
				gotS = append(gotS, e.Action+" "+e.Target)
				if c.actor != "" && e.Actor != c.actor {
					t.Errorf("%s %s: entry %s %s by %q, want %q", method, path, e.Action, e.Target, e.Actor, c.actor)
				}
				if !strings.HasPrefix(e.Actor, "user:") && !strings.HasPrefix(e.Actor, "token:") {
					t.Errorf("%s %s: actor %q is not user:<id> or token:<id>", method, path, e.Actor)
				}
			}
			rest := slices.Clone(gotS)
			for _, w := range want {
				i := slices.IndexFunc(rest, func(g string) bool {
					p, ok := strings.CutSuffix(w, "*")
					return g == w || (ok && strings.HasPrefix(g, p))
				})
				if i < 0 {
					t.Errorf("%s %s: no entry %q among %v", method, path, w, gotS)
					continue
				}
				rest = slices.Delete(rest, i, i+1)
			}
			if len(rest) > 0 {
				t.Errorf("%s %s: unexpected entries %v (want exactly %v)", method, path, rest, want)
			}
			return res
		}

		// Accounts, users, passwords.
		step("PUT /api/v1/accounts/{id}", tok, "/api/v1/accounts/C3", map[string]any{"name": "Three", "kind": "customer"}, "", "account.put account:C3")
		step("PATCH /api/v1/accounts/{id}", admin, "/api/v1/accounts/C3", map[string]any{"external_access": true}, "",
			"account.put account:C3", "group.put group:acct:C3", "grant.create grant:*")
		step("POST /api/v1/import", tok, "/api/v1/import?kind=accounts", "id,name,kind\nC4,Four,customer\n", "text/csv", "account.put account:C4")
		step("DELETE /api/v1/accounts/{id}", admin, "/api/v1/accounts/C4", nil, "", "account.delete account:C4")
		step("PUT /api/v1/users/{id}", tok, "/api/v1/users/x1", map[string]any{"kind": "external", "email": "x1@example.com", "home_account": "C3", "name": "X1"}, "", "user.put user:x1")
		step("PATCH /api/v1/users/{id}", mgr, "/api/v1/users/x1", map[string]any{"status": "disabled"}, "", "user.put user:x1")
		step("POST /api/v1/users/{id}/password", tok, "/api/v1/users/x1/password", map[string]any{"password": "a-new-password-123"}, "", "user.password user:x1")
		step("POST /api/v1/users/{id}/password-reset", admin, "/api/v1/users/u20/password-reset", nil, "", "user.password_reset_sent user:u20")

		// Groups and memberships.
		step("PUT /api/v1/groups/{id}", tok, "/api/v1/groups/gx", map[string]any{"name": "GX"}, "", "group.put group:gx")
		step("PUT /api/v1/groups/{id}/members/{user}", admin, "/api/v1/groups/gx/members/u20", nil, "", "member.add group:gx")
		step("DELETE /api/v1/groups/{id}/members/{user}", tok, "/api/v1/groups/gx/members/u20", nil, "", "member.remove group:gx")
		step("DELETE /api/v1/groups/{id}", admin, "/api/v1/groups/gx", nil, "", "group.delete group:gx")
		step("PUT /api/v1/accounts/{id}/members/{user}", cadm, "/api/v1/accounts/C1/members/u20", nil, "", "member.add group:acct:C1")
		step("DELETE /api/v1/accounts/{id}/members/{user}", cadm, "/api/v1/accounts/C1/members/u20", nil, "", "member.remove group:acct:C1")

		// Grants, by a customer admin.
		g := step("POST /api/v1/grants", cadm, "/api/v1/grants", map[string]any{"principal": "user:u10", "account": "C1-ST1", "role": "L20"}, "", "grant.create grant:*")
		gid, _ := g.json(t)["id"].(string)
		step("PATCH /api/v1/grants/{id}", cadm, "/api/v1/grants/"+gid, map[string]any{"days_back": 30}, "", "grant.update grant:"+gid)
		step("DELETE /api/v1/grants/{id}", cadm, "/api/v1/grants/"+gid, nil, "", "grant.delete grant:"+gid)

		// Policy and tokens.
		src := strings.Replace(string(policy.DefaultYAML()), "title: Basic", "title: Basic access", 1)
		step("PUT /api/v1/policy", admin, "/api/v1/policy", src, "application/yaml", "policy.put policy")
		nt := step("POST /api/v1/tokens", admin, "/api/v1/tokens", map[string]any{"name": "sweep", "user": "admin"}, "", "token.create token:*")
		ntid, _ := nt.json(t)["id"].(string)
		step("DELETE /api/v1/tokens/{id}", tok, "/api/v1/tokens/"+ntid, nil, "", "token.delete token:"+ntid)
		st := step("POST /api/v1/scim-tokens", admin, "/api/v1/scim-tokens", map[string]any{"name": "sweep", "account": "C1", "max_role": "L30"}, "",
			"scim.token.create scim_token:*")
		stid, _ := st.json(t)["id"].(string)
		step("DELETE /api/v1/scim-tokens/{id}", mgr, "/api/v1/scim-tokens/"+stid, nil, "", "scim.token.delete scim_token:"+stid)

		// Record writes that change owner, teams or parent; deletes.
		step("PUT /api/v1/records/{type}/{id}", tok, "/api/v1/records/shipment/SH1", map[string]any{"parent": map[string]any{"type": "sales_order", "id": "SO3"}}, "",
			"record.sharing record:shipment/SH1")
		step("PATCH /api/v1/records/{type}/{id}", admin, "/api/v1/records/invoice/IN1", map[string]any{"owner": "C1-ST1"}, "", "record.sharing record:invoice/IN1")
		step("POST /api/v1/records:batch", tok, "/api/v1/records:batch", map[string]any{
			"upsert": []any{map[string]any{"type": "sales_order", "id": "SO2", "owner": "C2", "teams": []any{map[string]any{"principal": "account:C1", "access": "read"}},
				"attributes": map[string]any{"number": "SO2", "status": "open", "customer": "C2"}}},
			"delete": []any{map[string]any{"type": "ticket", "id": "T1"}, map[string]any{"type": "ticket", "id": "T404"}},
		}, "", "record.sharing record:sales_order/SO2", "record.delete record:ticket/T1")
		// Identity providers (identity.md §7).
		step("PUT /api/v1/identity-providers/{id}", admin, "/api/v1/identity-providers/c1-idp", map[string]any{
			"name": "C1 sign-in", "issuer": "https://idp.c1.example", "client_id": "portcullis", "client_secret": "s3cret",
			"account": "C1", "email_domains": []string{"sso.c1.example"}, "local_passwords": "allowed"}, "",
			"identity_provider.put identity_provider:c1-idp")
		step("DELETE /api/v1/identity-providers/{id}", mgr, "/api/v1/identity-providers/c1-idp", nil, "",
			"identity_provider.delete identity_provider:c1-idp")

		// Files on a record: put and delete are audited (records.md §2).
		step("PUT /api/v1/records/{type}/{id}/files/{name}", tok, "/api/v1/records/sales_order/SO3/files/po.pdf", "%PDF-1.4 sweep", "application/pdf",
			"record.file_put record:sales_order/SO3")
		step("DELETE /api/v1/records/{type}/{id}/files/{name}", admin, "/api/v1/records/sales_order/SO3/files/po.pdf", nil, "",
			"record.file_delete record:sales_order/SO3")
		step("DELETE /api/v1/records/{type}/{id}", tok, "/api/v1/records/sales_order/SO3", nil, "", "record.delete record:sales_order/SO3")

		// Reads as another user: audited once per reader and user.
		step("GET /api/v1/records/{type}", tok, "/api/v1/records/sales_order?as_user=u20", nil, "", "as_user.read user:u20")
		step("GET /api/v1/records/{type}/{id}", tok, "/api/v1/records/sales_order/SO1?as_user=u20", nil, "")
		step("GET /api/v1/records/{type}/{id}", tok, "/api/v1/records/sales_order/SO1?as_user=u30", nil, "", "as_user.read user:u30")
		step("GET /admin/view-as", admin, "/admin/view-as?user=u20", nil, "", "portal.view_as user:u20") // another reader: the admin's session
		step("GET /admin/view-as/{as}/a/{account}/{type}", admin, "/admin/view-as/u20/a/C1/sales_order", nil, "")
		step("GET /api/v1/records/{type}", admin, "/api/v1/records/invoice?as_user=u20", nil, "")

		// Invitations and password resets.
		inv := step("POST /api/v1/invitations", cadm, "/api/v1/invitations", map[string]any{"email": "inv@example.com", "home_account": "C1",
			"grants": []any{map[string]any{"account": "C1", "role": "L20"}}}, "", "user.put user:*", "grant.create grant:*", "invitation.create invitation:*")
		invID, _ := inv.json(t)["id"].(string)
		invUser, _ := inv.json(t)["user"].(string)
		step("POST /api/v1/invitations/{id}/resend", cadm, "/api/v1/invitations/"+invID+"/resend", nil, "", "invitation.resend invitation:"+invID)
		links := outboxLinks(t, env, "inv@example.com", "invitation")
		if len(links) == 0 {
			t.Fatal("no invitation link")
		}
		step("POST /api/v1/invitations/accept", auditClient{anon, "user:" + invUser}, "/api/v1/invitations/accept",
			map[string]any{"token": links[0], "password": "a long enough password"}, "", "invitation.accepted invitation:"+invID)
		bat := step("POST /api/v1/invitations:batch", tok, "/api/v1/invitations:batch", map[string]any{"invitations": []any{
			map[string]any{"email": "inv2@example.com", "home_account": "C2"}}}, "", "user.put user:*", "invitation.create invitation:*")
		inv2 := bat.json(t)["items"].([]any)[0].(map[string]any)["id"].(string)
		step("DELETE /api/v1/invitations/{id}", admin, "/api/v1/invitations/"+inv2, nil, "", "invitation.revoke invitation:"+inv2)
		if res := anon.do("POST", "/api/v1/password-reset", map[string]any{"email": "u10@example.com"}); res.status >= 300 {
			t.Fatalf("ask for a reset: %d %s", res.status, res.body)
		}
		resets := outboxLinks(t, env, "u10@example.com", "password_reset")
		if len(resets) == 0 {
			t.Fatal("no reset link")
		}
		tokenPart := resets[0][strings.LastIndex(resets[0], "/")+1:]
		step("POST /api/v1/password-reset/{token}", auditClient{env.fresh(), "user:u10"}, "/api/v1/password-reset/"+tokenPart,
			map[string]any{"password": "another long password"}, "", "user.password_reset user:u10")

		// MFA: enrolment and confirmation, the user's own disabling (with a
		// recovery code), and again, reset by staff.
		for _, off := range []string{"DELETE /api/v1/me/mfa", "DELETE /api/v1/users/{id}/mfa"} {
			res := step("POST /api/v1/me/mfa/totp", u30, "/api/v1/me/mfa/totp", nil, "", "mfa.enrolment_started user:u30")
			secret, _ := res.json(t)["secret"].(string)
			res = step("POST /api/v1/me/mfa/totp/confirm", u30, "/api/v1/me/mfa/totp/confirm", map[string]string{"code": totpCode(t, secret, time.Now())}, "", "mfa.enabled user:u30")
			if off == "DELETE /api/v1/me/mfa" {
				codes, _ := res.json(t)["recovery_codes"].([]any)
				if len(codes) == 0 {
					t.Fatalf("no recovery codes: %s", res.body)
				}
				step(off, u30, "/api/v1/me/mfa", map[string]any{"password": password, "code": codes[0]}, "", "mfa.disabled user:u30")
			} else {
				step(off, mgr, "/api/v1/users/u30/mfa", nil, "", "mfa.reset user:u30")
			}
		}

		// An access review (governance.md §2): created, one decision, closed
		// with everything kept (revocations at closing: internal/app).
		rv := step("POST /api/v1/reviews", cadm, "/api/v1/reviews", map[string]any{"account": "C1", "due": "2031-01-31"}, "", "review.create review:*")
		rvID, _ := rv.json(t)["id"].(string)
		item := ""
		for _, it := range rv.json(t)["items"].([]any) {
			if m := it.(map[string]any); m["reviewer"] == "adm80" && item == "" {
				item, _ = m["id"].(string)
			}
		}
		if item == "" {
			t.Fatalf("no item for the reviewer: %s", rv.body)
		}
		step("POST /api/v1/reviews/{id}/items/{item}", cadm, "/api/v1/reviews/"+rvID+"/items/"+item, map[string]any{"decision": "keep"}, "",
			"review.decide review:"+rvID)
		step("POST /api/v1/reviews/{id}/close", cadm, "/api/v1/reviews/"+rvID+"/close", nil, "", "review.close review:"+rvID)

		// Last, deleting a user: its entry alone (x1 has no grants or tokens).
		step("DELETE /api/v1/users/{id}", admin, "/api/v1/users/x1", nil, "", "user.delete user:x1")

		var missing []string
		routes := map[string]bool{}
		for _, rt := range append(env.server.Routes(), env.server.AuthZENRoutes()...) {
			key := rt.Method + " " + rt.Pattern
			routes[key] = true
			if rt.Method == "GET" || covered[key] || auditSweepExempt[key] != "" {
				continue
			}
			missing = append(missing, key)
		}
		if len(missing) > 0 {
			t.Errorf("write routes neither swept nor exempt: %s", strings.Join(missing, ", "))
		}
		for key := range auditSweepExempt {
			if !routes[key] {
				t.Errorf("exempt route %s does not exist", key)
			}
		}
	})
}
