package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The console's user picker, search and names (portal.md §2, §4, §5).

// pickedUsers decodes the picker's JSON.
func pickedUsers(t *testing.T, r response) []map[string]string {
	t.Helper()
	var out struct {
		Users []map[string]string `json:"users"`
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatalf("picker answer is not its JSON: %v: %s", err, r.body)
	}
	return out.Users
}

// noFollow GETs path with the given header, not following redirects.
func noFollow(t *testing.T, env *testEnv, path, header, value string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", env.srv.URL+path, nil)
	if header != "" {
		req.Header.Set(header, value)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// TestConsoleUserPicker: the JSON finds users by name or email for staff
// only; without JavaScript the Search users button renders the add form
// again as typed with the matches as choices, and posting a choice adds
// the grant (and the member).
func TestConsoleUserPicker(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		admin := env.as("admin")

		// By name, external users only, with the home account's name; an
		// exact email comes first.
		res := admin.admGet("/admin/picker/users?q=secret+person&kind=external")
		admStatus(t, res, 200)
		users := pickedUsers(t, res)
		if len(users) != 5 {
			t.Fatalf("picker found %d users for “secret person”: %v", len(users), users)
		}
		for _, u := range users {
			if u["home_account"] != "C1" || u["home_account_name"] != "Acme Secret Corp" || !strings.HasPrefix(u["name"], "Secret Person") {
				t.Errorf("picked %v", u)
			}
		}
		users = pickedUsers(t, admin.admGet("/admin/picker/users?q=u20%40example.com"))
		if len(users) == 0 || users[0]["id"] != "u20" {
			t.Errorf("an exact email is not first: %v", users)
		}
		if users := pickedUsers(t, admin.admGet("/admin/picker/users?q=admin&kind=external")); len(users) != 0 {
			t.Errorf("kind=external found staff: %v", users)
		}
		if users := pickedUsers(t, admin.admGet("/admin/picker/users?q=")); len(users) != 0 {
			t.Errorf("empty text found %v", users)
		}
		// Auditors read it like every console page; external users (even
		// a customer admin) get the console's 403, a token or no session
		// is sent to sign in.
		admStatus(t, env.as("auditor").admGet("/admin/picker/users?q=u2"), 200)
		admStatus(t, env.as("adm80").admGet("/admin/picker/users?q=u2"), 403)
		for _, h := range [][2]string{{"", ""}, {"Authorization", "Bearer " + env.token}} {
			if r := noFollow(t, env, "/admin/picker/users?q=u2", h[0], h[1]); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
				t.Errorf("%s: status %d to %q, want a redirect to sign in", h[0], r.StatusCode, r.Header.Get("Location"))
			}
		}

		// No JavaScript: the search keeps what was typed and offers the
		// matches; a posted choice adds the grant.
		q := url.Values{"pick": {"1"}, "find": {"u20"}, "role": {"L30"}, "scope": {"account"}, "access": {"read"}, "notes": {"kept notes"}, "days_back": {"30"}}
		res = admin.admGet("/admin/accounts/C1-ST1?" + q.Encode())
		admStatus(t, res, 200)
		admHas(t, res, `name="principal" value="user:u20"`, "Secret Person u20", "u20@example.com", "Acme Secret Corp",
			`<option value="L30" selected>`, `<option value="account" selected>`, `<option value="read" selected>`, ">kept notes</textarea>", `value="30"`,
			`name="find" type="search" value="u20"`, `formmethod="get"`, `src="/static/picker.js"`)
		admAccessible(t, "picker", res.body)
		res = admin.admPost("/admin/accounts/C1-ST1/grants", url.Values{"find": {"u20"}, "principal": {"user:u20"}, "principal_text": {""},
			"role": {"L30"}, "scope": {"account"}, "access": {"read"}, "days_back": {"30"}, "notes": {"kept notes"}, "confirm": {"yes"}})
		admStatus(t, res, 200)
		admHas(t, res, "The grant was added")
		g, err := env.st.GetGrant(ctx, admGrantID(t, env, "user:u20", "C1-ST1"))
		if err != nil || g.Role != "L30" || g.Scope != "account" || g.Access != "read" || g.DaysBack == nil || *g.DaysBack != 30 || g.Notes != "kept notes" {
			t.Fatalf("picked grant %+v %v", g, err)
		}
		// A refused add shows the picked user still picked; a typed value
		// wins over a picked one.
		res = admin.admPost("/admin/accounts/C1-ST1/grants", url.Values{"principal": {"user:u30"}, "role": {"L90"}, "days_back": {"5"}})
		admStatus(t, res, 400)
		admHas(t, res, `value="user:u30" checked`, `id="g-role-err"`)
		res = admin.admPost("/admin/accounts/C1-ST1/grants", url.Values{"principal": {"user:u30"}, "principal_text": {"other@example.com"}, "role": {"L10"}, "confirm": {"yes"}})
		admStatus(t, res, 200)
		admGrantID(t, env, "user:other", "C1-ST1")
		if gs, _, _ := env.st.ListGrants(ctx, store.GrantFilter{Account: "C1-ST1", Principal: "user:u30"}); len(gs) != 0 {
			t.Errorf("the picked user got a grant although a user was typed: %v", gs)
		}

		// The group page picks members the same way.
		if _, _, err := env.st.PutGroup(ctx, store.Write{Actor: "test"}, access.Group{ID: "team", Name: "Team"}); err != nil {
			t.Fatal(err)
		}
		res = admin.admGet("/admin/groups/team?pick=1&find=other")
		admStatus(t, res, 200)
		admHas(t, res, `name="user" value="other"`, "other@example.com")
		admAccessible(t, "group picker", res.body)
		res = admin.admPost("/admin/groups/team/members", url.Values{"user": {"other"}, "user_text": {""}, "confirm": {"yes"}})
		admStatus(t, res, 200)
		admHas(t, res, "The member was added")
		if gr, _ := env.st.GetGroup(ctx, "team"); len(gr.Members) != 1 || gr.Members[0] != "other" {
			t.Errorf("members %v", gr.Members)
		}
	})
}

// TestConsoleSearch: records by number and by a declared text field,
// users by name or email, accounts by name or code.
func TestConsoleSearch(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		admin := env.as("admin")
		res := admin.admGet("/admin/records?type=sales_order&q=SO2")
		admStatus(t, res, 200)
		admHas(t, res, `role="search"`, `href="/admin/records/sales_order/SO2"`, "1 found for “SO2”")
		admLacks(t, res, `href="/admin/records/sales_order/SO1"`)
		res = admin.admGet("/admin/records?type=ticket&q=broken")
		admHas(t, res, `href="/admin/records/ticket/T1"`)
		res = admin.admGet("/admin/records?type=ticket&q=nothing-like-this")
		admHas(t, res, "0 found for", "No records.")
		admLacks(t, res, `href="/admin/records/ticket/T1"`)

		res = admin.admGet("/admin/users?q=secret+person+u3")
		admHas(t, res, `href="/admin/users/u30"`)
		admLacks(t, res, `href="/admin/users/u20"`)
		res = admin.admGet("/admin/users?q=other%40example")
		admHas(t, res, `href="/admin/users/other"`)
		res = admin.admGet("/admin/accounts?q=globex")
		admHas(t, res, `href="/admin/accounts/C2"`)
		admLacks(t, res, `href="/admin/accounts/C1"`)
		res = admin.admGet("/admin/accounts?q=C1-ST")
		admHas(t, res, `href="/admin/accounts/C1-ST1"`, "Acme Sold-To")
	})
}

// TestConsoleShowsNames: the main console pages name accounts (the code
// in small type beside), roles by title, kinds and staff roles by label.
func TestConsoleShowsNames(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		admin := env.as("admin")
		small := func(name, code string) string { return name + `</a> <small class="muted">` + code + `</small>` }
		for path, want := range map[string][]string{
			"/admin/users":                         {small("Acme Secret Corp", "C1"), small("Globex", "C2"), "access manager", "External", "Staff"},
			"/admin/users/u20":                     {"Orders <small class=\"muted\">L20</small>", "this account and its subtree", small("Acme Secret Corp", "C1")},
			"/admin/records?type=sales_order":      {small("Acme Secret Corp", "C1"), small("Acme Sold-To", "C1-ST1"), "Acme Secret Corp <small class=\"muted\">C1</small>"},
			"/admin/records/sales_order/SO1":       {"Acme Secret Corp <small class=\"muted\">C1</small>", "Sales order <small class=\"muted\">sales_order</small>"},
			"/admin/accounts/C1":                   {"Orders <small class=\"muted\">L20</small>", "Customer", "grant of Secret Person u20"},
			"/admin/accounts/C1-ST1":               {`<a href="/admin/accounts/C1">Acme Secret Corp</a>`, "Sold-to"},
			"/admin/check?type=sales_order&id=SO1": {"Acme Secret Corp</a> <small class=\"muted\">C1</small>"},
		} {
			res := admin.admGet(path)
			admStatus(t, res, 200)
			admHas(t, res, want...)
		}
		res := admin.admGet("/admin/users")
		admLacks(t, res, `">C1</a>`)
		// The audit log names the actor and the target user.
		admStatus(t, admin.admPost("/admin/accounts/C2/grants", url.Values{"principal": {"user:u20"}, "role": {"L10"}}), 200)
		res = admin.admGet("/admin/audit")
		admHas(t, res, `admin <small class="muted">user:admin</small>`)
		res = admin.admGet("/admin")
		admHas(t, res, `admin <small class="muted">user:admin</small>`)
	})
}

// TestStaffChangeTheirOwnLanguage: an auditor (read-only staff) switches
// its own language on the profile page (portal.md §1) and nothing else.
func TestStaffChangeTheirOwnLanguage(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		auditor := env.as("auditor")
		res := auditor.admPost("/profile/locale", url.Values{"locale": {"de"}})
		admStatus(t, res, 200)
		if u, err := env.st.GetUser(ctx, "auditor"); err != nil || u.Locale != "de" {
			t.Fatalf("auditor's locale %q %v", u.Locale, err)
		}
		admHas(t, res, `lang="de"`)
		// Its other fields stay out of its reach.
		res = auditor.do("PATCH", "/api/v1/users/auditor", map[string]any{"locale": "zh", "staff_role": "admin"})
		if res.status != http.StatusForbidden {
			t.Fatalf("auditor changed its staff role: %d %s", res.status, res.body)
		}
		res = auditor.do("PATCH", "/api/v1/users/auditor", map[string]any{"locale": "zh"})
		if res.status != http.StatusOK {
			t.Fatalf("auditor's locale via the API: %d %s", res.status, res.body)
		}
	})
}

// TestConsoleDeleteUser: deleting a user asks first and says what it
// loses; a user with a protected grant cannot be deleted.
func TestConsoleDeleteUser(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		admin := env.as("admin")
		res := admin.admGet("/admin/users/u30")
		admHas(t, res, `href="/admin/users/u30?delete=1#delete-user"`)
		admLacks(t, res, `action="/admin/users/u30/delete"`)
		res = admin.admPost("/admin/users/u30/delete", url.Values{})
		admStatus(t, res, 200)
		admHas(t, res, "Delete Secret Person u30?", "It loses these grants at once:", "Orders with Prices on Acme Secret Corp",
			"Its sessions and API tokens end at once", `action="/admin/users/u30/delete"`, `name="confirm" value="yes"`)
		if _, err := env.st.GetUser(ctx, "u30"); err != nil {
			t.Fatalf("deleted without confirmation: %v", err)
		}
		admLacks(t, env.as("auditor").admGet("/admin/users/u30?delete=1"), `action="/admin/users/u30/delete"`)
		res = admin.admPost("/admin/users/u30/delete", url.Values{"confirm": {"yes"}})
		admStatus(t, res, 200)
		admHas(t, res, "The user was deleted.")
		if _, err := env.st.GetUser(ctx, "u30"); access.ErrorCode(err) != access.CodeNotFound {
			t.Fatalf("u30 still there: %v", err)
		}
		if gs, _, _ := env.st.ListGrants(ctx, store.GrantFilter{Principal: "user:u30"}); len(gs) != 0 {
			t.Errorf("grants of a deleted user: %v", gs)
		}
		// The Owner's protected grant: no button, and a forged POST is 409.
		res = admin.admGet("/admin/users/owner?delete=1")
		admHas(t, res, "this user cannot be deleted")
		admLacks(t, res, `action="/admin/users/owner/delete"`)
		res = admin.admPost("/admin/users/owner/delete", url.Values{"confirm": {"yes"}})
		admStatus(t, res, 409)
		// Nobody deletes itself here, not even with a forged POST (the last
		// admin would lock everyone out).
		admLacks(t, admin.admGet("/admin/users/admin?delete=1"), `id="delete-user"`)
		admStatus(t, admin.admPost("/admin/users/admin/delete", url.Values{"confirm": {"yes"}}), 403)
		if _, err := env.st.GetUser(ctx, "admin"); err != nil {
			t.Fatalf("the admin deleted itself: %v", err)
		}
	})
}
