package browsertest

import (
	"context"
	"encoding/csv"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/demo"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// orderRow is the link of order id in the list's table.
func orderRow(id string) chromedp.JSPath {
	return xpath(`//main//table//tbody//a[normalize-space(.)=` + xlit(id) + `]`)
}

// olderAcmeOrder is an order of the customer Acme far down its list (the
// 40th newest): not on the first page, so only a search finds it at once.
func olderAcmeOrder(e *env) *access.Record {
	e.t.Helper()
	recs := e.records(store.RecordQuery{Type: "sales_order", Attrs: map[string][]any{"customer": {"C-ACME"}}, Sort: "-date", Limit: 40})
	if len(recs) < 40 {
		e.t.Fatalf("the demo has %d Acme orders, want 40 or more", len(recs))
	}
	return recs[39]
}

// search types text into the list's search box (found by its label) and
// submits it with the Search button, as a user does.
func (b *tab) search(label, buttonText, text string) {
	b.t.Helper()
	b.fill(label, text)
	b.mustStatus("search "+text, b.navigate("search "+text, chromedp.Click(button(buttonText))), http.StatusOK)
}

// TestSearchFindsOrderByNumber: a buyer types an order's number into the
// list's search box and gets that order, in one step; the count says so,
// and another customer's order number finds nothing.
func TestSearchFindsOrderByNumber(t *testing.T) {
	e := newEnv(t)
	order := olderAcmeOrder(e)
	number, _ := order.Attributes["number"].(string)
	if number == "" {
		number = order.ID
	}
	other := e.one("an order of another customer", store.RecordQuery{Type: "sales_order", Attrs: map[string][]any{"customer": {"C-GLOBEX"}}})

	b := e.newTab("ben")
	b.signInDemo(benL30)
	b.mustStatus("orders list", b.navigate("open Sales orders", chromedp.Click(navLink("Sales orders"))), http.StatusOK)
	if tb := b.mainTable(); len(tb.Rows) == 0 || strings.Contains(b.text(), order.ID) {
		t.Fatalf("order %s is already on the first page (or the list is empty): pick another", order.ID)
	}
	b.search("Search", "Search", strings.ToLower(number))
	tb := b.mainTable()
	if len(tb.Rows) != 1 || tb.Rows[0][0] != order.ID {
		t.Fatalf("searching %q shows %v, want only order %s", number, tb.Rows, order.ID)
	}
	b.mustSee("1–1 of 1")
	b.mustStatus("order page", b.navigate("open order "+order.ID, chromedp.Click(orderRow(order.ID))), http.StatusOK)
	b.do("wait for the order", chromedp.WaitVisible(heading(order.ID)))

	b.mustStatus("orders list", b.navigate("open Sales orders", chromedp.Click(navLink("Sales orders"))), http.StatusOK)
	b.search("Search", "Search", other.ID)
	if tb := b.mainTable(); len(tb.Rows) != 1 || !strings.Contains(tb.Rows[0][0], "Nothing to show.") {
		t.Fatalf("searching another customer's order %s shows %v", other.ID, tb.Rows)
	}
}

// walk is a sign-in → orders → search → order walk through translated
// pages: every control is found by its name in the language of the page.
type walk struct {
	email, password, signIn       string // the sign-in form's labels and button
	orders, search, searchButton  string // navigation, search box and button
	orderDate, poNumber, statusOf string // labels of the order page; the status's label
}

func (w walk) run(t *testing.T, e *env, b *tab, order *access.Record, loginPath string) {
	t.Helper()
	b.mustStatus("sign-in page", b.open(loginPath), http.StatusOK)
	b.do("fill the sign-in form",
		chromedp.WaitVisible(heading(w.signIn)),
		chromedp.SendKeys(field(w.email), benL30),
		chromedp.SendKeys(field(w.password), demo.Password),
	)
	b.mustStatus("sign in", b.navigate("sign in", chromedp.Click(button(w.signIn))), http.StatusOK)
	nav := xpath(`//header//nav//a[normalize-space(.)=` + xlit(w.orders) + `]`)
	b.mustStatus("orders", b.navigate("open "+w.orders, chromedp.Click(nav)), http.StatusOK)
	b.do("wait for the orders", chromedp.WaitVisible(heading(w.orders)))
	b.search(w.search, w.searchButton, order.ID)
	b.mustStatus("order page", b.navigate("open order "+order.ID, chromedp.Click(orderRow(order.ID))), http.StatusOK)
	b.do("wait for the order", chromedp.WaitVisible(heading(order.ID)))
	props := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('main dl dt')].map(dt =>
		[dt.textContent.trim(), dt.nextElementSibling.textContent.trim()]))`)
	if po, _ := order.Attributes["po_number"].(string); props[w.orderDate] == "" || props[w.poNumber] != po {
		t.Fatalf("order %s: no %q, or %q is not %q: %v", order.ID, w.orderDate, w.poNumber, po, props)
	}
	if got := props[statusLabel(b.env, w)]; got != w.statusOf {
		t.Fatalf("order %s: status %q, want %q (all: %v)", order.ID, got, w.statusOf, props)
	}
}

// statusLabel is the label of the status field in the walk's language:
// "Status" in English and German, 状态 in Chinese.
func statusLabel(_ *env, w walk) string {
	if w.search == "搜索" {
		return "状态"
	}
	return "Status"
}

// TestGermanWalk: a German buyer (locale de) signs in on the German
// sign-in page, opens the orders, finds one by number and reads it, every
// control found by its German name.
func TestGermanWalk(t *testing.T) {
	e := newEnv(t)
	order := olderAcmeOrder(e)
	e.setLocale(benL30, "de")
	st, _ := order.Attributes["status"].(string)
	w := walk{email: "E-Mail", password: "Passwort", signIn: "Anmelden", orders: "Aufträge", search: "Suchen", searchButton: "Suchen",
		orderDate: "Auftragsdatum", poNumber: "Bestellnummer", statusOf: e.eng.Policy().Type("sales_order").Fields["status"].Label(st, "de")}
	w.run(t, e, e.newTab("ben-de"), order, "/login?lang=de")
}

// TestChineseWalk: a service engineer who chose no language, with a
// Chinese browser, gets the pages in Chinese (Accept-Language) and walks
// through them by their Chinese names.
func TestChineseWalk(t *testing.T) {
	e := newEnv(t)
	order := olderAcmeOrder(e)
	e.setLocale(benL30, "")
	b := e.newTab("ben-zh")
	if _, err := chromedp.Call(b.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Accept-Language": "zh-CN,zh;q=0.9"}}); err != nil {
		t.Fatalf("a Chinese browser: %v", err)
	}
	st, _ := order.Attributes["status"].(string)
	w := walk{email: "邮箱", password: "密码", signIn: "登录", orders: "销售订单", search: "搜索", searchButton: "搜索",
		orderDate: "订单日期", poNumber: "采购单号", statusOf: e.eng.Policy().Type("sales_order").Fields["status"].Label(st, "zh")}
	w.run(t, e, b, order, "/login")
}

// setLocale stores the locale of the user with that email ("": none
// chosen).
func (e *env) setLocale(email, locale string) {
	e.t.Helper()
	u, err := e.st.GetUserByEmail(context.Background(), email)
	if err != nil {
		e.t.Fatalf("user %s: %v", email, err)
	}
	u.Locale = locale
	if _, _, err := e.st.PutUser(context.Background(), store.Write{Actor: "test"}, u); err != nil {
		e.t.Fatal(err)
	}
}

// TestNavigationCollapses: at 390 px the portal's navigation hides behind
// its Menu button, which opens it without JavaScript; at 1280 px it is
// always shown.
func TestNavigationCollapses(t *testing.T) {
	e := newEnv(t)
	b := e.newTab("ben")
	b.signInDemo(benL30)
	visible := func() bool {
		return eval[bool](b, `(() => { const a = document.querySelector('header nav ul a'); return !!a && a.getBoundingClientRect().width > 0; })()`)
	}
	b.do("a phone", chromedp.EmulateViewport(390, 800))
	b.mustStatus("home", b.open("/a/C-ACME/"), http.StatusOK)
	if visible() {
		t.Fatalf("at 390 px the navigation is open before the Menu button is pressed")
	}
	b.do("open the menu", chromedp.Click(xpath(`//label[normalize-space(.)='Menu']`)))
	if !visible() {
		t.Fatalf("at 390 px the Menu button does not open the navigation")
	}
	b.mustStatus("orders", b.navigate("open Sales orders", chromedp.Click(navLink("Sales orders"))), http.StatusOK)
	b.do("a laptop", chromedp.EmulateViewport(1280, 800))
	if !visible() || eval[bool](b, `document.querySelector('label.nav-button').getBoundingClientRect().width > 0`) {
		t.Fatalf("at 1280 px the navigation is hidden or the Menu button shown")
	}
}

// TestL20DownloadsCSVWithoutPrices: an L20 buyer downloads its order list
// with the list's "Download CSV" link; the file parses with encoding/csv
// to exactly the records the list counts, and no price, discount or
// amount (names or the lines' keys) is in it (portal.md §4, interop.md §3).
func TestL20DownloadsCSVWithoutPrices(t *testing.T) {
	e := newEnv(t)
	b := e.newTab("anna")
	b.signInDemo(annaL20)
	b.mustStatus("orders list", b.navigate("open Sales orders", chromedp.Click(navLink("Sales orders"))), http.StatusOK)
	first := b.mainTable()
	m := regexp.MustCompile(`of ([0-9,]+)\b`).FindStringSubmatch(b.text())
	if m == nil || len(first.Rows) == 0 {
		t.Fatalf("the list shows no count or no rows: %s", b.text())
	}
	total, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	href := eval[string](b, `(() => { const a = [...document.querySelectorAll('main a')].find(a => a.innerText.trim() === 'Download CSV'); return a ? a.href : ''; })()`)
	if href == "" {
		t.Fatalf("no Download CSV link: %s", b.text())
	}
	// The browser fetches the file with its own session, as the link does.
	body := eval[string](b, `(() => { const x = new XMLHttpRequest(); x.open('GET', `+strconv.Quote(href)+`, false); x.send(); return x.status + '\n' + x.getResponseHeader('Content-Type') + '\n' + x.responseText; })()`)
	status, rest, _ := strings.Cut(body, "\n")
	ctype, text, _ := strings.Cut(rest, "\n")
	if status != "200" || !strings.HasPrefix(ctype, "text/csv") {
		t.Fatalf("the download is %s %s: %.300s", status, ctype, text)
	}
	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil || len(rows) < 1 {
		t.Fatalf("the CSV does not parse: %v\n%.500s", err, text)
	}
	for _, h := range rows[0] {
		if h == "price" || h == "discount" || h == "amount" || strings.Contains(h, "price") {
			t.Fatalf("the L20 CSV has the hidden column %q: %v", h, rows[0])
		}
	}
	for _, hidden := range []string{`"price"`, `"discount"`, `"amount"`} {
		if strings.Contains(text, hidden) {
			t.Fatalf("the L20 CSV holds %s (in the lines): %.500s", hidden, text)
		}
	}
	ids := map[string]bool{}
	for _, r := range rows[1:] {
		ids[r[0]] = true
	}
	for _, r := range first.Rows {
		if !ids[r[0]] {
			t.Fatalf("order %s of the list's first page is not in the CSV (header %v)", r[0], rows[0])
		}
	}
	if got := len(rows) - 1; got != total {
		t.Fatalf("the CSV has %d records, the list counts %d", got, total)
	}
}
