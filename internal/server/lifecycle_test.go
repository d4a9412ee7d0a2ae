package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// lifecycleScenarios are the API twins of the delegated lifecycle of
// identity.md §5: a customer admin (adm80, L80 on C1) changes the
// memberships of its account group and the status of its colleagues, and
// is refused, with answers that reveal nothing, for another customer's
// user (other, at C2), the Owner and itself.
var lifecycleScenarios = []scenarioGroup{
	{name: "account group members", scenarios: []scenario{
		{name: "adds a colleague to its account group", as: "adm80", method: "PUT", path: "/api/v1/accounts/C1/members/u20", status: 204},
		{name: "twice changes nothing", as: "adm80", method: "PUT", path: "/api/v1/accounts/C1/members/u20", status: 204},
		{name: "the colleague is a member", as: "token", method: "GET", path: "/api/v1/groups/acct:C1", status: 200, contains: []string{`"u20"`}},
		{name: "the change is audited", as: "token", method: "GET", path: "/api/v1/audit?actor=adm80", status: 200,
			contains: []string{`"member.add"`, `"group:acct:C1"`}},
		{name: "removes it again", as: "adm80", method: "DELETE", path: "/api/v1/accounts/C1/members/u20", status: 204},
		{name: "not another customer's user", as: "adm80", method: "PUT", path: "/api/v1/accounts/C1/members/other", status: 403, code: "forbidden",
			contains: []string{"user other is outside your reach"}, notContains: []string{"C2", "Globex"}},
		{name: "an unknown user: the same answer", as: "adm80", method: "PUT", path: "/api/v1/accounts/C1/members/nobody", status: 403, code: "forbidden",
			contains: []string{"user nobody is outside your reach"}},
		{name: "not another customer's account group", as: "adm80", method: "PUT", path: "/api/v1/accounts/C2/members/u20", status: 403, code: "forbidden"},
		{name: "an unknown account: the same answer", as: "adm80", method: "PUT", path: "/api/v1/accounts/NOPE/members/u20", status: 403, code: "forbidden"},
		{name: "not itself", as: "adm80", method: "PUT", path: "/api/v1/accounts/C1/members/adm80", status: 403, code: "forbidden"},
		{name: "not without manage_users", as: "u30", method: "PUT", path: "/api/v1/accounts/C1/members/u20", status: 403, code: "forbidden"},
		{name: "not an auditor", as: "auditor", method: "PUT", path: "/api/v1/accounts/C1/members/u20", status: 403, code: "forbidden"},
		{name: "staff add anyone", as: "token", method: "PUT", path: "/api/v1/accounts/C2/members/u20", status: 204},
		{name: "staff: no such account group", as: "token", method: "PUT", path: "/api/v1/accounts/NOPE/members/u20", status: 404, code: "not_found"},
		{name: "a group with access beyond its reach", as: "token", method: "POST", path: "/api/v1/grants",
			body: map[string]any{"principal": "group:acct:C1", "account": "C2", "role": "L10"}, status: 201},
		{name: "is no longer the admin's to change", as: "adm80", method: "PUT", path: "/api/v1/accounts/C1/members/u30", status: 403, code: "forbidden",
			contains: []string{"outside your reach"}, notContains: []string{"Globex"}},
	}},
	{name: "customer admin and status", scenarios: []scenario{
		{name: "deactivates a colleague", as: "adm80", method: "PATCH", path: "/api/v1/users/u20", body: map[string]any{"status": "disabled"},
			status: 200, contains: []string{`"status":"disabled"`}},
		{name: "reactivates it", as: "adm80", method: "PATCH", path: "/api/v1/users/u20", body: map[string]any{"status": "active"},
			status: 200, contains: []string{`"status":"active"`}},
		{name: "not the Owner (a grant above its level)", as: "adm80", method: "PATCH", path: "/api/v1/users/owner", body: map[string]any{"status": "disabled"},
			status: 403, code: "forbidden"},
		{name: "not itself", as: "adm80", method: "PATCH", path: "/api/v1/users/adm80", body: map[string]any{"status": "disabled"},
			status: 403, code: "forbidden"},
		{name: "not another customer's user", as: "adm80", method: "PATCH", path: "/api/v1/users/other", body: map[string]any{"status": "disabled"},
			status: 404, code: "not_found", notContains: []string{"C2", "Globex"}},
		{name: "staff give a colleague access elsewhere", as: "token", method: "POST", path: "/api/v1/grants",
			body: map[string]any{"principal": "user:u10", "account": "C2", "role": "L10"}, status: 201},
		{name: "not a user with a grant outside its reach", as: "adm80", method: "PATCH", path: "/api/v1/users/u10", body: map[string]any{"status": "disabled"},
			status: 403, code: "forbidden"},
	}},
}

func TestLifecycleScenarios(t *testing.T) {
	for _, g := range lifecycleScenarios {
		t.Run(g.name, func(t *testing.T) {
			backends(t, func(t *testing.T, env *testEnv) {
				runScenarios(t, env, g.scenarios)
			})
		})
	}
}

// personRowOf returns the row of user id in the people table of a Company
// users page.
func personRowOf(t *testing.T, p htmlPage, id string) string {
	t.Helper()
	_, after, ok := strings.Cut(p.body, `<tr id="person-`+id+`">`)
	if !ok {
		t.Fatalf("no row of %s on %s: %s", id, p.url, p.body)
	}
	row, _, _ := strings.Cut(after, "</tr>")
	return row
}

func (env *testEnv) statusOf(id string) string {
	env.t.Helper()
	u, err := env.st.GetUser(context.Background(), id)
	if err != nil {
		env.t.Fatal(err)
	}
	return u.Status
}

func (env *testEnv) members(group string) []string {
	env.t.Helper()
	g, err := env.st.GetGroup(context.Background(), group)
	if err != nil {
		env.t.Fatal(err)
	}
	return g.Members
}

func TestPortalCompanyPeople(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		// grp reaches C1 only through the account group; u10 has, from
		// staff, a grant at another customer.
		env.addUser("grp", "C1")
		if _, err := env.st.AddMember(ctx, store.Write{Actor: "test"}, "acct:C1", "grp"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := env.st.CreateGrant(ctx, store.Write{Actor: "test"}, access.Grant{Principal: "user:u10", Account: "C2", Role: "L10",
			Scope: access.ScopeSubtree, Access: access.AccessReadWrite}); err != nil {
			t.Fatal(err)
		}
		b := env.browse("adm80")
		page := b.get("/a/C1/users")
		page.must(t, http.StatusOK, `<h2 id="people">People</h2>`, "Person grp", "grp@example.com")
		page.mustNot(t, "other@example.com", "Globex", `id="person-other"`)
		grp := personRowOf(t, page, "grp")
		for _, s := range []string{"Acme Secret Corp external users (L10)", "never", `value="disabled"`, "Send password reset"} {
			if !strings.Contains(grp, s) {
				t.Fatalf("row of grp lacks %q: %s", s, grp)
			}
		}
		if strings.Contains(personRowOf(t, page, "adm80"), "never") {
			t.Fatalf("adm80 signed in, its row says: %s", personRowOf(t, page, "adm80"))
		}
		// Nothing is offered that the engine would refuse.
		for id, why := range map[string]string{"owner": "has access you do not administer", "u10": "and access you do not administer", "adm80": "you"} {
			row := personRowOf(t, page, id)
			if strings.Contains(row, `value="disabled"`) || strings.Contains(row, "Send password reset") || !strings.Contains(row, why) {
				t.Fatalf("row of %s offers a status change or lacks %q: %s", id, why, row)
			}
		}
		if row := personRowOf(t, page, "u10"); strings.Contains(row, "Globex") || strings.Contains(row, "C2") {
			t.Fatalf("row of u10 names the other customer: %s", row)
		}

		// Deactivate and reactivate a colleague.
		b.post("/a/C1/users/status", url.Values{"confirm": {"yes"}, "user": {"u20"}, "status": {"disabled"}}).must(t, http.StatusOK, "The user was deactivated")
		if s := env.statusOf("u20"); s != access.StatusDisabled {
			t.Fatalf("u20 is %s", s)
		}
		page = b.get("/a/C1/users")
		if row := personRowOf(t, page, "u20"); !strings.Contains(row, "deactivated") || !strings.Contains(row, `value="active"`) {
			t.Fatalf("row of deactivated u20: %s", row)
		}
		b.post("/a/C1/users/status", url.Values{"confirm": {"yes"}, "user": {"u20"}, "status": {"active"}}).must(t, http.StatusOK, "The user was reactivated")
		if s := env.statusOf("u20"); s != access.StatusActive {
			t.Fatalf("u20 is %s", s)
		}
		// Forged: the Owner, a user with a grant elsewhere, itself, another
		// customer's user (the same answer as an unknown one).
		b.post("/a/C1/users/status", url.Values{"confirm": {"yes"}, "user": {"owner"}, "status": {"disabled"}}).must(t, http.StatusForbidden)
		b.post("/a/C1/users/status", url.Values{"confirm": {"yes"}, "user": {"u10"}, "status": {"disabled"}}).must(t, http.StatusForbidden)
		b.post("/a/C1/users/status", url.Values{"confirm": {"yes"}, "user": {"adm80"}, "status": {"disabled"}}).must(t, http.StatusForbidden)
		other := b.post("/a/C1/users/status", url.Values{"confirm": {"yes"}, "user": {"other"}, "status": {"disabled"}})
		other.must(t, http.StatusNotFound, "user other not found")
		other.mustNot(t, "Globex", "other@example.com")
		b.post("/a/C1/users/status", url.Values{"confirm": {"yes"}, "user": {"nobody"}, "status": {"disabled"}}).must(t, http.StatusNotFound, "user nobody not found")
		for _, id := range []string{"owner", "u10", "adm80", "other"} {
			if s := env.statusOf(id); s != access.StatusActive {
				t.Fatalf("forged deactivation of %s: %s", id, s)
			}
		}

		// A password reset: sent for a colleague, refused for the Owner and
		// another customer's user.
		b.post("/a/C1/users/reset", url.Values{"user": {"u30"}}).must(t, http.StatusOK, "A password reset link was sent")
		msgs, _, err := env.st.ListOutbox(ctx, store.OutboxFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		resets := 0
		for _, m := range msgs {
			if m.Kind == "password_reset" && m.To == "u30@example.com" {
				resets++
			}
		}
		if resets != 1 {
			t.Fatalf("%d reset messages for u30", resets)
		}
		b.post("/a/C1/users/reset", url.Values{"user": {"owner"}}).must(t, http.StatusForbidden)
		b.post("/a/C1/users/reset", url.Values{"user": {"other"}}).must(t, http.StatusNotFound)

		// Account group membership.
		page = b.get("/a/C1/users")
		if row := personRowOf(t, page, "u20"); !strings.Contains(row, "Add to group") || !strings.Contains(row, `<option value="C1">`) {
			t.Fatalf("row of u20 offers no account group: %s", row)
		}
		b.post("/a/C1/users/groups", url.Values{"confirm": {"yes"}, "do": {"add"}, "user": {"u20"}, "account": {"C1"}}).must(t, http.StatusOK, "added to the account group")
		if m := env.members("acct:C1"); !strings.Contains(strings.Join(m, ","), "u20") {
			t.Fatalf("acct:C1 members %v", m)
		}
		if row := personRowOf(t, b.get("/a/C1/users"), "u20"); !strings.Contains(row, `name="do" value="remove"`) {
			t.Fatalf("row of member u20: %s", row)
		}
		b.post("/a/C1/users/groups", url.Values{"confirm": {"yes"}, "do": {"remove"}, "user": {"u20"}, "account": {"C1"}}).must(t, http.StatusOK, "removed from the account group")
		b.post("/a/C1/users/groups", url.Values{"confirm": {"yes"}, "do": {"add"}, "user": {"u20"}, "account": {"C2"}}).must(t, http.StatusForbidden)
		forged := b.post("/a/C1/users/groups", url.Values{"confirm": {"yes"}, "do": {"add"}, "user": {"other"}, "account": {"C1"}})
		forged.must(t, http.StatusForbidden, "user other is outside your reach")
		forged.mustNot(t, "Globex")
		if m := env.members("acct:C2"); len(m) != 0 {
			t.Fatalf("forged: acct:C2 members %v", m)
		}

		// Invitations: pending shows with resend and revoke; another
		// customer's invitation is not there.
		b.post("/a/C1/users/add", url.Values{"invite_email": {"fresh@example.com"}, "invite_name": {"Fresh Person"}, "role": {"L20"}}).
			must(t, http.StatusOK, "User invited")
		fresh, err := env.st.GetUserByEmail(ctx, "fresh@example.com")
		if err != nil {
			t.Fatal(err)
		}
		page = b.get("/a/C1/users")
		row := personRowOf(t, page, fresh.ID)
		if !strings.Contains(row, "invitation pending until") || !strings.Contains(row, "Resend invitation") || !strings.Contains(row, "Revoke invitation") {
			t.Fatalf("row of the invited user: %s", row)
		}
		invs, _, err := env.st.ListInvitations(ctx, store.InvitationFilter{UserID: fresh.ID, Limit: 10})
		if err != nil || len(invs) != 1 {
			t.Fatalf("invitations %v %v", invs, err)
		}
		b.post("/a/C1/users/invitation", url.Values{"do": {"resend"}, "invitation": {invs[0].ID}}).must(t, http.StatusOK, "sent again")
		b.post("/a/C1/users/invitation", url.Values{"do": {"revoke"}, "invitation": {invs[0].ID}}).must(t, http.StatusOK, "was revoked")
		if row := personRowOf(t, b.get("/a/C1/users"), fresh.ID); strings.Contains(row, "Revoke invitation") {
			t.Fatalf("a revoked invitation is offered: %s", row)
		}
		res := env.bearer().do("POST", "/api/v1/invitations", map[string]any{"email": "c2person@example.com", "home_account": "C2"})
		if res.status != http.StatusCreated {
			t.Fatalf("staff invitation at C2: %d %s", res.status, res.body)
		}
		c2inv, _ := res.json(t)["id"].(string)
		b.post("/a/C1/users/invitation", url.Values{"do": {"resend"}, "invitation": {c2inv}}).must(t, http.StatusNotFound)
		b.get("/a/C1/users").mustNot(t, "c2person@example.com")

		// Staff viewing the portal as the admin see the people, act on none.
		staff := env.browse("admin")
		as := staff.get("/admin/view-as/adm80/a/C1/users")
		as.must(t, http.StatusOK, "Person grp", "view only")
		as.mustNot(t, `action="/admin/view-as/adm80/a/C1/users/status"`)

		// A group with a grant beyond the admin's reach is not offered and
		// not changed.
		if _, _, err := env.st.CreateGrant(ctx, store.Write{Actor: "test"}, access.Grant{Principal: "group:acct:C1", Account: "C2", Role: "L10",
			Scope: access.ScopeSubtree, Access: access.AccessReadWrite}); err != nil {
			t.Fatal(err)
		}
		page = b.get("/a/C1/users")
		if row := personRowOf(t, page, "u20"); strings.Contains(row, "Add to group") {
			t.Fatalf("a group beyond reach is offered: %s", row)
		}
		if row := personRowOf(t, page, "grp"); strings.Contains(row, `value="remove"`) || strings.Contains(row, `value="disabled"`) {
			t.Fatalf("a member of a group beyond reach can be changed: %s", row)
		}
		b.post("/a/C1/users/groups", url.Values{"confirm": {"yes"}, "do": {"add"}, "user": {"u20"}, "account": {"C1"}}).must(t, http.StatusForbidden, "outside your reach")
		b.post("/a/C1/users/groups", url.Values{"confirm": {"yes"}, "do": {"remove"}, "user": {"grp"}, "account": {"C1"}}).must(t, http.StatusForbidden)
	})
}

func TestPortalCompanyPeople_CSV(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		b := env.browse("adm80")
		b.get("/a/C1/users").must(t, http.StatusOK, `<h2 id="invite-csv">Invite from a CSV</h2>`, `id="csv_file"`)
		bad := "email,name,role,days_back\nnew1@example.com,New One,L20,30\nnot-an-email,Bad,L20,\nx@example.com,X,L90,\nother@example.com,O,L10,\n"
		p := b.post("/a/C1/users/csv", url.Values{"step": {"preview"}, "csv": {bad}})
		p.must(t, http.StatusOK, "fix the lines with problems; nothing was sent", "New One", "cannot be invited here")
		p.mustNot(t, "Send 4 invitations", "Globex", `"other"`)
		// Sending a CSV with problems sends nothing.
		b.post("/a/C1/users/csv", url.Values{"step": {"send"}, "csv": {bad}}).must(t, http.StatusOK, "nothing was sent")
		if _, err := env.st.GetUserByEmail(ctx, "new1@example.com"); access.ErrorCode(err) != access.CodeNotFound {
			t.Fatalf("a CSV with problems created a user: %v", err)
		}
		good := "new1@example.com,New One,L20,30\nnew2@example.com,New Two,L10,\n"
		p = b.post("/a/C1/users/csv", url.Values{"step": {"preview"}, "csv": {good}, "locale": {"de"}})
		p.must(t, http.StatusOK, "every line is fine", "Send 2 invitations")
		if _, err := env.st.GetUserByEmail(ctx, "new1@example.com"); access.ErrorCode(err) != access.CodeNotFound {
			t.Fatalf("a preview created a user: %v", err)
		}
		b.post("/a/C1/users/csv", url.Values{"step": {"send"}, "csv": {good}, "locale": {"de"}}).must(t, http.StatusOK, "The invitations were sent.")
		for _, email := range []string{"new1@example.com", "new2@example.com"} {
			u, err := env.st.GetUserByEmail(ctx, email)
			if err != nil || u.Status != access.StatusInvited || u.HomeAccount != "C1" {
				t.Fatalf("%s: %+v %v", email, u, err)
			}
		}
		// Without manage_users there is no CSV either.
		env.browse("u30").post("/a/C1/users/csv", url.Values{"step": {"send"}, "csv": {"z@example.com,Z,L10,"}}).must(t, http.StatusForbidden)
	})
}
