package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/i18n"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The demo logins the scenarios use (internal/demo).
const (
	annaL20   = "anna.l20@acme.example"
	benL30    = "ben.l30@acme.example"
	maxMulti  = "max.multi@globex.example"
	tinaTix   = "tina.tickets@hooli.example"
	daveAdmin = "dave.admin@acme.example"
	olgaOwner = "olga.owner@acme.example"
	ritaL30   = "rita.recent@acme.example"
	staffAdm  = "admin@northwind.example"
)

// priceWords may not appear anywhere on a page of a user without prices.
var priceWords = []string{"price", "amount", "discount"}

// mustShowNoPrices fails when the page's text or its markup (attributes,
// hidden inputs, option values, links) says anything of prices.
func (b *tab) mustShowNoPrices(where string) {
	b.t.Helper()
	txt, html := strings.ToLower(b.text()), strings.ToLower(b.html())
	// The title of the role L30 ("Orders with Prices", in the account
	// switcher of a user with several accounts) names prices, shows none.
	txt, html = strings.ReplaceAll(txt, "orders with prices", ""), strings.ReplaceAll(html, "orders with prices", "")
	for _, w := range priceWords {
		if i := strings.Index(txt, w); i >= 0 {
			b.t.Fatalf("[%s] %s shows %q: …%s…", b.name, where, w, excerpt(txt, i))
		}
		if i := strings.Index(html, w); i >= 0 {
			b.t.Fatalf("[%s] %s has %q in its HTML: …%s…", b.name, where, w, excerpt(html, i))
		}
	}
}

func excerpt(s string, i int) string {
	return s[max(0, i-80):min(len(s), i+80)]
}

// newestAcmeOrder is the newest sales order of the customer Acme itself,
// which every Acme user with orders sees on the first page of the list.
func newestAcmeOrder(e *env) *access.Record {
	e.t.Helper()
	return e.one("sales order of C-ACME", store.RecordQuery{Type: "sales_order",
		Attrs: map[string][]any{"customer": {"C-ACME"}}, Sort: "-date"})
}

// Scenario 1: an L20 user signs in through the form, sees the orders without
// any price, opens one, still sees no price, and cannot reach an invoice of
// her own customer by URL.
func TestL20SeesOrdersWithoutPrices(t *testing.T) {
	e := newEnv(t)
	order := newestAcmeOrder(e)
	if _, ok := order.Attributes["price"]; !ok {
		t.Fatalf("order %s has no price to hide", order.ID)
	}
	invoice := e.one("invoice of C-ACME", store.RecordQuery{Type: "invoice",
		Attrs: map[string][]any{"customer": {"C-ACME"}}, Sort: "-date"})

	b := e.newTab("anna")
	b.signInDemo(annaL20)
	if loc := b.location(); loc != "/a/C-ACME/" {
		t.Fatalf("anna landed on %s, want her account's start page /a/C-ACME/", loc)
	}
	b.mustShowNoPrices("the start page")

	b.mustStatus("orders list", b.navigate("open Sales order", chromedp.Click(navLink("Sales orders"))), http.StatusOK)
	b.do("wait for the orders", chromedp.WaitVisible(heading("Sales orders")))
	tb := b.mainTable()
	if len(tb.Rows) == 0 || tb.col("status") < 0 || tb.col("customer") < 0 {
		t.Fatalf("the orders list shows no orders (or no status/customer column): %+v", tb)
	}
	b.mustShowNoPrices("the orders list")

	row := xpath(`//main//table//tbody//a[normalize-space(.)=` + xlit(order.ID) + `]`)
	b.mustStatus("order page", b.navigate("open order "+order.ID, chromedp.Click(row)), http.StatusOK)
	b.do("wait for the order", chromedp.WaitVisible(heading(order.ID)))
	b.mustSee(order.Attributes["po_number"].(string))
	lines := lineColumns(b)
	if !slices.Contains(lines, "sku") || !slices.Contains(lines, "qty") {
		t.Fatalf("order %s shows no order lines (sku, qty): %v", order.ID, lines)
	}
	b.mustShowNoPrices("order " + order.ID)

	// An invoice of her own customer, by URL: the not-found page, not the
	// invoice, exactly as for a record that does not exist.
	st := b.open("/a/C-ACME/invoice/" + invoice.ID)
	b.mustStatus("invoice by URL", st, http.StatusNotFound)
	b.mustSee("This page does not exist, or you may not see it.")
	if html := b.html(); strings.Contains(html, invoice.ID) {
		t.Fatalf("the not-found page names invoice %s", invoice.ID)
	}
	b.mustShowNoPrices("the not-found page")
	hidden := b.text()
	b.mustStatus("an invoice that does not exist", b.open("/a/C-ACME/invoice/INV-NOPE"), http.StatusNotFound)
	if unknown := b.text(); unknown != hidden {
		t.Fatalf("an invisible invoice and a missing one give different pages:\n%s\n---\n%s", hidden, unknown)
	}
	b.mustStatus("invoice list by URL", b.open("/a/C-ACME/invoice"), http.StatusNotFound)
}

// Scenario 2: an L30 user sees the prices of the same order.
func TestL30SeesPrices(t *testing.T) {
	e := newEnv(t)
	order := newestAcmeOrder(e)

	b := e.newTab("ben")
	b.signInDemo(benL30)
	b.mustStatus("orders list", b.navigate("open Sales order", chromedp.Click(navLink("Sales orders"))), http.StatusOK)
	tb := b.mainTable()
	for _, c := range []string{"price", "discount", "amount"} {
		if tb.col(c) < 0 {
			t.Fatalf("the orders list of an L30 user has no %s column: %v", c, tb.Headers)
		}
	}
	row := xpath(`//main//table//tbody//a[normalize-space(.)=` + xlit(order.ID) + `]`)
	b.mustStatus("order page", b.navigate("open order "+order.ID, chromedp.Click(row)), http.StatusOK)
	b.do("wait for the order", chromedp.WaitVisible(heading(order.ID)))

	props := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('main dl dt')].map(dt =>
		[dt.textContent.trim().toLowerCase().replaceAll('_', ' '), dt.nextElementSibling.textContent.trim()]))`)
	for _, f := range []string{"price", "discount", "amount"} {
		want := formatNumber(order.Attributes[f])
		if cur, ok := order.Attributes["currency"].(string); ok {
			want = i18n.Money("en", order.Attributes[f].(float64), cur)
		}
		if props[f] != want {
			t.Fatalf("order %s shows %s %q, want %q (all: %v)", order.ID, f, props[f], want, props)
		}
	}
	lines := lineColumns(b)
	for _, c := range []string{"price", "discount", "amount"} {
		if !slices.Contains(lines, c) {
			t.Fatalf("the order lines of an L30 user have no %s column: %v", c, lines)
		}
	}
}

// Scenario 3: a user of two customers sees the account switcher, switches
// to the other customer and sees that customer's orders.
func TestMultiCustomerSwitchesAccounts(t *testing.T) {
	e := newEnv(t)
	b := e.newTab("max")
	b.signInDemo(maxMulti)
	if loc := b.location(); loc != "/a/C-GLOBEX/" {
		t.Fatalf("max landed on %s, want his home account /a/C-GLOBEX/", loc)
	}
	// The switcher offers both customers (and the accounts below them),
	// nothing else.
	opts := values(b.options("Account"))
	if !slices.Contains(opts, "C-GLOBEX") || !slices.Contains(opts, "C-INITECH") {
		t.Fatalf("the account switcher offers %v, want C-GLOBEX and C-INITECH", opts)
	}
	for _, o := range opts {
		if o != "C-GLOBEX" && o != "C-INITECH" && !strings.HasPrefix(o, "C-GLOBEX-") && !strings.HasPrefix(o, "C-INITECH-") {
			t.Fatalf("the account switcher offers %s, which max does not reach: %v", o, opts)
		}
	}

	b.mustStatus("Globex orders", b.navigate("open Sales order", chromedp.Click(navLink("Sales orders"))), http.StatusOK)
	mustAllCustomers(t, b.mainTable(), "C-GLOBEX")
	b.mustShowNoPrices("Globex's orders (L20)")

	b.choose("Account", "C-INITECH")
	b.mustStatus("switch", b.navigate("switch to Initech", chromedp.Click(button("Switch"))), http.StatusOK)
	if loc := b.location(); loc != "/a/C-INITECH/" {
		t.Fatalf("after switching max is at %s, want /a/C-INITECH/", loc)
	}
	b.mustSee("Initech Systems")
	b.mustStatus("Initech orders", b.navigate("open Sales order", chromedp.Click(navLink("Sales orders"))), http.StatusOK)
	tb := b.mainTable()
	mustAllCustomers(t, tb, "C-INITECH")
	if tb.col("price") < 0 {
		t.Fatalf("max is L30 on Initech, yet its orders show no price column: %v", tb.Headers)
	}
	// Max may not sort on price (Globex hides it from him): the column is
	// no sort link, while Date shows its direction.
	if links := eval[int](b, `[...document.querySelectorAll("main th")].filter(th => /price|amount/i.test(th.innerText) && th.querySelector("a")).length`); links != 0 {
		t.Fatalf("%d price or amount columns are sort links for max, who cannot sort on them", links)
	}
	if sorted := eval[string](b, `(() => { const th = document.querySelector("main th[aria-sort]"); return th ? th.innerText + " " + th.getAttribute("aria-sort") : ""; })()`); sorted != "Date descending" {
		t.Fatalf("the sorted column says %q, want Date descending", sorted)
	}
	// The first rows are Initech's newest orders.
	want := e.records(store.RecordQuery{Type: "sales_order", Sort: "-date", Limit: 3,
		Attrs: map[string][]any{"customer": {"C-INITECH", "C-INITECH-ST1", "C-INITECH-SITE1", "C-INITECH-SITE2"}}})
	for i, r := range want {
		if got := tb.Rows[i][0]; got != r.ID {
			t.Fatalf("row %d of Initech's orders is %s, want %s", i, got, r.ID)
		}
	}
	if sel := b.options("Account"); !selectedIs(sel, "C-INITECH") {
		t.Fatalf("the switcher does not show Initech as the current account: %v", sel)
	}
	// An Initech order is on Initech's pages, never under Globex's header.
	b.mustStatus("an Initech order under Initech", b.open("/a/C-INITECH/sales_order/"+want[0].ID), http.StatusOK)
	b.mustStatus("an Initech order under Globex", b.open("/a/C-GLOBEX/sales_order/"+want[0].ID), http.StatusNotFound)
	b.mustStatus("its edit form under Globex", b.open("/a/C-GLOBEX/sales_order/"+want[0].ID+"/edit"), http.StatusNotFound)
}

func selectedIs(opts []option, v string) bool {
	for _, o := range opts {
		if o.Selected {
			return o.Value == v
		}
	}
	return false
}

// mustAllCustomers fails unless the orders table has rows and every row's
// customer is the account or below it.
func mustAllCustomers(t *testing.T, tb table, acct string) {
	t.Helper()
	c := tb.col("customer")
	if c < 0 || len(tb.Rows) == 0 {
		t.Fatalf("no orders with a customer column: %+v", tb)
	}
	for _, r := range tb.Rows {
		// The cell names the account, its ERP code in small type beside it
		// (portal.md §2).
		i := strings.LastIndex(r[c], " ")
		if i <= 0 {
			t.Fatalf("the customer cell %q names no account beside its code", r[c])
		}
		code := r[c][i+1:]
		if code != acct && !strings.HasPrefix(code, acct+"-") {
			t.Fatalf("an order of %s is listed under %s: %v", r[c], acct, r)
		}
	}
}

// Scenario 4: a ticket user opens "New ticket", is offered only the values
// its constraints allow and only its read-write site, creates a ticket and
// finds it in the list.
func TestTicketUserCreatesTicket(t *testing.T) {
	e := newEnv(t)
	b := e.newTab("tina")
	b.signInDemo(tinaTix)
	if loc := b.location(); loc != "/a/C-HOOLI-SITE1/" {
		t.Fatalf("tina landed on %s, want her read-write site /a/C-HOOLI-SITE1/", loc)
	}
	b.mustStatus("tickets", b.navigate("open Ticket", chromedp.Click(navLink("Tickets"))), http.StatusOK)
	b.mustStatus("new ticket form", b.navigate("open New Ticket", chromedp.Click(link("New Ticket"))), http.StatusOK)
	b.do("wait for the form", chromedp.WaitVisible(heading("New ticket")))

	for label, want := range map[string][]string{
		"Type":        {"incident", "question"},
		"Status":      {"new", "closed"},
		"Responsible": {"group:support-eu"},
	} {
		if got := values(b.options(label)); !slices.Equal(got, want) {
			t.Fatalf("%s offers %v, want only %v", label, got, want)
		}
	}
	// Her only read-write site: no account choice at all, or one offering
	// only that site. The read-only site (C-HOOLI-SITE2) is never offered.
	if acct := b.maybeOptionsIn("main", "Create under"); acct != nil {
		if got := values(*acct); !slices.Equal(got, []string{"C-HOOLI-SITE1"}) {
			t.Fatalf("the ticket's account choice offers %v, want only C-HOOLI-SITE1", got)
		}
	}
	// The ticket's site is its owner (the policy's owner_field): never a
	// free-text box; a choice, when offered, holds only her read-write site.
	if eval[bool](b, `!!document.querySelector('main input[name="site"]')`) {
		t.Fatal("the new ticket form has a free-text site box")
	}
	if site := b.maybeOptionsIn("main", "Site"); site != nil {
		if got := values(*site); !slices.Equal(got, []string{"C-HOOLI-SITE1"}) {
			t.Fatalf("the ticket's site choice offers %v, want only C-HOOLI-SITE1", got)
		}
	}
	if form := eval[string](b, `document.querySelector('main').outerHTML`); strings.Contains(form, "C-HOOLI-SITE2") {
		t.Fatalf("the new ticket form mentions the read-only site C-HOOLI-SITE2: %s", form)
	}

	subject := "Conveyor belt squeaks at dock 3 (" + uniq() + ")"
	b.fill("Title", subject)
	if b.maybeOptionsIn("main", "Site") != nil {
		b.choose("Site", "C-HOOLI-SITE1")
	}
	b.choose("Type", "incident")
	b.choose("Status", "new")
	b.choose("Priority", "high")
	if sel := b.options("Responsible"); !selectedIs(sel, "group:support-eu") {
		b.choose("Responsible", "group:support-eu")
	}
	b.mustStatus("create ticket", b.navigate("create the ticket", chromedp.Click(button("Create ticket"))), http.StatusOK)
	loc := b.location()
	id, ok := strings.CutPrefix(strings.Split(loc, "?")[0], "/a/C-HOOLI-SITE1/ticket/")
	if !ok || id == "" {
		t.Fatalf("after creating the ticket tina is at %s: %s", loc, b.text())
	}
	// The responsible team by its name, not its id (portal.md §2).
	b.mustSee("Created.", subject, "Incident", "Support Europe")
	if strings.Contains(b.text(), "group:support-eu") {
		t.Fatalf("the ticket page shows the team's id: %s", b.text())
	}

	rec, err := e.st.GetRecord(context.Background(), "ticket", id)
	if err != nil {
		t.Fatalf("the new ticket %s is not in the store: %v", id, err)
	}
	if rec.Owner != "C-HOOLI-SITE1" || rec.Creator != "U-TINA" || rec.Attributes["title"] != subject ||
		rec.Attributes["type"] != "incident" || rec.Attributes["status"] != "new" ||
		rec.Attributes["responsible"] != "group:support-eu" || rec.Attributes["site"] != "C-HOOLI-SITE1" {
		t.Fatalf("the stored ticket is %+v", rec)
	}

	b.mustStatus("tickets", b.navigate("back to the tickets", chromedp.Click(navLink("Tickets"))), http.StatusOK)
	b.do("wait for the new ticket in the list",
		chromedp.WaitVisible(xpath(`//main//table//tbody//a[normalize-space(.)=`+xlit(id)+`]`)))

	// On the read-only site she may read tickets but is offered no form.
	b.choose("Account", "C-HOOLI-SITE2")
	b.mustStatus("switch", b.navigate("switch to Munich", chromedp.Click(button("Switch"))), http.StatusOK)
	b.mustStatus("Munich tickets", b.navigate("open Ticket", chromedp.Click(navLink("Tickets"))), http.StatusOK)
	if n := eval[int](b, `[...document.querySelectorAll('main a, main button')].filter(a => a.textContent.trim().toLowerCase() === 'new ticket').length`); n != 0 {
		t.Fatalf("the read-only site offers New Ticket")
	}
	b.mustStatus("the read-only site's new ticket form by URL", b.open("/a/C-HOOLI-SITE2/ticket/new"), http.StatusForbidden)
}

// Scenario 5: a customer admin invites a colleague with L20, cannot pick
// L90, and sees the Owner's row locked.
func TestCustomerAdminInvitesColleague(t *testing.T) {
	e := newEnv(t)
	b := e.newTab("dave")
	b.signInDemo(daveAdmin)
	b.mustStatus("company users", b.navigate("open Company users", chromedp.Click(navLink("Company users"))), http.StatusOK)
	b.do("wait for the page", chromedp.WaitVisible(heading("Company users")))

	// The Owner's row: locked, no change or revoke control.
	owner := `//main//table//tbody/tr[contains(., ` + xlit(olgaOwner) + `)]`
	b.do("find the Owner's row", chromedp.WaitVisible(xpath(owner)))
	ownerRow := eval[struct {
		Text     string   `json:"text"`
		Controls []string `json:"controls"`
	}](b, `(() => {
		const tr = document.evaluate(`+jsString(owner)+`, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
		// Anything that could change or revoke the grant: a link, a form,
		// an enabled button or input.
		const live = [...tr.querySelectorAll('a[href], form, button:not([disabled]), input:not([disabled]), select:not([disabled])')];
		return {text: tr.innerText, controls: live.map(c => c.outerHTML)};
	})()`)
	if !strings.Contains(ownerRow.Text, "\tOwner\t") || !strings.Contains(strings.ToLower(ownerRow.Text), "locked") {
		t.Fatalf("the Owner's row is not shown locked: %q", ownerRow.Text)
	}
	if len(ownerRow.Controls) != 0 {
		t.Fatalf("the Owner's row has controls, want none (locked): %v", ownerRow.Controls)
	}
	// Other rows do have controls: the check above is not vacuous.
	annaRow := `//main//table//tbody/tr[contains(., ` + xlit(annaL20) + `)]`
	b.do("anna's row has a Revoke link", chromedp.WaitVisible(xpath(annaRow+`//a[starts-with(normalize-space(.), 'Revoke')]`)))

	roles := values(b.options("Role"))
	if slices.Contains(roles, "L90") {
		t.Fatalf("the role select offers the Owner role L90: %v", roles)
	}
	if !slices.Contains(roles, "L20") || !slices.Contains(roles, "L80") {
		t.Fatalf("the role select offers %v, want L10 up to L80", roles)
	}

	email := "nina.new" + uniq() + "@acme.example"
	b.fill("New user's email", email)
	b.fill("New user's name", "Nina Neumann")
	b.choose("Role", "L20")
	b.fill("Notes", "Invited by the browser test")
	b.mustStatus("add access", b.navigate("invite Nina", chromedp.Click(button("Add access"))), http.StatusOK)
	if f := b.flash(); !strings.Contains(f, "User invited and access added.") {
		t.Fatalf("after inviting, the message is %q; page: %s", f, b.text())
	}
	nina := `//main//table//tbody/tr[contains(., ` + xlit(email) + `)]`
	b.do("Nina's row", chromedp.WaitVisible(xpath(nina)))
	if txt := eval[string](b, `document.evaluate(`+jsString(nina)+`, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue.innerText`); !strings.Contains(txt, "\tOrders\t") {
		t.Fatalf("Nina's row does not show L20: %q", txt)
	}

	u, err := e.st.GetUserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("the invited user is not in the store: %v", err)
	}
	grants, _, err := e.st.ListGrants(context.Background(), store.GrantFilter{Principal: "user:" + u.ID})
	if err != nil || len(grants) != 1 || grants[0].Role != "L20" || grants[0].Account != "C-ACME" {
		t.Fatalf("the invited user's grants are %+v (%v), want one L20 on C-ACME", grants, err)
	}
}

// Scenario 6: a staff admin ticks "Allow external users" on a sold-to whose
// switch is off, adds an external user to the new group acct:<id>, and that
// user then signs in and sees the sold-to's inventory.
func TestAdminAllowsExternalUsersOnSoldTo(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	// A sold-to whose switch is off (Acme South in the demo), a record of
	// its inventory, and an external user with no access yet.
	soldTo := offSoldTo(e)
	stock := &access.Record{Type: "inventory", ID: "STK-BROWSER-" + uniq(), Owner: soldTo.ID, Attributes: map[string]any{
		"sku": "NW-BT-0001", "description": "Browser test torque wrench 40–200 Nm", "warehouse": "Leeds DC",
		"quantity": float64(7), "updated": day(0),
	}}
	if err := e.eng.FillRecord(stock, true, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.st.PutRecord(ctx, store.Write{}, stock); err != nil {
		t.Fatalf("put inventory: %v", err)
	}
	const pw = "browser-test-password-1"
	newUser := access.User{ID: "U-BT-NORA", Kind: access.KindExternal, Name: "Nora Quinn", Email: "nora.quinn@acme.example",
		HomeAccount: soldTo.ID, Status: access.StatusActive}
	if _, _, err := e.st.PutUser(ctx, store.Write{Actor: "system"}, newUser); err != nil {
		t.Fatalf("put user: %v", err)
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.SetPassword(ctx, store.Write{Actor: "system"}, newUser.ID, hash); err != nil {
		t.Fatal(err)
	}

	adm := e.newTab("admin")
	adm.signInDemo(staffAdm)
	adm.mustStatus("accounts", adm.navigate("open Accounts", chromedp.Click(navLink("Accounts"))), http.StatusOK)
	adm.fill("Search by id or name", soldTo.Name)
	adm.mustStatus("search", adm.navigate("search accounts", chromedp.Click(button("Search"))), http.StatusOK)
	adm.mustStatus("account page", adm.navigate("open "+soldTo.Name,
		chromedp.Click(xpath(`//main//table//a[normalize-space(.)=`+xlit(soldTo.Name)+`]`))), http.StatusOK)
	adm.do("wait for the account", chromedp.WaitVisible(heading(soldTo.Name)))
	if checked := eval[bool](adm, control("", "Allow external users")+`.checked`); checked {
		t.Fatalf("%s already allows external users", soldTo.ID)
	}
	adm.do("tick Allow external users", chromedp.Click(field("Allow external users")))
	if !eval[bool](adm, control("", "Allow external users")+`.checked`) {
		t.Fatalf("clicking the checkbox did not tick it")
	}
	save := `//form[.//*[@id=//label[normalize-space(.)='Allow external users']/@for]]//button[normalize-space(.)='Save']`
	adm.mustStatus("save the switch", adm.navigate("save the switch", chromedp.Click(xpath(save))), http.StatusOK)
	// The switch asks first, with what it changes (governance.md §1).
	adm.do("the confirmation", chromedp.WaitVisible(heading("Allow external users on")))
	adm.mustStatus("confirm the switch", adm.navigate("confirm the switch", chromedp.Click(button("Allow external users"))), http.StatusOK)
	if f := adm.flash(); !strings.Contains(f, "External users are now allowed") {
		t.Fatalf("after switching on, the message is %q", f)
	}
	if a, err := e.st.GetAccount(ctx, soldTo.ID); err != nil || !a.ExternalAccess {
		t.Fatalf("after ticking the switch, %s has external access %v (%v)", soldTo.ID, a.ExternalAccess, err)
	}
	group := access.AccountGroupID(soldTo.ID)
	adm.mustSee(group)
	adm.mustStatus("group page", adm.navigate("open the account group",
		chromedp.Click(xpath(`//section[.//h2[normalize-space(.)='Account group']]//a`))), http.StatusOK)
	adm.do("wait for the group", chromedp.WaitVisible(heading(group)))
	adm.fill("Find a user by name or email", newUser.Name)
	noraChoice := xpath(`//div[@id='member-choices']//label[contains(., ` + xlit(newUser.Name) + `)]`)
	adm.do("Nora is offered", chromedp.WaitVisible(noraChoice), chromedp.Click(noraChoice))
	adm.mustStatus("add member", adm.navigate("add Nora", chromedp.Click(button("Add member"))), http.StatusOK)
	adm.do("the confirmation", chromedp.WaitVisible(heading("Add Nora Quinn to")))
	adm.mustSee("Nora Quinn", "Inventory")
	adm.mustStatus("confirm the member", adm.navigate("confirm Nora", chromedp.Click(button("Add member"))), http.StatusOK)
	if f := adm.flash(); !strings.Contains(f, "The member was added.") {
		t.Fatalf("after adding the member, the message is %q: %s", f, adm.text())
	}
	adm.do("Nora is a member", chromedp.WaitVisible(xpath(`//section[@id='members']//table//tr[contains(., `+xlit(newUser.Email)+`)]`)))

	// Nora, in a browser of her own.
	nora := e.newTab("nora")
	nora.signIn(newUser.Email, pw)
	if loc := nora.location(); loc != "/a/"+soldTo.ID+"/" {
		t.Fatalf("nora landed on %s, want /a/%s/", loc, soldTo.ID)
	}
	nora.mustStatus("inventory", nora.navigate("open Inventory", chromedp.Click(navLink("Inventory"))), http.StatusOK)
	nora.do("her sold-to's stock", chromedp.WaitVisible(xpath(`//main//table//tbody//a[normalize-space(.)=`+xlit(stock.ID)+`]`)))
	nora.mustSee("Browser test torque wrench")
	// The group's role is Basic (L10): no orders.
	if n := eval[int](nora, `[...document.querySelectorAll('nav[aria-label=Main] a')].filter(a => a.innerText.trim() === 'Sales orders').length`); n != 0 {
		t.Fatalf("an L10 member of %s is offered sales orders", group)
	}
}

// offSoldTo picks a sold-to of the demo whose external access is off.
func offSoldTo(e *env) access.Account {
	e.t.Helper()
	accts, _, err := e.st.ListAccounts(context.Background(), store.AccountFilter{Query: "", Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range accts {
		if a.Kind == "sold_to" && !a.ExternalAccess && a.ID == "C-ACME-ST2" {
			return a
		}
	}
	for _, a := range accts {
		if a.Kind == "sold_to" && !a.ExternalAccess {
			return a
		}
	}
	e.t.Fatalf("the demo world has no sold-to with external access off")
	return access.Account{}
}

// Scenario 7: the access checker explains a days-back denial.
func TestAccessCheckerExplainsDaysBack(t *testing.T) {
	e := newEnv(t)
	// An order of Acme older than Rita's 90 days back.
	old := e.one("Acme order older than 90 days", store.RecordQuery{Type: "sales_order", Sort: "-date",
		DateTo: day(120), Attrs: map[string][]any{"customer": {"C-ACME"}}})
	cutoff := day(90)

	b := e.newTab("admin")
	b.signInDemo(staffAdm)
	b.mustStatus("checker", b.navigate("open Access checker", chromedp.Click(navLink("Access checker"))), http.StatusOK)
	b.do("wait for the checker", chromedp.WaitVisible(heading("Access checker")))
	b.fill("User (id or email)", ritaL30)
	b.choose("Action", "read")
	b.choose("Record type", "sales_order")
	b.fill("Record ID", old.ID)
	b.mustStatus("check", b.navigate("check", chromedp.Click(button("Check"))), http.StatusOK)

	verdict := xpath(`//section[contains(@class, 'verdict')]`)
	b.do("wait for the verdict", chromedp.WaitVisible(verdict))
	txt := eval[string](b, `document.querySelector('section.verdict').innerText`)
	if !strings.HasPrefix(strings.TrimSpace(txt), "Denied") {
		t.Fatalf("the verdict is not Denied: %q", txt)
	}
	if !strings.Contains(txt, "outside_days_back") && !strings.Contains(txt, "Outside days back") {
		t.Fatalf("the verdict does not name the days-back reason: %q", txt)
	}
	if !strings.Contains(txt, cutoff) {
		t.Fatalf("the verdict does not give the cutoff date %s: %q", cutoff, txt)
	}
	if !strings.Contains(txt, old.Date[:10]) {
		t.Fatalf("the verdict does not give the record's date %s: %q", old.Date, txt)
	}
}

// Scenario 8: view as shows the portal with a banner naming the user and a
// way back, and the audit log has the entry.
func TestViewAsShowsBannerAndIsAudited(t *testing.T) {
	e := newEnv(t)
	b := e.newTab("admin")
	b.signInDemo(staffAdm)
	b.mustStatus("view as", b.navigate("open View as", chromedp.Click(navLink("View as"))), http.StatusOK)
	b.fill("External user (id or email)", annaL20)
	b.mustStatus("portal as anna", b.navigate("view as anna", chromedp.Click(button("View the portal as this user"))), http.StatusOK)
	if loc := b.location(); loc != "/admin/view-as/U-ANNA/a/C-ACME/" {
		t.Fatalf("view as led to %s", loc)
	}
	banner := eval[string](b, `(() => { const b = document.querySelector('.banner, [role=status]'); return b ? b.innerText : ''; })()`)
	if !strings.Contains(banner, "Anna Larsen") || !strings.Contains(banner, annaL20) || !strings.Contains(banner, "read-only") {
		t.Fatalf("the view-as banner is %q, want it to name Anna Larsen (%s), read-only", banner, annaL20)
	}
	// The portal as she sees it: her orders, without prices.
	b.mustStatus("orders as anna", b.navigate("open Sales order", chromedp.Click(navLink("Sales orders"))), http.StatusOK)
	if loc := b.location(); !strings.HasPrefix(loc, "/admin/view-as/U-ANNA/a/C-ACME/sales_order") {
		t.Fatalf("the portal's links leave view as: %s", loc)
	}
	b.mainTable()
	b.mustShowNoPrices("the orders list viewed as anna")
	b.mustSee("Viewing the portal as")

	b.mustStatus("back", b.navigate("back to the console", chromedp.Click(link("Back to the console"))), http.StatusOK)
	if loc := b.location(); !strings.HasPrefix(loc, "/admin") || strings.HasPrefix(loc, "/admin/view-as/") {
		t.Fatalf("Back to the console leads to %s", loc)
	}

	b.mustStatus("audit", b.navigate("open Audit log", chromedp.Click(navLink("Audit log"))), http.StatusOK)
	b.fill("Action", "portal.view_as")
	b.mustStatus("filter", b.navigate("filter the audit log", chromedp.Click(button("Filter"))), http.StatusOK)
	tb := b.mainTable()
	actor, action, target := tb.col("Actor"), tb.col("Action"), tb.col("Target")
	if actor < 0 || action < 0 || target < 0 {
		t.Fatalf("the audit log's columns are %v", tb.Headers)
	}
	found := false
	for _, r := range tb.Rows {
		// Actor and target by name, the reference in small type beside.
		found = found || (r[action] == "portal.view_as" && r[target] == "Anna Larsen user:U-ANNA" && r[actor] == "Olivia Hart user:U-ADMIN")
	}
	if !found {
		t.Fatalf("the audit log has no view-as entry for Anna Larsen (U-ANNA) by Olivia Hart (U-ADMIN): %v", tb.Rows)
	}
}

// lineColumns are the column headers of the order lines on an order's page,
// in lower case with spaces for underscores (labels may be either).
func lineColumns(b *tab) []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelectorAll('main section table thead th')].map(th =>
		th.textContent.trim().toLowerCase().replaceAll('_', ' '))`)
}

// formatNumber renders a number as the portal does: whole numbers without
// decimals, others with two.
func formatNumber(v any) string {
	f, ok := v.(float64)
	if !ok {
		return fmt.Sprint(v)
	}
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%.2f", f)
}
