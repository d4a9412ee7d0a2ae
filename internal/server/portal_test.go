package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// browser is a cookie-jar client that uses the web pages as a browser
// without JavaScript does: GET pages, POST urlencoded forms, follow
// redirects. Go's client sends no Origin or Sec-Fetch-Site header, which
// http.CrossOriginProtection lets through as a same-origin request.
type browser struct {
	env *testEnv
	hc  *http.Client
}

// htmlPage is a fetched page.
type htmlPage struct {
	status int
	url    string // after redirects
	body   string
}

// browse signs in through the sign-in form.
func (env *testEnv) browse(user string) *browser {
	env.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{env: env, hc: &http.Client{Jar: jar}}
	p := b.post("/login", url.Values{"email": {user + "@example.com"}, "password": {password}, "next": {"/"}})
	if p.status != http.StatusOK || strings.Contains(p.url, "/login") {
		env.t.Fatalf("sign in %s: %d %s", user, p.status, p.url)
	}
	return b
}

func (b *browser) get(path string) htmlPage {
	b.env.t.Helper()
	res, err := b.hc.Get(b.env.srv.URL + path)
	if err != nil {
		b.env.t.Fatal(err)
	}
	return readPage(b.env.t, res)
}

func (b *browser) post(path string, form url.Values) htmlPage {
	b.env.t.Helper()
	res, err := b.hc.PostForm(b.env.srv.URL+path, form)
	if err != nil {
		b.env.t.Fatal(err)
	}
	return readPage(b.env.t, res)
}

func readPage(t *testing.T, res *http.Response) htmlPage {
	t.Helper()
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return htmlPage{status: res.StatusCode, url: res.Request.URL.Path + "?" + res.Request.URL.RawQuery, body: string(data)}
}

// must fails unless the page has status and holds every string.
func (p htmlPage) must(t *testing.T, status int, contains ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d (at %s): %s", p.status, status, p.url, p.body)
	}
	for _, s := range contains {
		if !strings.Contains(p.body, s) {
			t.Fatalf("page %s lacks %q: %s", p.url, s, p.body)
		}
	}
}

// mustNot fails when the page holds any of the strings.
func (p htmlPage) mustNot(t *testing.T, strs ...string) {
	t.Helper()
	for _, s := range strs {
		if strings.Contains(p.body, s) {
			t.Fatalf("page %s holds %q: %s", p.url, s, p.body)
		}
	}
}

// selectOptions returns the option values of the <select> with the given
// name.
func selectOptions(t *testing.T, body, name string) []string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<select[^>]*name="` + regexp.QuoteMeta(name) + `"[^>]*>(.*?)</select>`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no select %s in: %s", name, body)
	}
	var out []string
	for _, o := range regexp.MustCompile(`<option value="([^"]*)"`).FindAllStringSubmatch(m[1], -1) {
		if o[1] != "" {
			out = append(out, o[1])
		}
	}
	return out
}

// countTickets counts the stored tickets, through the admin's API token.
func (env *testEnv) countTickets() int {
	env.t.Helper()
	res := env.bearer().do("GET", "/api/v1/records/ticket?limit=500", nil)
	items, ok := res.json(env.t)["items"].([]any)
	if res.status != http.StatusOK || !ok {
		env.t.Fatalf("list tickets: %d %s", res.status, res.body)
	}
	return len(items)
}

// constrain sets a user's ticket constraints.
func (env *testEnv) constrain(id string, c map[string]map[string][]string) {
	env.t.Helper()
	ctx := context.Background()
	u, err := env.st.GetUser(ctx, id)
	if err != nil {
		env.t.Fatal(err)
	}
	u.Constraints = c
	if _, _, err := env.st.PutUser(ctx, store.Write{Actor: "test"}, u); err != nil {
		env.t.Fatal(err)
	}
}

func TestPortalNewTicket(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		env.constrain("u10", map[string]map[string][]string{"ticket": {
			"type": {"incident", "question"}, "status": {"new"}, "responsible": {"group:support-eu", "user:agent7"}}})
		b := env.browse("u10")
		form := b.get("/a/C1/ticket/new")
		form.must(t, http.StatusOK, `<label for="f-title">`, `<textarea id="f-description" name="description"`, "Set when created", "TK-… (assigned when created)")
		form.mustNot(t, `name="created"`, `name="number"`)
		if got := selectOptions(t, form.body, "type"); strings.Join(got, ",") != "incident,question" {
			t.Fatalf("type choices %v", got)
		}
		if got := selectOptions(t, form.body, "status"); strings.Join(got, ",") != "new" {
			t.Fatalf("status choices %v", got)
		}
		if got := selectOptions(t, form.body, "responsible"); strings.Join(got, ",") != "group:support-eu,user:agent7" {
			t.Fatalf("responsible choices %v", got)
		}
		// u10 may create under C1 and its sold-to: the account choice.
		if got := selectOptions(t, form.body, "owner"); strings.Join(got, ",") != "C1,C1-ST1" {
			t.Fatalf("account choices %v", got)
		}

		before := env.countTickets()
		bad := b.post("/a/C1/ticket/new", url.Values{"owner": {"C1"}, "title": {"Forged"}, "type": {"complaint"}, "status": {"new"}})
		bad.must(t, http.StatusForbidden, `id="f-type-error"`, "attribute type may only be one of: incident, question", `aria-invalid="true"`)
		if n := env.countTickets(); n != before {
			t.Fatalf("a refused ticket was stored: %d tickets, had %d", n, before)
		}

		// A forged created date or number is not an input: never read.
		ok := b.post("/a/C1/ticket/new", url.Values{"owner": {"C1-ST1"}, "title": {"Pump leaks"}, "description": {"It drips."}, "type": {"incident"}, "status": {"new"},
			"responsible": {"group:support-eu"}, "created": {"2026-01-05"}, "number": {"TK-1"}})
		ok.must(t, http.StatusOK, "Pump leaks", "It drips.", `<p class="flash">Created.</p>`)
		if !strings.Contains(ok.url, "/a/C1/ticket/TK-1000") {
			t.Fatalf("redirected to %s", ok.url)
		}
		id := strings.TrimSuffix(strings.TrimPrefix(ok.url, "/a/C1/ticket/"), "?done=created")
		rec, err := env.st.GetRecord(context.Background(), "ticket", id)
		if err != nil {
			t.Fatal(err)
		}
		today := time.Now().UTC().Format(time.DateOnly)
		if rec.Attributes["number"] != id || rec.Attributes["created"] != today || rec.Date != today || rec.Attributes["site"] != "C1-ST1" {
			t.Fatalf("stored %s: date %s, %v", id, rec.Date, rec.Attributes)
		}
		list := b.get("/a/C1/ticket")
		list.must(t, http.StatusOK, "Pump leaks")

		// Read-only sites are never offered, and a forged one is refused.
		env.addUser("site", "C1")
		st1 := access.Account{ID: "C1-ST1", Name: "Acme Sold-To", Kind: "sold_to", Parent: "C1", Inherit: true, ExternalAccess: true}
		if _, _, err := env.st.PutAccount(context.Background(), store.Write{Actor: "test"}, st1); err != nil {
			t.Fatal(err)
		}
		for _, g := range []access.Grant{
			{Principal: "user:site", Account: "C1", Role: "L10", Scope: access.ScopeAccount, Access: access.AccessReadWrite},
			{Principal: "user:site", Account: "C1-ST1", Role: "L10", Scope: access.ScopeSubtree, Access: access.AccessRead},
		} {
			if _, _, err := env.st.CreateGrant(context.Background(), store.Write{Actor: "test"}, g); err != nil {
				t.Fatal(err)
			}
		}
		sb := env.browse("site")
		sf := sb.get("/a/C1/ticket/new")
		sf.must(t, http.StatusOK, `name="title"`)
		sf.mustNot(t, `name="owner"`) // C1 is the one writable site: no choice
		sb.get("/a/C1-ST1/ticket/new").must(t, http.StatusForbidden)
		before = env.countTickets()
		sb.post("/a/C1/ticket/new", url.Values{"owner": {"C1-ST1"}, "title": {"Forged site"}}).
			must(t, http.StatusForbidden, "you may not create ticket records under account C1-ST1")
		if env.countTickets() != before {
			t.Fatal("a ticket was created on a read-only site")
		}
	})
}

// grantsOf lists a principal's grants from the store.
func (env *testEnv) grantsOf(principal string) []access.Grant {
	env.t.Helper()
	gs, _, err := env.st.ListGrants(context.Background(), store.GrantFilter{Principal: principal, Limit: 100})
	if err != nil {
		env.t.Fatal(err)
	}
	return gs
}

// addUser stores an external user homed in home, with the test password.
func (env *testEnv) addUser(id, home string) {
	env.t.Helper()
	ctx := context.Background()
	u := access.User{ID: id, Kind: access.KindExternal, Name: "Person " + id, Email: id + "@example.com", HomeAccount: home, Status: access.StatusActive}
	if _, _, err := env.st.PutUser(ctx, store.Write{Actor: "test"}, u); err != nil {
		env.t.Fatal(err)
	}
	if _, err := env.st.SetPassword(ctx, store.Write{Actor: "test"}, id, hash); err != nil {
		env.t.Fatal(err)
	}
}

func TestPortalEditTicket(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		env.constrain("u10", map[string]map[string][]string{"ticket": {"status": {"new", "closed"}}})
		b := env.browse("u10")
		form := b.get("/a/C1/ticket/T1/edit")
		form.must(t, http.StatusOK, `value="Broken"`, `<label for="f-title">`)
		if got := selectOptions(t, form.body, "status"); strings.Join(got, ",") != "new,closed" {
			t.Fatalf("status choices %v", got)
		}
		// A stored value outside the constraints stays selectable.
		if got := selectOptions(t, form.body, "type"); strings.Join(got, ",") != "incident,question,request,complaint" {
			t.Fatalf("type choices %v", got)
		}

		bad := b.post("/a/C1/ticket/T1/edit", url.Values{"title": {"Broken"}, "status": {"in_progress"}})
		bad.must(t, http.StatusForbidden, `id="f-status-error"`, "attribute status may only be one of: new, closed")

		ok := b.post("/a/C1/ticket/T1/edit", url.Values{"title": {"Broken pump"}, "status": {"closed"}, "type": {"incident"},
			"priority": {""}, "secret": {"forged"}})
		ok.must(t, http.StatusOK, "Broken pump", `<p class="flash">Your changes were saved.</p>`)
		rec, err := env.st.GetRecord(context.Background(), "ticket", "T1")
		if err != nil {
			t.Fatal(err)
		}
		if rec.Attributes["status"] != "closed" || rec.Attributes["title"] != "Broken pump" || rec.Attributes["secret"] != nil {
			t.Fatalf("stored %v", rec.Attributes)
		}

		// The record page names its account, the code beside it (portal.md §2).
		// Its creator by name, as the comments name authors.
		page := b.get("/a/C1/ticket/T1")
		page.must(t, http.StatusOK, `<dt>Account</dt><dd>Acme Secret Corp <small class="muted">C1</small></dd>`, `<dt>Created by</dt><dd>Secret Person u10</dd>`)
		page.mustNot(t, `<dd>u10</dd>`)

		// Unreadable is 404, read-only is 403.
		b.get("/a/C1/sales_order/SO1/edit").must(t, http.StatusNotFound)
		env.browse("u20").get("/a/C1/sales_order/SO1/edit").must(t, http.StatusForbidden)
		env.browse("u20").get("/a/C1/sales_order/SO2/edit").must(t, http.StatusNotFound)
	})
}

func TestPortalL20NeverSeesPrices(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		b := env.browse("u20")
		for _, path := range []string{"/a/C1/sales_order", "/a/C1/sales_order/SO1", "/a/C1-ST1/sales_order/SO3",
			"/a/C1/sales_order/SO1/edit", "/a/C1/sales_order/new", "/a/C1/ticket/new", "/a/C1/ticket/T1/edit"} {
			p := b.get(path)
			if p.status >= 500 {
				t.Fatalf("%s: %d", path, p.status)
			}
			if strings.Contains(strings.ToLower(p.body), "price") {
				t.Fatalf("%s (%d) mentions price: %s", path, p.status, p.body)
			}
		}
		// The L30 user sees them: the check above is not vacuous.
		env.browse("u30").get("/a/C1/sales_order/SO1").must(t, http.StatusOK, "Price")
	})
}

// putInventory stores inventory items (as the ERP would).
func (env *testEnv) putInventory(owner string, items ...[2]string) {
	env.t.Helper()
	for _, it := range items {
		r := &access.Record{Type: "inventory", ID: "inv-" + it[0], Owner: owner,
			Attributes: map[string]any{"sku": it[0], "description": it[1], "warehouse": "Hamburg", "quantity": 40.0}}
		if _, _, err := env.st.PutRecord(context.Background(), store.Write{Actor: "test"}, r); err != nil {
			env.t.Fatal(err)
		}
	}
}

// TestPortalNewOrderForAdmin: the order form offers exactly what a
// customer may write (records.md §1) and builds its lines from the
// inventory the user can see, without JavaScript.
func TestPortalNewOrderForAdmin(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		env.putInventory("C1", [2]string{"P-100", "Pump housing"}, [2]string{"V-200", "Valve, brass"})
		env.putInventory("C2", [2]string{"X-999", "Pump of another customer"})
		b := env.browse("adm80")
		form := b.get("/a/C1/sales_order/new")
		form.must(t, http.StatusOK, `name="po_number"`, `name="requested_date" type="date"`, `<textarea id="f-notes" name="notes"`,
			`<textarea id="f-delivery_address"`, `<label for="f-q">Find items by SKU or name</label>`, "Set when created", "requested", "WEB-…")
		form.mustNot(t, `name="price"`, `name="discount"`, `name="amount"`, `name="status"`, `name="number"`, `name="customer"`, `name="order_date"`)

		// The GET search lists the matching inventory of C1 only.
		found := b.get("/a/C1/sales_order/new?q=pump")
		found.must(t, http.StatusOK, "P-100", "Pump housing", `value="add:P-100"`)
		found.mustNot(t, "X-999", "V-200")

		// Add buttons build the lines; the rest of the form comes back.
		added := b.post("/a/C1/sales_order/new", url.Values{"owner": {"C1"}, "po_number": {"PO-42"}, "q": {"valve"}, "op": {"add:V-200"}})
		added.must(t, http.StatusOK, `value="PO-42"`, `<input type="hidden" name="lines[].sku" value="V-200">`, "Valve, brass",
			`name="lines[].qty" type="number" min="1" step="any" class="qty" value="1"`, `value="add:V-200"`)
		b.post("/a/C1/sales_order/new", url.Values{"op": {"add:X-999"}}).must(t, http.StatusOK, "There is no item X-999 in this account&#39;s inventory.")
		removed := b.post("/a/C1/sales_order/new", url.Values{"lines[].sku": {"V-200", "P-100"}, "lines[].qty": {"1", "2"}, "op": {"remove:0"}})
		removed.must(t, http.StatusOK, `value="P-100"`)
		removed.mustNot(t, `value="V-200"`)

		bad := b.post("/a/C1/sales_order/new", url.Values{"owner": {"C1"}, "lines[].sku": {"P-100"}, "lines[].qty": {"0"}, "op": {"save"}})
		bad.must(t, http.StatusBadRequest, `id="f-lines-error"`, "Line 1: enter a quantity above zero.")
		forged := b.post("/a/C1/sales_order/new", url.Values{"owner": {"C1"}, "lines[].sku": {"X-999"}, "lines[].qty": {"1"}, "op": {"save"}})
		forged.must(t, http.StatusBadRequest, "There is no item X-999")

		// Forged price, status and number inputs are not inputs: never read.
		ok := b.post("/a/C1/sales_order/new", url.Values{"owner": {"C1"}, "po_number": {"PO-42"}, "requested_date": {"2030-03-01"},
			"notes": {"Ring twice"}, "delivery_address": {"Dock 4"}, "lines[].sku": {"P-100", "V-200"}, "lines[].qty": {"3", "1"},
			"lines[].price": {"0.01", "0.01"}, "price": {"0.01"}, "status": {"invoiced"}, "number": {"SO1"}, "op": {"save"}})
		ok.must(t, http.StatusOK, "Created.", "PO-42", "P-100", "Requested")
		if !strings.Contains(ok.url, "/a/C1/sales_order/WEB-1000") {
			t.Fatalf("redirected to %s", ok.url)
		}
		id := strings.TrimSuffix(strings.TrimPrefix(ok.url, "/a/C1/sales_order/"), "?done=created")
		rec, err := env.st.GetRecord(context.Background(), "sales_order", id)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"number": id, "status": "requested", "customer": "C1", "po_number": "PO-42", "requested_date": "2030-03-01",
			"notes": "Ring twice", "delivery_address": "Dock 4", "order_date": time.Now().UTC().Format(time.DateOnly),
			"lines": []any{map[string]any{"sku": "P-100", "qty": 3.0}, map[string]any{"sku": "V-200", "qty": 1.0}}}
		if diff := cmp.Diff(want, rec.Attributes); diff != "" {
			t.Fatalf("stored order (-want +got):\n%s", diff)
		}
		// L20 may not create orders.
		env.browse("u20").get("/a/C1/sales_order/new").must(t, http.StatusForbidden)
		env.browse("u20").post("/a/C1/sales_order/new", url.Values{"po_number": {"X"}}).must(t, http.StatusForbidden)
	})
}

func TestPortalCompanyUsers(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		env.addUser("newbie", "C1")
		env.addUser("newbie2", "C1")
		ownerGrant := env.grantsOf("user:owner")[0].ID
		u20Grant := env.grantsOf("user:u20")[0].ID
		b := env.browse("adm80")
		page := b.get("/a/C1/users")
		page.must(t, http.StatusOK, "Secret Person u20", "u20@example.com", "<td>Owner</td>", "Locked", `<label for="grant_role">`,
			"revoke?grant="+u20Grant)
		page.mustNot(t, "revoke?grant="+ownerGrant, "change?grant="+ownerGrant)
		if got := selectOptions(t, page.body, "role"); strings.Join(got, ",") != "L10,L20,L30,L40,L80" {
			t.Fatalf("role choices %v", got)
		}
		if got := selectOptions(t, page.body, "principal"); !strings.Contains(strings.Join(got, ","), "user:newbie") ||
			strings.Contains(strings.Join(got, ","), "user:adm80") {
			t.Fatalf("colleague choices %v", got)
		}

		// Add a colleague with L20.
		added := b.post("/a/C1/users/add", url.Values{"confirm": {"yes"}, "principal": {"user:newbie"}, "role": {"L20"}, "access": {"read_write"},
			"days_back": {"30"}, "valid_from": {""}, "valid_until": {""}, "notes": {"from the portal"}})
		added.must(t, http.StatusOK, "Access added.", "Person newbie", "from the portal")
		if gs := env.grantsOf("user:newbie"); len(gs) != 1 || gs[0].Role != "L20" || gs[0].DaysBack == nil || *gs[0].DaysBack != 30 {
			t.Fatalf("grants of newbie: %+v", gs)
		}

		// A forged L90 is refused by the engine, with its message.
		forged := b.post("/a/C1/users/add", url.Values{"confirm": {"yes"}, "principal": {"user:newbie2"}, "role": {"L90"}})
		forged.must(t, http.StatusForbidden, "may give the role L90", `id="grant_role-error"`)
		if gs := env.grantsOf("user:newbie2"); len(gs) != 0 {
			t.Fatalf("forged L90 stored: %+v", gs)
		}

		// Invite a new user; a refused invitation leaves no user behind.
		inv := b.post("/a/C1/users/add", url.Values{"invite_email": {"fresh@example.com"}, "invite_name": {"Fresh Person"}, "role": {"L20"}})
		inv.must(t, http.StatusOK, "User invited and access added.", "Fresh Person", "invited")
		u, err := env.st.GetUserByEmail(context.Background(), "fresh@example.com")
		if err != nil || u.Status != access.StatusInvited || u.HomeAccount != "C1" || len(env.grantsOf("user:"+u.ID)) != 1 {
			t.Fatalf("invited user %+v %v", u, err)
		}
		b.post("/a/C1/users/add", url.Values{"invite_email": {"owner2@example.com"}, "role": {"L90"}}).must(t, http.StatusForbidden)
		if _, err := env.st.GetUserByEmail(context.Background(), "owner2@example.com"); access.ErrorCode(err) != access.CodeNotFound {
			t.Fatalf("refused invitation left a user: %v", err)
		}
		b.post("/a/C1/users/add", url.Values{"invite_email": {"not-an-email"}, "role": {"L20"}}).must(t, http.StatusBadRequest, `id="invite_email-error"`)

		// Change u20's days back.
		b.get("/a/C1/users/change?grant="+u20Grant).must(t, http.StatusOK, "Change access", `name="days_back"`)
		b.post("/a/C1/users/change", url.Values{"confirm": {"yes"}, "grant": {u20Grant}, "role": {"L20"}, "access": {"read_write"}, "days_back": {"7"},
			"valid_from": {""}, "valid_until": {""}, "notes": {"changed"}}).must(t, http.StatusOK, "Access changed.")
		if gs := env.grantsOf("user:u20"); gs[0].DaysBack == nil || *gs[0].DaysBack != 7 || gs[0].Notes != "changed" {
			t.Fatalf("changed grant %+v", gs[0])
		}
		// Raising above the admin's level is refused.
		b.post("/a/C1/users/change", url.Values{"confirm": {"yes"}, "grant": {u20Grant}, "role": {"L90"}}).must(t, http.StatusBadRequest, `id="grant_role-error"`)

		// Revoke: the box must be ticked; the Owner never goes.
		b.get("/a/C1/users/revoke?grant="+u20Grant).must(t, http.StatusOK, "Revoke access", `name="confirm"`)
		b.post("/a/C1/users/revoke", url.Values{"grant": {u20Grant}}).must(t, http.StatusBadRequest, `id="confirm-error"`)
		b.post("/a/C1/users/revoke", url.Values{"grant": {u20Grant}, "confirm": {"yes"}}).must(t, http.StatusOK, "Access revoked.")
		if gs := env.grantsOf("user:u20"); len(gs) != 0 {
			t.Fatalf("revoked grant stays: %+v", gs)
		}
		b.post("/a/C1/users/revoke", url.Values{"grant": {ownerGrant}, "confirm": {"yes"}}).must(t, http.StatusConflict, "can never be removed")
		if len(env.grantsOf("user:owner")) != 1 {
			t.Fatal("the Owner grant was revoked")
		}
		// Another customer's grant is not there at all.
		other := env.grantsOf("user:other")[0].ID
		b.get("/a/C1/users/change?grant="+other).must(t, http.StatusNotFound)

		// Users without manage_users have no such page.
		env.browse("u30").get("/a/C1/users").must(t, http.StatusForbidden)
		env.browse("u30").post("/a/C1/users/add", url.Values{"confirm": {"yes"}, "principal": {"user:newbie2"}, "role": {"L10"}}).must(t, http.StatusForbidden)
	})
}

func TestPortalProfilePassword(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		other := env.browse("u30") // another session of the same user
		b := env.browse("u30")
		b.get("/profile").must(t, http.StatusOK, "Change your password", `<label for="current_password">`, "Acme Secret Corp")
		b.post("/profile/password", url.Values{"current_password": {"wrong"}, "new_password": {"a new long passphrase"},
			"confirm_password": {"a new long passphrase"}}).must(t, http.StatusForbidden, `id="current_password-error"`)
		b.post("/profile/password", url.Values{"current_password": {password}, "new_password": {"a new long passphrase"},
			"confirm_password": {"another passphrase"}}).must(t, http.StatusBadRequest, `id="confirm_password-error"`)
		b.post("/profile/password", url.Values{"current_password": {password}, "new_password": {"x"},
			"confirm_password": {"x"}}).must(t, http.StatusBadRequest, `id="new_password-error"`)

		done := b.post("/profile/password", url.Values{"current_password": {password}, "new_password": {"a new long passphrase"},
			"confirm_password": {"a new long passphrase"}})
		done.must(t, http.StatusOK, "Your password was changed.")
		if !strings.HasPrefix(done.url, "/profile") {
			t.Fatalf("after the change the browser is at %s", done.url)
		}
		b.get("/a/C1/").must(t, http.StatusOK, "Acme Secret Corp")
		if p := other.get("/a/C1/"); !strings.HasPrefix(p.url, "/login") {
			t.Fatalf("the other session survived: %s", p.url)
		}
		// The old password no longer signs in; the new one does.
		res := env.anonymous().do("POST", "/api/v1/session", map[string]string{"email": "u30@example.com", "password": password})
		if res.status != http.StatusUnauthorized {
			t.Fatalf("old password: %d", res.status)
		}
		res = env.anonymous().do("POST", "/api/v1/session", map[string]string{"email": "u30@example.com", "password": "a new long passphrase"})
		if res.status != http.StatusCreated {
			t.Fatalf("new password: %d %s", res.status, res.body)
		}
	})
}

func TestPortalViewAsIsReadOnly(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		staff := env.browse("admin")
		const banner = "Viewing the portal as"
		for _, path := range []string{"/admin/view-as/u10/a/C1/ticket/new", "/admin/view-as/u10/a/C1/ticket/T1/edit",
			"/admin/view-as/adm80/a/C1/users", "/admin/view-as/u10/a/C1/ticket?done=created"} {
			staff.get(path).must(t, http.StatusOK, banner)
		}
		staff.get("/admin/view-as/u10/a/C1/ticket/new").must(t, http.StatusOK, "<fieldset disabled>")
		// The buttons the user has are there, leading to the same pages
		// under view as (portal.md §6); u20 has no ticket edit or create.
		staff.get("/admin/view-as/u10/a/C1/ticket").must(t, http.StatusOK, `href="/admin/view-as/u10/a/C1/ticket/new"`)
		staff.get("/admin/view-as/u10/a/C1/ticket/T1").must(t, http.StatusOK, `href="/admin/view-as/u10/a/C1/ticket/T1/edit"`)
		staff.get("/admin/view-as/u20/a/C1/sales_order/SO1").mustNot(t, "/edit\"")
		staff.get("/admin/view-as/adm80/a/C1/users").must(t, http.StatusOK, "<fieldset disabled>")

		before := env.countTickets()
		for _, post := range []struct {
			path string
			form url.Values
		}{
			{"/admin/view-as/u10/a/C1/ticket/new", url.Values{"title": {"as"}}},
			{"/admin/view-as/u10/a/C1/ticket/T1/edit", url.Values{"title": {"as"}}},
			{"/admin/view-as/adm80/a/C1/users/add", url.Values{"principal": {"user:u10"}, "role": {"L20"}}},
			{"/admin/view-as/adm80/a/C1/users/revoke", url.Values{"grant": {env.grantsOf("user:u20")[0].ID}, "confirm": {"yes"}}},
		} {
			staff.post(post.path, post.form).must(t, http.StatusForbidden, "view as is read-only")
		}
		if env.countTickets() != before || len(env.grantsOf("user:u20")) != 1 {
			t.Fatal("a view-as POST changed something")
		}
		rec, _ := env.st.GetRecord(context.Background(), "ticket", "T1")
		if rec.Attributes["title"] != "Broken" {
			t.Fatalf("view as edited T1: %v", rec.Attributes)
		}
		// The staff user itself has no portal forms.
		staff.get("/a/C1/ticket/new").must(t, http.StatusForbidden)
	})
}

// TestPages_UnknownAndWrongMethod: an unknown URL and a page path with
// another method are pages inside the frame (with the signed-in user's
// navigation), never Go's plain text.
func TestPages_UnknownAndWrongMethod(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		b := env.browse("u20")
		b.get("/no/such/page").must(t, http.StatusNotFound, "<!doctype html>", `<nav aria-label="Main">`, "Sign out")
		p := b.post("/a/C1/sales_order", url.Values{})
		p.must(t, http.StatusMethodNotAllowed, "<!doctype html>", "Sign out")
		env.browse("admin").post("/admin/users", url.Values{"x": {"1"}}).mustNot(t, "Method Not Allowed\n")
		res, err := http.Get(env.srv.URL + "/nothing")
		if err != nil {
			t.Fatal(err)
		}
		anon := readPage(t, res)
		anon.must(t, http.StatusNotFound, "<!doctype html>")
		anon.mustNot(t, "404 page not found", "Sign out")
	})
}

// TestPortalHome_AccessLimits: the account's start page tells a user its
// own days-back window and end date (portal.md §3), only when every
// covering grant has one, and in the user's language.
func TestPortalHome_AccessLimits(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		until := time.Now().UTC().AddDate(0, 1, 0).Truncate(24 * time.Hour)
		days := 90
		for _, id := range []string{"rita", "both"} {
			env.addUser(id, "C1")
			g := access.Grant{Principal: "user:" + id, Account: "C1", Role: "L30", Scope: access.ScopeSubtree, Access: access.AccessReadWrite,
				DaysBack: &days, ValidUntil: &until}
			if _, _, err := env.st.CreateGrant(ctx, store.Write{Actor: "test"}, g); err != nil {
				t.Fatal(err)
			}
		}
		// "both" also holds an unlimited grant on the sold-to (its external
		// access switched on, so the grant counts): there it is not limited
		// at all.
		st1, err := env.st.GetAccount(ctx, "C1-ST1")
		if err != nil {
			t.Fatal(err)
		}
		st1.ExternalAccess = true
		if _, _, err := env.st.PutAccount(ctx, store.Write{Actor: "test"}, st1); err != nil {
			t.Fatal(err)
		}
		if _, _, err := env.st.CreateGrant(ctx, store.Write{Actor: "test"}, access.Grant{Principal: "user:both", Account: "C1-ST1", Role: "L20",
			Scope: access.ScopeSubtree, Access: access.AccessReadWrite}); err != nil {
			t.Fatal(err)
		}
		b := env.browse("rita")
		b.get("/a/C1/").must(t, http.StatusOK, "shows records of the last 90 days only", "ends on")
		b.get("/a/C1-ST1/").must(t, http.StatusOK, "shows records of the last 90 days only")
		both := env.browse("both")
		both.get("/a/C1/").must(t, http.StatusOK, "last 90 days")
		both.get("/a/C1-ST1/").mustNot(t, "last 90 days", "ends on")
		env.browse("u30").get("/a/C1/").mustNot(t, "last 90 days", "ends on")
		// In German, for a user whose language is German.
		u, _ := env.st.GetUser(ctx, "rita")
		u.Locale = "de"
		if _, _, err := env.st.PutUser(ctx, store.Write{Actor: "test"}, u); err != nil {
			t.Fatal(err)
		}
		env.browse("rita").get("/a/C1/").must(t, http.StatusOK, "zeigt nur Datensätze der letzten 90 Tage", "endet am")
	})
}
