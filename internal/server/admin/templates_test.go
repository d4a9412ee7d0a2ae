package admin

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/i18n"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// TestTemplates renders every console template with the data its handler
// builds, filled so that every branch that reads a field runs: a field a
// template names but the data lacks fails here, not on a staff member's
// screen. The black-box tests of the console live with the server.
func TestTemplates(t *testing.T) {
	rd, err := render.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	pol := policy.Default()
	types := pol.Types()
	if len(types) == 0 {
		t.Fatal("the default policy declares no types")
	}
	typ := types[0]
	now := time.Now().UTC()
	days := 30
	writer := roles{CanWrite: true, IsAdmin: true}
	user := access.User{ID: "u1", Kind: access.KindExternal, Name: "User One", Email: "u1@example.com", HomeAccount: "C1",
		Status: access.StatusActive, Constraints: map[string]map[string][]string{typ.Name: {"status": {"open"}}}}
	acct := access.Account{ID: "C1", Name: "Acme", Kind: "customer", ExternalAccess: true, Inherit: true}
	grant := access.Grant{ID: "g1", Principal: "user:u1", Account: "C1", Role: pol.Roles()[0].Name, Scope: access.ScopeSubtree,
		Access: access.AccessRead, DaysBack: &days, ValidFrom: &now, ValidUntil: &now, Notes: "n"}
	group := store.GroupWithMembers{Group: access.Group{ID: "acct:C1", Name: "Acme users", Account: "C1"}, Members: []string{"u1"}}
	rec := &access.Record{Type: typ.Name, ID: "R1", Owner: "C1", Date: "2026-01-02", Creator: "u1", Parent: &access.Ref{Type: typ.Name, ID: "R0"},
		Attributes: map[string]any{"number": "R1", "lines": []any{map[string]any{"sku": "A"}}}}
	entry := store.AuditEntry{ID: 1, Time: now, Actor: "staff1", Action: "grant.create", Target: "grant:g1", Before: []byte(`{}`), After: []byte(`{"a":1}`)}
	pv := store.PolicyVersion{Version: 2, Source: "roles: []", CreatedBy: "staff1", CreatedAt: now, Policy: pol}
	path := access.PathInfo{Kind: access.PathOwner, Account: "C1", Grant: "g1", Role: "L20", Access: access.AccessRead}
	errs := map[string]string{"account_id": "x", "account_parent": "x", "grant_principal": "x", "grant_role": "x", "grant_scope": "x",
		"grant_access": "x", "grant_days_back": "x", "grant_valid_from": "x", "grant_valid_until": "x", "grant_notes": "x",
		"user_id": "x", "user_email": "x", "user_home_account": "x", "user_staff_role": "x", "user_status": "x", "user_kind": "x",
		"password": "x", "password_confirm": "x", "constraints_" + typ.Name: "x", "group_id": "x", "group_account": "x",
		"group_name": "x", "member_user": "x", "policy_source": "x", "check_type": "x", "check_id": "x", "check_user": "x",
		"check_action": "x", "viewas_user": "x", "audit_since": "x", "audit_until": "x",
		"scim_name": "x", "scim_account": "x", "scim_max_role": "x", "scim_group_roles": "x",
		"review_account": "x", "review_reviewer": "x", "review_due": "x", "review_on_no_answer": "x", "review_schedule": "x"}

	var rolesRows []roleRow
	for _, role := range pol.Roles() {
		row := roleRow{CompiledRole: role, Includes: []string{"L10"}}
		for _, t := range pol.Types() {
			perm := role.Perm(t)
			row.Cells = append(row.Cells, roleCell{Actions: perm.Actions.Names(), Own: perm.Own, Fields: t.FieldNames(perm.Fields)})
		}
		rolesRows = append(rolesRows, row)
	}
	grantRows := []grantRow{{Grant: grant, PrincipalName: "User One", PrincipalURL: "/admin/users/u1", AccountName: "Acme", RoleTitle: "Basic", State: "active", Active: true},
		{Grant: grant, Protected: true, State: "expired"}}
	edit := formOfGrant(grant)

	pages := map[string]any{
		"admin_home": homeData{roles: writer, PolicyVersion: 2, Revision: 7, Recent: []auditRow{{AuditEntry: entry, ActorName: "Admin"}}},
		"admin_accounts": accountsData{roles: writer, Query: "a", Next: "/n", First: "/f", Create: accountForm{ID: "X"},
			Rows: []accountRow{{Account: acct, Path: []access.Account{acct}, Children: []access.Account{acct}, More: 2}, {Account: acct, More: -1}}},
		"admin_account": accountData{roles: writer, Account: acct, Path: []access.Account{acct}, Children: []access.Account{acct}, ChildrenNext: "/c",
			Group: &group, Grants: grantRows, GrantsNext: "/g", Roles: pol.Roles(), DefaultRole: "L10", Add: grantForm{Role: "L10"},
			Edit: &edit, Details: accountForm{ID: "C1"}, RecordsURL: "/admin/records", Self: "/admin/accounts/C1",
			Picker: testPicker("principal", "g-principal"), ParentName: "Acme"},
		"admin_users": usersData{roles: writer, Query: "u", Kind: access.KindExternal, Rows: []access.User{user}, Next: "/n", First: "/f",
			Create: userForm{Kind: access.KindExternal}},
		"admin_user": userData{roles: writer, User: user, Form: userForm{ID: "u1", Kind: access.KindExternal}, Home: &acct,
			Grants: []userGrantRow{{Grant: grant, AccountName: "Acme", Via: "acct:C1", Protected: true}}, MoreGrants: 1, Groups: []groupRef{{ID: "acct:C1", Name: "Acme users"}},
			Constraints: []constraintBox{{Type: typ.Name, Title: render.TypeTitle(typ), T: typ, Text: "number: 1", Summary: "status: open", Choices: []fieldChoices{{"status", []choice{{"open", true}, {"closed", false}}}}}},
			ViewAs:      "/admin/view-as?user=u1", Reach: 1, Self: "/admin/users/u1", Delete: &deletePreview{Protected: true}},
		"admin_groups": groupsData{roles: writer, Account: "C1", Rows: []store.GroupWithMembers{group}, Next: "/n", First: "/f", Create: groupForm{ID: "g"}},
		"admin_group": groupData{roles: writer, Group: group, AccountName: "Acme", Name: "Acme users", Members: []memberRow{{ID: "u1", Known: true}, {ID: "gone"}},
			MembersNext: "/m", Grants: grantRows, GrantsNext: "/g", Self: "/admin/groups/acct:C1", Picker: testPicker("user", "member")},
		"admin_policy": policyData{roles: writer, Version: pv, Types: pol.Types(), Roles: rolesRows, Sharing: pol.Document().SharingRules,
			DefaultGroupRole: "L10", Source: "x", Problems: []policy.Problem{{Message: "bad"}}, Versions: []store.PolicyVersion{pv}, More: 1},
		"admin_policy_version": policyVersionData{roles: writer, Version: pv, Current: true},
		"admin_records": recordsData{roles: writer, Types: types, Type: typ, Query: map[string][]string{"sort": {"id"}}, Items: []*access.Record{rec},
			Columns: []column{{Name: "number", Label: "number", Numeric: true, Restricted: true}}, Next: "/n", First: "/f", Sort: "id",
			SortLinks: map[string]string{"id": "/s"}, Statuses: []string{"open"}, HasStatus: true},
		"admin_record": recordData{roles: writer, Type: typ, Record: rec, Fields: []keyValue{{Key: "number", Value: "R1", Restricted: true}},
			Lines: []render.LineTable{{Name: "lines", Columns: []string{"sku"}, Rows: [][]any{{"A"}}}}, Restricted: []string{"price"},
			OwnerName: "Acme", CreatorName: "User One", ParentURL: "/p", CheckURL: "/c", JSON: "{}"},
		"admin_check": checkData{roles: writer, Types: types, User: "u1", Type: typ.Name, ID: "R1", Action: "read", Subject: &user, Record: rec,
			Checked: true, Paths: []pathView{{Kind: path.Kind, Text: describePath(i18nEN, path)}},
			Reasons:  []reasonView{{Code: access.ReasonOutsideDaysBack, Title: "Outside days back", Message: "M"}},
			DaysBack: []reasonView{{Code: access.ReasonOutsideDaysBack, Title: "Outside days back", Message: "M"}},
			Visible:  []string{"a"}, Hidden: []access.HiddenField{{Field: "price", Reason: "why"}},
			Viewers: []viewerRow{{ID: "u1", Name: "User One", Paths: []pathView{{Kind: path.Kind, Text: "t"}}}}, MoreViewers: 3, RecordURL: "/r"},
		"admin_scim_tokens": scimTokensData{roles: writer, Roles: []render.Choice{{Value: "L20", Label: "L20", Selected: true}},
			Tokens: []scimTokenRow{{SCIMToken: store.SCIMToken{ID: "st_1", Name: "entra", Account: "C1", MaxRole: "L20", CreatedAt: now}, GroupRoles: []string{"Buyers → L10"}}, {}},
			Form:   scimForm{Name: "x", GroupRoles: "Buyers = L10"}, BaseURL: "https://p.example/scim/v2", Secret: "pcscim_x", Created: &store.SCIMToken{Name: "entra"}},
		"admin_viewas": viewAsData{roles: writer, Query: "u", User: "u1", Results: []access.User{user}, Recent: []auditRow{{AuditEntry: entry, TargetName: "User One"}},
			AccountNames: map[string]string{"C1": "Acme"}},
		"admin_reviews": &reviewsData{roles: writer, Reviews: []reviewRow{{Review: store.Review{ID: "rv_1", Account: "C1", Reviewer: "u1", Status: "open", Due: now,
			Counts: store.ReviewCounts{Total: 2, Open: 1, Kept: 1}}, Answered: 1, Repeat: "Every month"}}, Form: reviewForm{Account: "C1", Status: "open"}, Next: "/n"},
		"admin_review": &reviewData{roles: writer, Review: store.Review{ID: "rv_1", Account: "C1", Reviewer: "u1", Status: "open", Due: now, OnNoAnswer: "revoke"},
			People: render.ReviewPeople([]store.ReviewItem{{ID: "1", Kind: "grant", UserID: "u1", Account: "C1", Role: "L20", Reviewer: "staff", DaysBack: &days,
				User: store.ReviewUser{Name: "User One", Status: "active"}}, {ID: "2", Kind: "membership", UserID: "u1", Account: "C1", Role: "L10", Reviewer: "u1"}},
				func(it store.ReviewItem) bool { return it.Reviewer == "staff" }, func(string) string { return "Acme" })},
		"admin_audit": auditData{roles: writer, Actor: "a", Target: "t", Action: "x", Since: "2020-01-01", Until: "2030-01-01",
			Rows: []auditRow{{AuditEntry: entry, BeforeText: "{}", AfterText: "{}"}}, Next: "/n", First: "/f",
			Verify: &store.AuditVerification{OK: false, Entries: 3, FirstBad: 2}},
	}
	me := access.User{ID: "staff1", Kind: access.KindInternal, Name: "Admin", StaffRole: access.StaffAdmin}
	for name, data := range pages {
		for _, ro := range []bool{false, true} {
			if ro {
				data = readOnly(data)
			}
			for _, locale := range []string{"en", "de", "zh"} {
				p := &render.Page{Title: "Accounts", User: &me, Nav: render.AdminNav("accounts"), Errors: errs, Error: "e", Data: data, Locale: locale}
				w := httptest.NewRecorder()
				rd.Render(w, httptest.NewRequest("GET", "/admin", nil), 200, name, p)
				if w.Code != 200 || !strings.Contains(w.Body.String(), "</html>") {
					t.Errorf("%s (read-only %v, %s): status %d\n%.400s", name, ro, locale, w.Code, w.Body.String())
				}
				if locale != "en" {
					if u := render.Untranslated(w.Body.String(), locale); len(u) > 0 {
						t.Errorf("%s (read-only %v) in %s shows English: %q", name, ro, locale, u)
					}
				}
			}
		}
	}
}

// testPicker is a picker after a search, with a picked user and a typed
// value.
func testPicker(field, id string) picker {
	return picker{Field: field, ID: id, Kind: access.KindExternal, Action: "/self#x", TextLabel: "Or type a user id or email", Find: "one",
		Searched: true, Typed: "group:g", Error: "x", Choices: []pickChoice{
			{Value: "user:u1", Name: "User One", Email: "one@example.com", ID: "u1", HomeName: "Acme", Status: access.StatusActive, Checked: true},
			{Value: "user:u2", Name: "User Two", ID: "u2", Status: access.StatusDisabled}}}
}

func i18nEN(id string, args ...any) string { return i18n.T("en", id, args...) }

// readOnly returns data as an auditor sees it (no write forms), for the
// pages whose templates branch on it.
func readOnly(data any) any {
	ro := roles{}
	switch d := data.(type) {
	case homeData:
		d.roles = ro
		return d
	case accountsData:
		d.roles = ro
		return d
	case accountData:
		d.roles = ro
		return d
	case usersData:
		d.roles = ro
		return d
	case userData:
		d.roles = ro
		return d
	case groupsData:
		d.roles = ro
		return d
	case groupData:
		d.roles = ro
		return d
	case policyData:
		d.roles = ro
		return d
	}
	return data
}
