package portal

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// TestTemplatesTakeTheData renders every portal template with the data
// type its handler gives it, so a renamed field fails here and not in a
// browser.
func TestTemplatesTakeTheData(t *testing.T) {
	rd, err := render.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	typ := &policy.Type{Name: "ticket", Title: "Ticket"}
	user := &access.User{ID: "u1", Name: "User One", Email: "u1@example.com"}
	current := &access.AccountAccess{ID: "C1", Name: "Acme", Role: "L20", Access: access.AccessReadWrite}
	row := &companyRow{Grant: access.Grant{ID: "g1", Role: "L20"}, PrincipalName: "Someone"}
	for _, tc := range []struct {
		name string
		data any
		want string
	}{
		{"login", loginData{Email: "a@example.com", Next: "/"}, "a@example.com"},
		{"noaccess", nil, "No access yet"},
		{"portal_home", dashboardData{Home: app.Home{Types: []app.HomeType{{Type: typ}}}, Lists: map[string]string{"ticket": "/a/C1/ticket"}, Base: "/a/C1/"}, `href="/a/C1/ticket"`},
		{"portal_list", listData{Type: typ, Base: "/a/C1/", CanCreate: true, Columns: []column{{Name: "subject", Label: "Subject"}},
			Items: []*access.Record{{Type: "ticket", ID: "T1", Attributes: map[string]any{"subject": "Broken"}}}}, "Broken"},
		{"portal_record", detailData{Type: typ, Record: &access.Record{Type: "ticket", ID: "T1"}, Base: "/a/C1/",
			Fields: []kv{{"subject", "Broken"}}, Lines: []render.LineTable{{Name: "lines", Columns: []string{"sku"}, Rows: [][]any{{"A"}}}}, CanEdit: true}, "Broken"},
		{"portal_form", recordFormData{Type: typ, Base: "/a/C1/", Action: "/a/C1/ticket/new", Submit: "Create ticket",
			Accounts: []render.Choice{{Value: "C1", Label: "Acme"}}, Fields: []recordInput{{Name: "type", Label: "Type", Kind: "select",
				Options: []render.Choice{{Value: "incident", Label: "incident"}}}}}, "Create ticket"},
		{"portal_users", &companyData{Mode: "list", Rows: []companyRow{*row}, Principals: []render.Choice{{Value: "user:x", Label: "X"}},
			Accounts: []render.Choice{{Value: "C1", Label: "Acme"}}}, "Someone"},
		{"portal_users", &companyData{Mode: "change", Row: row}, "Change access"},
		{"portal_users", &companyData{Mode: "revoke", Row: row}, "Revoke access"},
		{"profile", profileData{Home: "Acme", StaffRole: ""}, "Change your password"},
		{"invite", credentialData{Action: "/invite/x", Email: "new@example.com"}, "new@example.com"},
		{"reset", credentialData{Action: "/reset/x", Email: "u1@example.com"}, "Set the new password"},
		{"forgot", forgotData{}, "Send the link"},
		{"forgot", forgotData{Email: "a@example.com", Sent: true}, "Check your mail"},
		{"link_gone", nil, "no longer works"},
		{"portal_reviews", &reviewsData{Self: "/a/C1/reviews", Due: "2031-01-31", Reviews: []reviewRow{{Review: store.Review{ID: "rv_1", Status: "open",
			Counts: store.ReviewCounts{Total: 3, Open: 1}}, Link: "/reviews/rv_1", Answered: 2}}}, `href="/reviews/rv_1"`},
		{"portal_review", &reviewData{Review: store.Review{ID: "rv_1", Status: "open", OnNoAnswer: "revoke", Counts: store.ReviewCounts{Total: 1, Open: 1}},
			AccountName: "Acme", Self: "/reviews/rv_1", Open: 1, People: render.ReviewPeople([]store.ReviewItem{{ID: "1", Kind: "grant", UserID: "u2",
				Account: "C1", Role: "L20", Reviewer: "u1", User: store.ReviewUser{Name: "Ann Buyer", Email: "ann@example.com", Status: "active"}}},
				func(store.ReviewItem) bool { return true }, func(string) string { return "Acme" })}, "Ann Buyer"},
	} {
		w := httptest.NewRecorder()
		p := &render.Page{Title: tc.name, User: user, Current: current, Errors: map[string]string{}, Data: tc.data}
		rd.Render(w, httptest.NewRequest("GET", "/", nil), http.StatusOK, tc.name, p)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s: %d, want %q in: %s", tc.name, w.Code, tc.want, w.Body.String())
		}
		// The same page in German and Chinese shows no English text of the
		// catalog (a text that bypasses it).
		for _, locale := range []string{"de", "zh"} {
			w := httptest.NewRecorder()
			p := &render.Page{Title: "Profile", User: user, Current: current, Errors: map[string]string{"email": "Enter a number."},
				Flash: "Your changes were saved.", Data: tc.data, Locale: locale,
				Nav: []render.NavItem{{Label: "Company users", Href: "/a/C1/users"}, {Type: typ, Href: "/a/C1/ticket"}}}
			rd.Render(w, httptest.NewRequest("GET", "/", nil), http.StatusOK, tc.name, p)
			if u := render.Untranslated(w.Body.String(), locale); len(u) > 0 {
				t.Errorf("%s in %s shows English: %q", tc.name, locale, u)
			}
		}
	}
}
