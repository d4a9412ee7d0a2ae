package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The admin console's tests drive the pages like a browser without
// JavaScript: GET pages and POST application/x-www-form-urlencoded forms
// through a cookie-jar client that follows redirects.

// page GETs a console page.
func (c *client) admGet(path string) response {
	c.env.t.Helper()
	return c.do("GET", path, nil)
}

// form POSTs a form and follows the redirect, if any.
func (c *client) admPost(path string, v url.Values) response {
	c.env.t.Helper()
	req, err := http.NewRequest("POST", c.env.srv.URL+path, strings.NewReader(v.Encode()))
	if err != nil {
		c.env.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.hc.Do(req)
	if err != nil {
		c.env.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(data)}
}

func admHas(t *testing.T, r response, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.body, s) {
			t.Errorf("page (status %d) lacks %q:\n%s", r.status, s, admExcerpt(r.body))
		}
	}
}

func admLacks(t *testing.T, r response, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(r.body, s) {
			t.Errorf("page (status %d) has %q:\n%s", r.status, s, admExcerpt(r.body))
		}
	}
}

// admExcerpt is the page's main content, for failure messages.
func admExcerpt(body string) string {
	if i := strings.Index(body, `<main`); i >= 0 {
		body = body[i:]
	}
	if len(body) > 6000 {
		body = body[:6000] + "…"
	}
	return body
}

func admStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d:\n%s", r.status, status, admExcerpt(r.body))
	}
}

// admGrantID finds the id of the grant of principal on account.
func admGrantID(t *testing.T, env *testEnv, principal, account string) string {
	t.Helper()
	gs, _, err := env.st.ListGrants(context.Background(), store.GrantFilter{Account: account, Principal: principal})
	if err != nil || len(gs) != 1 {
		t.Fatalf("grant of %s on %s: %v %v", principal, account, gs, err)
	}
	return gs[0].ID
}

// TestAdminAllowExternalUsers is the lesson of seed 000: a supervisor ticks
// "Allow External Users" on a sold-to, the group appears, the supervisor
// adds a user to it, and the user sees the sold-to's records.
func TestAdminAllowExternalUsers(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		admin := env.as("admin")
		res := admin.admGet("/admin/accounts/C1-ST1")
		admStatus(t, res, 200)
		admHas(t, res, `name="external_access"`, "Allow external users", "None yet")

		res = admin.admPost("/admin/accounts/C1-ST1/external-access", url.Values{"confirm": {"yes"}, "external_access": {"on"}})
		admStatus(t, res, 200)
		admHas(t, res, "External users are now allowed", `href="/admin/groups/acct:C1-ST1"`, "group:acct:C1-ST1")
		g, err := env.st.GetGroup(ctx, "acct:C1-ST1")
		if err != nil {
			t.Fatalf("group acct:C1-ST1: %v", err)
		}
		if g.Account != "C1-ST1" {
			t.Errorf("group account %q", g.Account)
		}
		gr, _ := env.st.GetGrant(ctx, admGrantID(t, env, "group:acct:C1-ST1", "C1-ST1"))
		if gr.Role != "L10" || gr.Scope != "subtree" {
			t.Errorf("default grant %+v", gr)
		}

		// A new external user homed in C2 (no grant on C1) joins the group.
		res = admin.admPost("/admin/users", url.Values{"id": {"newbie"}, "kind": {"external"}, "name": {"New Person"},
			"email": {"newbie@example.com"}, "home_account": {"C2"}, "status": {"active"}})
		admStatus(t, res, 200)
		if _, err := env.st.SetPassword(ctx, store.Write{Actor: "test"}, "newbie", hash); err != nil {
			t.Fatal(err)
		}
		res = admin.admPost("/admin/groups/acct:C1-ST1/members", url.Values{"confirm": {"yes"}, "user": {"newbie@example.com"}})
		admStatus(t, res, 200)
		admHas(t, res, "The member was added", "New Person")

		// The default role L10 reads inventory: the sold-to's, not C1's.
		if _, err := env.st.Batch(ctx, store.Write{}, store.RecordBatch{Upsert: []*access.Record{
			{Type: "inventory", ID: "INV-ST1", Owner: "C1-ST1", Attributes: map[string]any{"sku": "A"}},
			{Type: "inventory", ID: "INV-C1", Owner: "C1", Attributes: map[string]any{"sku": "B"}},
		}}); err != nil {
			t.Fatal(err)
		}
		res = env.as("newbie").do("GET", "/api/v1/records/inventory", nil)
		admStatus(t, res, 200)
		if !strings.Contains(res.body, `"INV-ST1"`) || strings.Contains(res.body, `"INV-C1"`) {
			t.Errorf("newbie should see the sold-to's inventory only: %s", res.body)
		}

		// Switching off keeps the grant, inactive.
		res = admin.admPost("/admin/accounts/C1-ST1/external-access", url.Values{"confirm": {"yes"}})
		admStatus(t, res, 200)
		admHas(t, res, "no longer allowed", "inactive: external users are not allowed on C1-ST1")
	})
}

// writeForms counts the forms that POST, other than the layout's sign-out.
func writeForms(body string) int {
	n := 0
	for _, m := range regexp.MustCompile(`<form[^>]*method="post"[^>]*>`).FindAllString(body, -1) {
		if !strings.Contains(m, `action="/logout"`) {
			n++
		}
	}
	return n
}

var (
	idAttr    = regexp.MustCompile(`\sid="([^"]+)"`)
	labelFor  = regexp.MustCompile(`<label[^>]*\sfor="([^"]+)"`)
	formInput = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
)

// admAccessible checks what a screen-reader user needs from a page: ids
// are unique, every label points at an element, and every form control
// (but hidden inputs and buttons) has a label.
func admAccessible(t *testing.T, path, body string) {
	t.Helper()
	ids := map[string]bool{}
	for _, m := range idAttr.FindAllStringSubmatch(body, -1) {
		if ids[m[1]] {
			t.Errorf("%s: duplicate id %q", path, m[1])
		}
		ids[m[1]] = true
	}
	labelled := map[string]bool{}
	for _, m := range labelFor.FindAllStringSubmatch(body, -1) {
		labelled[m[1]] = true
		if !ids[m[1]] {
			t.Errorf("%s: label for %q points at nothing", path, m[1])
		}
	}
	for _, tag := range formInput.FindAllString(body, -1) {
		if strings.Contains(tag, `type="hidden"`) || strings.Contains(tag, `type="submit"`) {
			continue
		}
		m := idAttr.FindStringSubmatch(tag)
		if m == nil || !labelled[m[1]] {
			t.Errorf("%s: control without a label: %s", path, tag)
		}
	}
}

// TestAdminExternalAccessPanel is the ERP's External Access table: grants
// listed with their users, added and edited through the forms, the Owner
// row locked (no remove button, a forged remove refused, role unchangeable,
// notes editable).
func TestAdminExternalAccessPanel(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		admin := env.as("admin")
		res := admin.admGet("/admin/accounts/C1")
		admStatus(t, res, 200)
		admHas(t, res, "External Access", "Secret Person u20", "user:u20", "L20", "Secret Person owner", "cannot be removed")
		ownerGrant := admGrantID(t, env, "user:owner", "C1")
		u20Grant := admGrantID(t, env, "user:u20", "C1")
		admHas(t, res, `?remove=`+u20Grant+`#remove-grant"`)
		admLacks(t, res, `?remove=`+ownerGrant)

		// A forged remove of the Owner grant is refused, and the grant stays.
		res = admin.admPost("/admin/accounts/C1/grants/"+ownerGrant+"/remove", url.Values{"confirm": {"yes"}})
		admStatus(t, res, 409)
		admHas(t, res, "can never be removed")
		if _, err := env.st.GetGrant(ctx, ownerGrant); err != nil {
			t.Fatalf("owner grant gone: %v", err)
		}
		// Its role cannot be lowered; its notes can change.
		res = admin.admPost("/admin/accounts/C1/grants/"+ownerGrant, url.Values{"confirm": {"yes"}, "role": {"L10"}, "notes": {"x"}})
		admStatus(t, res, 409)
		admHas(t, res, `aria-invalid="true"`, "only its notes may change")
		res = admin.admGet("/admin/accounts/C1?edit=" + ownerGrant)
		admHas(t, res, "Only the notes may change", `name="notes"`)
		admLacks(t, res, `id="e-role"`)
		res = admin.admPost("/admin/accounts/C1/grants/"+ownerGrant, url.Values{"confirm": {"yes"}, "notes": {"Founder"}})
		admStatus(t, res, 200)
		admHas(t, res, "The grant was saved", "Founder")

		// Add a grant by email, with days back and validity; a duplicate is
		// a conflict shown next to the principal.
		res = admin.admPost("/admin/accounts/C1-ST1/grants", url.Values{"confirm": {"yes"}, "principal": {"other@example.com"}, "role": {"L30"},
			"scope": {"account"}, "access": {"read"}, "days_back": {"90"}, "valid_from": {""}, "valid_until": {"2099-01-01"}, "notes": {"ERP import"}})
		admStatus(t, res, 200)
		admHas(t, res, "The grant was added", "user:other", "L30", "read only", "90", "Jan 1, 2099", "ERP import")
		g, err := env.st.GetGrant(ctx, admGrantID(t, env, "user:other", "C1-ST1"))
		if err != nil || g.DaysBack == nil || *g.DaysBack != 90 || g.Scope != "account" || g.Access != "read" || g.ValidUntil == nil || g.CreatedBy != "admin" {
			t.Fatalf("grant %+v %v", g, err)
		}
		res = admin.admPost("/admin/accounts/C1-ST1/grants", url.Values{"confirm": {"yes"}, "principal": {"other"}, "role": {"L10"}})
		admStatus(t, res, 409)
		admHas(t, res, `id="g-principal-err"`, "already has grant")
		res = admin.admPost("/admin/accounts/C1-ST1/grants", url.Values{"confirm": {"yes"}, "principal": {"u20"}, "role": {"L10"}, "days_back": {"soon"}})
		admStatus(t, res, 400)
		admHas(t, res, `id="g-days-err"`, "days_back must be a whole number")
		res = admin.admPost("/admin/accounts/C1-ST1/grants", url.Values{"confirm": {"yes"}, "principal": {"nobody"}, "role": {"L10"}})
		admStatus(t, res, 400)
		admHas(t, res, `id="g-principal-err"`, "no user or group nobody")
		// A protected role must be created whole.
		res = admin.admPost("/admin/accounts/C1-ST1/grants", url.Values{"confirm": {"yes"}, "principal": {"u20"}, "role": {"L90"}, "days_back": {"5"}})
		admStatus(t, res, 400)
		admHas(t, res, `id="g-role-err"`, "created whole")

		// Edit: clear days back, keep the stored valid_until instant.
		res = admin.admPost("/admin/accounts/C1-ST1/grants/"+g.ID, url.Values{"confirm": {"yes"}, "role": {"L20"}, "scope": {"subtree"}, "access": {"read_write"},
			"days_back": {""}, "valid_from": {""}, "valid_until": {"2099-01-01"}, "notes": {"changed"}})
		admStatus(t, res, 200)
		g2, _ := env.st.GetGrant(ctx, g.ID)
		if g2.Role != "L20" || g2.DaysBack != nil || g2.ValidUntil == nil || !g2.ValidUntil.Equal(*g.ValidUntil) || g2.Notes != "changed" {
			t.Fatalf("edited grant %+v", g2)
		}
		// Remove it: the link asks first and says what will change; a
		// post without the confirmation only shows that question.
		res = admin.admGet("/admin/accounts/C1-ST1?remove=" + g.ID)
		admHas(t, res, `id="remove-grant"`, "Remove the grant of other?", "loses", `name="confirm" value="yes"`)
		res = admin.admPost("/admin/accounts/C1-ST1/grants/"+g.ID+"/remove", url.Values{})
		admStatus(t, res, 200)
		admHas(t, res, `id="remove-grant"`)
		if _, err := env.st.GetGrant(ctx, g.ID); err != nil {
			t.Fatalf("removed without confirmation: %v", err)
		}
		res = admin.admPost("/admin/accounts/C1-ST1/grants/"+g.ID+"/remove", url.Values{"confirm": {"yes"}})
		admStatus(t, res, 200)
		admHas(t, res, "The grant was removed")
		if _, err := env.st.GetGrant(ctx, g.ID); access.ErrorCode(err) != access.CodeNotFound {
			t.Fatalf("grant still there: %v", err)
		}
		// A grant of another account cannot be edited through this one.
		res = admin.admPost("/admin/accounts/C2/grants/"+u20Grant+"/remove", url.Values{})
		admStatus(t, res, 404)
	})
}

// TestAdminRoles: auditors see every page without write forms and get 403
// on every POST; access managers cannot create admins or edit the policy;
// external users get the 403 page; anonymous users go to sign in.
func TestAdminRoles(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		u20Grant := admGrantID(t, env, "user:u20", "C1")
		pages := []string{"/admin", "/admin/accounts", "/admin/accounts?q=acme", "/admin/accounts/C1", "/admin/accounts/C1?edit=" + u20Grant,
			"/admin/users", "/admin/users?kind=external&q=u2", "/admin/users/u20", "/admin/users/admin",
			"/admin/groups", "/admin/groups/acct:C1", "/admin/policy", "/admin/policy/versions/0",
			"/admin/records", "/admin/records?type=sales_order&account=C1&sort=id", "/admin/records/sales_order/SO1", "/admin/records/shipment/SH1",
			"/admin/check", "/admin/check?type=sales_order&id=SO1", "/admin/check?user=u20&type=sales_order&id=SO1&action=read",
			"/admin/view-as", "/admin/view-as?q=secret", "/admin/audit", "/admin/audit?actor=admin&since=2020-01-01&until=2099-12-31", "/admin/audit/verify"}
		admin, auditor := env.as("admin"), env.as("auditor")
		for _, path := range pages {
			res := admin.admGet(path)
			if res.status != 200 {
				t.Errorf("admin GET %s: %d\n%s", path, res.status, admExcerpt(res.body))
			}
			admAccessible(t, path, res.body)
			res = auditor.admGet(path)
			if res.status != 200 {
				t.Errorf("auditor GET %s: %d\n%s", path, res.status, admExcerpt(res.body))
			}
			if n := writeForms(res.body); n > 0 {
				t.Errorf("auditor sees %d write forms on %s", n, path)
			}
		}
		if n := writeForms(admin.admGet("/admin/accounts/C1").body); n < 3 {
			t.Errorf("admin sees only %d write forms on an account", n)
		}
		// The auditor gets no removal confirmation either.
		if res := auditor.admGet("/admin/accounts/C1?remove=" + u20Grant); writeForms(res.body) > 0 || strings.Contains(res.body, `id="remove-grant"`) {
			t.Errorf("auditor sees the removal confirmation")
		}

		posts := map[string]url.Values{
			"/admin/accounts":                                   {"id": {"X1"}},
			"/admin/accounts/C1":                                {"name": {"x"}},
			"/admin/accounts/C1-ST1/external-access":            {"external_access": {"on"}},
			"/admin/accounts/C1/grants":                         {"principal": {"u20"}, "role": {"L10"}},
			"/admin/accounts/C1/grants/" + u20Grant:             {"notes": {"x"}},
			"/admin/accounts/C1/grants/" + u20Grant + "/remove": {},
			"/admin/users":                                      {"id": {"x"}, "email": {"x@example.com"}},
			"/admin/users/u20":                                  {"name": {"x"}},
			"/admin/users/u20/constraints":                      {"constraints.ticket": {"type: incident"}},
			"/admin/users/u20/password":                         {"password": {"a long new password"}, "confirm": {"a long new password"}},
			"/admin/groups":                                     {"id": {"g1"}},
			"/admin/groups/acct:C1":                             {"name": {"x"}},
			"/admin/groups/acct:C1/members":                     {"user": {"u20"}},
			"/admin/groups/acct:C1/members/u20/remove":          {},
			"/admin/policy":                                     {"source": {"x"}},
		}
		for path, form := range posts {
			if res := auditor.admPost(path, form); res.status != 403 {
				t.Errorf("auditor POST %s: %d", path, res.status)
			}
		}
		if _, ok := env.eng.Account("C1-ST1"); !ok {
			t.Fatal("C1-ST1 gone")
		}
		if a, _ := env.eng.Account("C1-ST1"); a.ExternalAccess {
			t.Error("an auditor's POST switched external access on")
		}

		// Access managers: no admins, no policy; the policy page has no editor.
		manager := env.as("manager")
		res := manager.admPost("/admin/users", url.Values{"id": {"boss"}, "kind": {"internal"}, "email": {"boss@example.com"},
			"status": {"active"}, "staff_role": {"admin"}})
		admStatus(t, res, 403)
		admHas(t, res, `id="u-role-err"`, "access managers cannot create or change admins")
		res = manager.admPost("/admin/policy", url.Values{"confirm": {"yes"}, "source": {"x"}})
		admStatus(t, res, 403)
		res = manager.admGet("/admin/policy")
		admStatus(t, res, 200)
		admLacks(t, res, `action="/admin/policy"`)
		res = manager.admPost("/admin/users", url.Values{"id": {"helper"}, "kind": {"internal"}, "email": {"helper@example.com"},
			"status": {"active"}, "staff_role": {"auditor"}})
		admStatus(t, res, 200)
		admHas(t, res, "The user was created")

		// External users: 403 everywhere in the console.
		for _, user := range []string{"u20", "adm80", "owner"} {
			c := env.as(user)
			for _, path := range []string{"/admin", "/admin/accounts", "/admin/accounts/C1", "/admin/users/u20", "/admin/check", "/admin/audit", "/admin/view-as?user=u20"} {
				if res := c.admGet(path); res.status != 403 {
					t.Errorf("%s GET %s: %d", user, path, res.status)
				}
			}
			if res := c.admPost("/admin/accounts/C1/grants", url.Values{"confirm": {"yes"}, "principal": {"u20"}, "role": {"L80"}}); res.status != 403 {
				t.Errorf("%s POST a grant: %d", user, res.status)
			}
		}
		// Anonymous: to the sign-in page.
		hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := hc.Get(env.srv.URL + "/admin/accounts")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("anonymous: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// TestAdminCheckerDaysBack: a grant with days back hides an old order, and
// the checker says so with the cutoff date; "who can see this" lists the
// users who can.
func TestAdminCheckerDaysBack(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		admin := env.as("admin")
		res := admin.admPost("/admin/accounts/C1/grants", url.Values{"confirm": {"yes"}, "principal": {"other"}, "role": {"L20"}, "days_back": {"30"}})
		admStatus(t, res, 200)
		old := time.Now().UTC().AddDate(0, 0, -100).Format(time.DateOnly)
		recent := time.Now().UTC().AddDate(0, 0, -3).Format(time.DateOnly)
		if _, err := env.st.Batch(ctx, store.Write{}, store.RecordBatch{Upsert: []*access.Record{
			{Type: "sales_order", ID: "SO-OLD", Owner: "C1-ST1", Date: old, Attributes: map[string]any{"number": "SO-OLD", "status": "open"}},
			{Type: "sales_order", ID: "SO-NEW", Owner: "C1-ST1", Date: recent, Attributes: map[string]any{"number": "SO-NEW", "status": "open"}},
		}}); err != nil {
			t.Fatal(err)
		}
		cutoff := time.Now().UTC().AddDate(0, 0, -30).Format(time.DateOnly)
		res = admin.admGet("/admin/check?user=other%40example.com&type=sales_order&id=SO-OLD&action=read")
		admStatus(t, res, 200)
		admHas(t, res, "Denied", "Days back limits this user", "outside_days_back", "before the cutoff "+cutoff, "dated "+old, "days back 30")
		// Who can see it: u20 (L20 on C1) but not other.
		admHas(t, res, "Who can see", `/admin/users/u20"`, "The record&#39;s owner C1-ST1 is covered by grant")
		if _, viewers, _ := strings.Cut(res.body, "Who can see"); strings.Contains(viewers, `/admin/users/other"`) {
			t.Error("other is listed among the viewers of SO-OLD")
		}

		res = admin.admGet("/admin/check?user=other&type=sales_order&id=SO-NEW&action=read")
		admStatus(t, res, 200)
		admHas(t, res, "Allowed", "is covered by grant", `<code>price</code>: <span class="tag no">hidden</span>`)
		admLacks(t, res, "Days back limits")
		res = admin.admGet("/admin/check?user=other&type=sales_order&id=SO-NEW&action=update")
		admHas(t, res, "Denied", "role_lacks_permission")

		res = admin.admGet("/admin/check?user=ghost&type=sales_order&id=NOPE")
		admStatus(t, res, 404)
		admHas(t, res, `id="c-user-err"`, `id="c-id-err"`)
	})
}

// TestAdminPolicyEditor: a broken policy shows every problem with its path
// and is not saved; a valid one becomes the next version.
func TestAdminPolicyEditor(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		admin := env.as("admin")
		res := admin.admGet("/admin/policy")
		admStatus(t, res, 200)
		admHas(t, res, "Roles × object types", "Orders with Prices", "manage users", "protected", "lines[].price", `<textarea id="source"`)
		pv, err := env.st.Policy(ctx)
		if err != nil {
			t.Fatal(err)
		}
		broken := strings.Replace(pv.Source, "default_group_role: L10", "default_group_role: L99", 1)
		broken = strings.Replace(broken, "level: 10", "level: 10\n    includes: [Nope]", 1)
		res = admin.admPost("/admin/policy", url.Values{"confirm": {"yes"}, "source": {broken}})
		admStatus(t, res, 400)
		admHas(t, res, "2 problems", "<code>default_group_role</code>", "L99", "includes[0]</code>", "Nope", `aria-invalid="true"`)
		res = admin.admPost("/admin/policy", url.Values{"confirm": {"yes"}, "source": {"roles: [\n"}})
		admStatus(t, res, 400)
		admHas(t, res, "1 problem")
		if v, _ := env.st.Policy(ctx); v.Version != pv.Version {
			t.Fatalf("a broken policy was saved: version %d", v.Version)
		}
		res = admin.admPost("/admin/policy", url.Values{"confirm": {"yes"}, "source": {strings.Replace(pv.Source, "title: Basic", "title: Basic access", 1)}})
		admStatus(t, res, 200)
		want := pv.Version + 1
		admHas(t, res, "The new policy version was saved", "Basic access", fmt.Sprintf("Version %d", want))
		v, _ := env.st.Policy(ctx)
		if v.Version != want || v.CreatedBy != "admin" {
			t.Fatalf("policy version %d by %s", v.Version, v.CreatedBy)
		}
		admHas(t, admin.admGet(fmt.Sprintf("/admin/policy/versions/%d", want)), "title: Basic access", "in force")
		// A change the data forbids (removing a role in use) is the store's
		// conflict, shown next to the editor.
		res = admin.admPost("/admin/policy", url.Values{"confirm": {"yes"}, "source": {strings.Replace(v.Source, "protected: true", "protected: false", 1)}})
		admStatus(t, res, 409)
		admHas(t, res, "cannot be unprotected")
	})
}

// TestAdminViewAs: the entry point logs the use and redirects to the
// read-only portal with the banner.
func TestAdminViewAs(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		auditor := env.as("auditor")
		res := auditor.admGet("/admin/view-as?user=u20%40example.com")
		admStatus(t, res, 200)
		admHas(t, res, "Viewing the portal as", "Secret Person u20")
		entries, _, err := env.st.ListAudit(ctx, store.AuditFilter{Action: "portal.view_as"})
		if err != nil || len(entries) != 1 {
			t.Fatalf("view-as entries %v %v", entries, err)
		}
		if e := entries[0]; e.Actor != "user:auditor" || e.Target != "user:u20" || !strings.Contains(string(e.After), `"C1"`) {
			t.Errorf("entry %+v", e)
		}
		// Browsing the portal as the user writes no more entries.
		auditor.admGet("/admin/view-as/u20/a/C1/sales_order")
		if entries, _, _ := env.st.ListAudit(ctx, store.AuditFilter{Action: "portal.view_as"}); len(entries) != 1 {
			t.Errorf("%d view-as entries after browsing", len(entries))
		}
		res = auditor.admGet("/admin/view-as")
		admHas(t, res, "Recent uses", "user:u20")
		res = auditor.admGet("/admin/view-as?user=admin")
		admStatus(t, res, 400)
		admHas(t, res, `id="va-user-err"`, "view as shows the portal of external users")
		res = auditor.admGet("/admin/audit?action=portal.view_as")
		admHas(t, res, "portal.view_as", "user:u20")
		res = auditor.admGet("/admin/audit/verify")
		admHas(t, res, "The chain is intact")
		res = env.as("admin").admGet("/admin/users/u20")
		admHas(t, res, `href="/admin/view-as?user=u20"`, "View portal as this user")
	})
}

// TestAdminUsersAndGroups: users created and edited with constraints and a
// password; groups created, renamed, members added and removed.
func TestAdminUsersAndGroups(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		admin := env.as("admin")
		res := admin.admPost("/admin/users", url.Values{"id": {"eve"}, "kind": {"external"}, "name": {"Eve"}, "email": {"not-an-email"},
			"home_account": {"C1"}, "status": {"active"}})
		admStatus(t, res, 400)
		admHas(t, res, `id="u-email-err"`, `value="Eve"`)
		res = admin.admPost("/admin/users", url.Values{"id": {"eve"}, "kind": {"external"}, "name": {"Eve"}, "email": {"eve@example.com"},
			"home_account": {"NOPE"}, "status": {"active"}})
		admStatus(t, res, 400)
		admHas(t, res, `id="u-home-err"`)
		res = admin.admPost("/admin/users", url.Values{"id": {"u20"}, "kind": {"external"}, "email": {"x@example.com"}, "home_account": {"C1"}, "status": {"active"}})
		admStatus(t, res, 409)
		admHas(t, res, `id="u-id-err"`)
		res = admin.admPost("/admin/users", url.Values{"id": {"eve"}, "kind": {"external"}, "name": {"Eve"}, "email": {"eve@example.com"},
			"home_account": {"C1"}, "status": {"active"}})
		admStatus(t, res, 200)
		admHas(t, res, "The user was created", "Constraints", `name="constraints.ticket"`)

		res = admin.admPost("/admin/users/eve/constraints", url.Values{"constraints.ticket": {"type incident"}})
		admStatus(t, res, 400)
		admHas(t, res, `id="cons-ticket-err"`, "line 1")
		// records.md §4: a typo in an attribute or a value is refused next
		// to the editor, and nothing is saved.
		res = admin.admPost("/admin/users/eve/constraints", url.Values{"constraints.ticket": {"staus: new, closed"}})
		admStatus(t, res, 400)
		admHas(t, res, `id="cons-ticket-err"`, "ticket has no field staus")
		res = admin.admPost("/admin/users/eve/constraints", url.Values{"constraints.ticket": {"type: bogus"}})
		admStatus(t, res, 400)
		admHas(t, res, `id="cons-ticket-err"`, "&#34;bogus&#34; is not one of")
		if u, _ := env.st.GetUser(ctx, "eve"); len(u.Constraints) != 0 {
			t.Fatalf("refused constraints were saved: %v", u.Constraints)
		}
		// Declared values are checkboxes; a forged value is refused too.
		res = admin.admGet("/admin/users/eve")
		admHas(t, res, `name="constraints.ticket.type" value="incident"`, `name="constraints.ticket.status" value="closed"`)
		res = admin.admPost("/admin/users/eve/constraints", url.Values{"constraints.ticket": {""}, "constraints.ticket.type": {"incident", "bogus"}})
		admStatus(t, res, 400)
		admHas(t, res, `id="cons-ticket-err"`, "&#34;bogus&#34; is not one of")
		res = admin.admPost("/admin/users/eve/constraints", url.Values{"constraints.ticket": {""}, "constraints.ticket.type": {"incident", "question"}})
		admStatus(t, res, 200)
		admHas(t, res, `value="incident" checked`, `value="question" checked`)
		admLacks(t, res, `value="request" checked`)
		if got := func() []string { u, _ := env.st.GetUser(ctx, "eve"); return u.Constraints["ticket"]["type"] }(); len(got) != 2 {
			t.Fatalf("checked constraints %v", got)
		}
		res = admin.admPost("/admin/users/eve/constraints", url.Values{"constraints.ticket": {"type: incident, question\nstatus: new\n"}})
		admStatus(t, res, 200)
		u, _ := env.st.GetUser(ctx, "eve")
		if got := u.Constraints["ticket"]; len(got["type"]) != 2 || got["status"][0] != "new" {
			t.Fatalf("constraints %v", u.Constraints)
		}
		res = admin.admPost("/admin/users/eve", url.Values{"confirm": {"yes"}, "kind": {"external"}, "name": {"Eve Adams"}, "email": {"eve@example.com"},
			"home_account": {"C1"}, "status": {"disabled"}})
		admStatus(t, res, 200)
		admHas(t, res, "Eve Adams", "disabled")
		if u, _ := env.st.GetUser(ctx, "eve"); u.Status != "disabled" || len(u.Constraints) == 0 {
			t.Fatalf("user %+v", u)
		}
		res = admin.admPost("/admin/users/eve/password", url.Values{"password": {"a long new password"}, "confirm": {"different"}})
		admStatus(t, res, 400)
		admHas(t, res, `id="pw2-err"`)
		res = admin.admPost("/admin/users/eve/password", url.Values{"password": {"a long new password"}, "confirm": {"a long new password"}})
		admStatus(t, res, 200)
		if h, _ := env.st.PasswordHash(ctx, "eve"); h == "" {
			t.Error("no password stored")
		}

		res = admin.admPost("/admin/groups", url.Values{"id": {"support-eu"}, "name": {"Support EU"}})
		admStatus(t, res, 200)
		admHas(t, res, "The group was created", "Support EU")
		res = admin.admPost("/admin/groups/support-eu", url.Values{"name": {"Support Europe"}})
		admHas(t, res, "Support Europe")
		res = admin.admPost("/admin/groups/support-eu/members", url.Values{"confirm": {"yes"}, "user": {"nobody@example.com"}})
		admStatus(t, res, 400)
		admHas(t, res, `id="member-err"`)
		res = admin.admPost("/admin/groups/support-eu/members", url.Values{"confirm": {"yes"}, "user": {"manager"}})
		admStatus(t, res, 200)
		admHas(t, res, "The member was added", `/admin/users/manager"`)
		res = admin.admPost("/admin/groups/support-eu/members/manager/remove", url.Values{"confirm": {"yes"}})
		admStatus(t, res, 200)
		if g, _ := env.st.GetGroup(ctx, "support-eu"); len(g.Members) != 0 || g.Name != "Support Europe" {
			t.Fatalf("group %+v", g)
		}
		res = admin.admGet("/admin/groups")
		admHas(t, res, "Support Europe", "acct:C1")

		// Accounts: create, search, move.
		res = admin.admPost("/admin/accounts", url.Values{"id": {"C1-ST2"}, "name": {"Second Sold-To"}, "kind": {"sold_to"}, "parent": {"C1"}})
		admStatus(t, res, 200)
		admHas(t, res, "The account was created", "Acme Secret Corp")
		res = admin.admPost("/admin/accounts", url.Values{"id": {"C1-ST2"}})
		admStatus(t, res, 409)
		res = admin.admPost("/admin/accounts", url.Values{"id": {"C9"}, "parent": {"NOPE"}})
		admStatus(t, res, 400)
		admHas(t, res, `id="acc-parent-err"`)
		res = admin.admGet("/admin/accounts")
		admHas(t, res, "Second Sold-To", "Globex")
		res = admin.admGet("/admin/accounts?q=second")
		admHas(t, res, "Second Sold-To", "Acme Secret Corp")
		admLacks(t, res, "Globex")
		res = admin.admPost("/admin/accounts/C1", url.Values{"confirm": {"yes"}, "name": {"Acme"}, "kind": {"customer"}, "parent": {"C1-ST2"}, "inherit": {"on"}})
		admStatus(t, res, 400)
		admHas(t, res, "cycle")
	})
}
