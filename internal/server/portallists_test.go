package server_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// putOrders writes n sales orders SO-<prefix>-0001... owned by owner, one
// a day back from today, status open (even) or shipped (odd).
func (env *testEnv) putOrders(owner, prefix string, n int) {
	env.t.Helper()
	var b store.RecordBatch
	for i := 1; i <= n; i++ {
		status := "open"
		if i%2 == 1 {
			status = "shipped"
		}
		id := fmt.Sprintf("SO-%s-%04d", prefix, i)
		b.Upsert = append(b.Upsert, &access.Record{Type: "sales_order", ID: id, Owner: owner,
			Date:       time.Now().UTC().AddDate(0, 0, -i).Format(time.DateOnly),
			Attributes: map[string]any{"number": id, "status": status, "customer": owner, "po_number": "PO-" + prefix + fmt.Sprint(i)}})
	}
	if _, err := env.st.Batch(context.Background(), store.Write{}, b); err != nil {
		env.t.Fatal(err)
	}
}

// unescaped is p with its HTML character references replaced ("+" is
// "&#43;" in html/template's text).
func unescaped(p htmlPage) htmlPage {
	p.body = html.UnescapeString(p.body)
	return p
}

// caption returns the text of a list page's table caption.
func caption(t *testing.T, p htmlPage) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<caption[^>]*>(.*?)</caption>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no caption on %s: %s", p.url, p.body)
	}
	return html.UnescapeString(strings.TrimSpace(m[1]))
}

// link returns the href of the first <a> whose attributes hold attr
// (rel="next", ...), "" when there is none.
func link(p htmlPage, attr string) string {
	m := regexp.MustCompile(`<a href="([^"]*)"[^>]*` + regexp.QuoteMeta(attr)).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// rowIDs returns the record ids of a list page's rows, in order.
func rowIDs(p htmlPage) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<tr>\s*<td><a href="[^"]*">([^<]+)</a></td>`).FindAllStringSubmatch(p.body, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestPortalHome_Counts: the home counts what the lists show (exact up to
// 1,000, then "1,000+"), lists the newest records, counts open tickets and,
// for a billing role, open and overdue invoices with their totals in the
// locale's money format.
func TestPortalHome_Counts(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		env.putOrders("C2", "G", 1003)
		today := time.Now().UTC()
		day := func(d int) string { return today.AddDate(0, 0, d).Format(time.DateOnly) }
		recs := []*access.Record{
			{Type: "invoice", ID: "INV-OLD", Owner: "C2", Date: day(-40), Attributes: map[string]any{"number": "INV-OLD", "status": "open", "due_date": day(-10), "amount": 100.5, "currency": "EUR"}},
			{Type: "invoice", ID: "INV-NEW", Owner: "C2", Date: day(-2), Attributes: map[string]any{"number": "INV-NEW", "status": "open", "due_date": day(28), "amount": 1200.0, "currency": "EUR"}},
			{Type: "invoice", ID: "INV-PAID", Owner: "C2", Date: day(-60), Attributes: map[string]any{"number": "INV-PAID", "status": "paid", "due_date": day(-30), "amount": 70.0, "currency": "EUR"}},
			{Type: "invoice", ID: "INV-C1", Owner: "C1", Date: day(-60), Attributes: map[string]any{"number": "INV-C1", "status": "open", "due_date": day(-30), "amount": 9999.0, "currency": "EUR"}},
			{Type: "ticket", ID: "T-OPEN", Owner: "C2", Date: day(0), Attributes: map[string]any{"title": "Leak", "status": "in_progress"}},
			{Type: "ticket", ID: "T-DONE", Owner: "C2", Date: day(-1), Attributes: map[string]any{"title": "Fixed", "status": "closed"}},
		}
		if _, err := env.st.Batch(ctx, store.Write{}, store.RecordBatch{Upsert: recs}); err != nil {
			t.Fatal(err)
		}
		b := env.browse("other") // L40 on C2: billing
		home := unescaped(b.get("/a/C2/"))
		home.must(t, http.StatusOK, "Open tickets", "Open invoices", "Overdue invoices", "1,000+", "€1,300.50", "€100.50",
			`href="/a/C2/sales_order/SO2"`, `href="/a/C2/invoice/INV-NEW"`, `href="/a/C2/ticket/T-OPEN">T-OPEN</a> Leak`)
		home.mustNot(t, "INV-C1", "9,999", "€1,370.50")
		// The figures: 2 open invoices, 1 overdue, 1 open ticket, 3 invoices in all.
		for _, want := range []string{
			`>2</a></p>`, `>1</a></p>`,
			`<a href="/a/C2/invoice">Invoices</a> <span class="count" title="Records you can see">3</span>`,
			`<a href="/a/C2/ticket">Tickets</a> <span class="count" title="Records you can see">2</span>`,
		} {
			if !strings.Contains(home.body, want) {
				t.Errorf("home lacks %q", want)
			}
		}
		// The overdue figure links to the list it counts.
		m := regexp.MustCompile(`Overdue invoices</h2><p class="figure"><a href="([^"]*)"`).FindStringSubmatch(home.body)
		if m == nil {
			t.Fatalf("no overdue link")
		}
		list := b.get(m[1])
		if got := rowIDs(list); len(got) != 1 || got[0] != "INV-OLD" {
			t.Errorf("the overdue list shows %v, want [INV-OLD]", got)
		}
		// Exactly 1,000 is still exact.
		env.putOrders("C1-ST1", "S", 999) // SO3 is there too
		sold := unescaped(env.browse("u30").get("/a/C1-ST1/"))
		sold.must(t, http.StatusOK, `<span class="count" title="Records you can see">1,000</span>`)
		sold.mustNot(t, "Open invoices", "1,000+") // L30: no billing
		// German formats.
		u, _ := env.st.GetUser(ctx, "other")
		u.Locale = "de"
		if _, _, err := env.st.PutUser(ctx, store.Write{Actor: "test"}, u); err != nil {
			t.Fatal(err)
		}
		unescaped(env.browse("other").get("/a/C2/")).must(t, http.StatusOK, "Offene Rechnungen", "1.000+", "1.300,50 €")
	})
}

// TestPortalList_SearchFilterPage: search by number and text, filters
// (select, range, store), and paging forward and back with the count, in
// the list query on both databases.
func TestPortalList_SearchFilterPage(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		env.putOrders("C1", "A", 60)
		env.putOrders("C1-ST1", "B", 3)
		env.putOrders("C2", "X", 5)
		b := env.browse("u30")

		// Search by number, within what the user sees.
		p := b.get("/a/C1/sales_order?q=so-a-0042")
		p.must(t, http.StatusOK, `<input id="q" name="q" type="search" maxlength="100" value="so-a-0042"`)
		if got := rowIDs(p); len(got) != 1 || got[0] != "SO-A-0042" {
			t.Errorf("search so-a-0042: %v", got)
		}
		if c := caption(t, p); c != "1–1 of 1" {
			t.Errorf("caption %q", c)
		}
		// In a declared string field (po_number), never in another
		// customer's records nor in an undeclared attribute.
		if got := rowIDs(b.get("/a/C1/sales_order?q=PO-B2")); len(got) != 1 || got[0] != "SO-B-0002" {
			t.Errorf("search PO-B2: %v", got)
		}
		for _, q := range []string{"SO-X-0001", "c1-secret-note", "%"} {
			if got := rowIDs(b.get("/a/C1/sales_order?q=" + url.QueryEscape(q))); len(got) != 0 {
				t.Errorf("search %q found %v", q, got)
			}
		}

		// The store filter: the accounts below the current one.
		p = b.get("/a/C1/sales_order")
		if got := selectOptions(t, p.body, "account"); len(got) != 1 || got[0] != "C1-ST1" {
			t.Errorf("store filter options %v", got)
		}
		if got := selectOptions(t, p.body, "attr.status"); !strings.Contains(strings.Join(got, ","), "shipped") {
			t.Errorf("status options %v", got)
		}
		p.must(t, http.StatusOK, `name="attr.order_date.from" type="date"`, `name="attr.price.from" type="number"`)
		p.mustNot(t, `name="attr.customer"`, `name="attr.po_number"`)
		got := rowIDs(b.get("/a/C1/sales_order?account=C1-ST1&sort=id"))
		if strings.Join(got, ",") != "SO-B-0001,SO-B-0002,SO-B-0003,SO3" {
			t.Errorf("store C1-ST1: %v", got)
		}
		p = b.get("/a/C1/sales_order?attr.status=open&q=SO-A")
		if c := caption(t, p); c != "1–25 of 30" {
			t.Errorf("open orders: caption %q", c)
		}
		from, to := time.Now().UTC().AddDate(0, 0, -12).Format(time.DateOnly), time.Now().UTC().AddDate(0, 0, -10).Format(time.DateOnly)
		if got := rowIDs(b.get("/a/C1/sales_order?q=SO-A&date_from=" + from + "&date_to=" + to)); strings.Join(got, ",") != "SO-A-0010,SO-A-0011,SO-A-0012" {
			t.Errorf("dates %s..%s: %v", from, to, got)
		}
		// An L20 user gets no price filter, and a forged one is refused.
		b20 := env.browse("u20")
		b20.get("/a/C1/sales_order").mustNot(t, `attr.price.from`, `attr.amount`)
		b20.get("/a/C1/sales_order?attr.price.from=1").must(t, http.StatusBadRequest)

		// Paging: forward, forward, back, back, with the count.
		p = b.get("/a/C1/sales_order?q=SO-A")
		first := rowIDs(p)
		if c := caption(t, p); c != "1–25 of 60" || len(first) != 25 || link(p, `rel="prev"`) != "" {
			t.Fatalf("page 1: caption %q, %d rows, prev %q", c, len(first), link(p, `rel="prev"`))
		}
		p2 := b.get(link(p, `rel="next"`))
		if c := caption(t, p2); c != "26–50 of 60" {
			t.Errorf("page 2: caption %q", c)
		}
		p3 := b.get(link(p2, `rel="next"`))
		if c := caption(t, p3); c != "51–60 of 60" || link(p3, `rel="next"`) != "" {
			t.Errorf("page 3: caption %q, next %q", c, link(p3, `rel="next"`))
		}
		back := b.get(link(p3, `rel="prev"`))
		if caption(t, back) != "26–50 of 60" || strings.Join(rowIDs(back), ",") != strings.Join(rowIDs(p2), ",") {
			t.Errorf("back to page 2: %q %v", caption(t, back), rowIDs(back))
		}
		back = b.get(link(back, `rel="prev"`))
		if caption(t, back) != "1–25 of 60" || strings.Join(rowIDs(back), ",") != strings.Join(first, ",") {
			t.Errorf("back to page 1: %q %v", caption(t, back), rowIDs(back))
		}

		// The API takes the same search.
		res := env.as("u30").do("GET", "/api/v1/records/sales_order?q=SO3", nil)
		if items, _ := res.json(t)["items"].([]any); res.status != http.StatusOK || len(items) != 1 {
			t.Errorf("API q=SO3: %d %s", res.status, res.body)
		}
		res = env.as("u20").do("GET", "/api/v1/records/sales_order?attr.price.to=5", nil)
		if res.status != http.StatusBadRequest || res.code() != "invalid_field" {
			t.Errorf("API price range as L20: %d %s", res.status, res.body)
		}
		res = env.as("u30").do("GET", "/api/v1/records/sales_order?attr.status.from=a", nil)
		if res.status != http.StatusBadRequest || res.code() != "invalid_field" {
			t.Errorf("API range on a string field: %d %s", res.status, res.body)
		}
	})
}

// TestPortal_LocaleFromBrowser: a user who chose no language gets the
// browser's; one who chose gets its own whatever the browser says.
func TestPortal_LocaleFromBrowser(t *testing.T) {
	env := newEnv(t, t.TempDir()+"/test.db")
	b := env.browse("u30")
	get := func() string {
		req, _ := http.NewRequest("GET", env.srv.URL+"/a/C1/sales_order", nil)
		req.Header.Set("Accept-Language", "de-DE,de;q=0.9,en;q=0.5")
		res, err := b.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return readPage(t, res).body
	}
	if body := get(); !strings.Contains(body, "Aufträge") || !strings.Contains(body, `lang="de"`) {
		t.Errorf("no locale chosen, browser German: the page is not German")
	}
	b.post("/profile/locale", url.Values{"locale": {"zh"}})
	if body := get(); !strings.Contains(body, `lang="zh-Hans"`) {
		t.Errorf("locale zh chosen: the page is not Chinese")
	}
	b.post("/profile/locale", url.Values{"locale": {""}})
	if body := get(); !strings.Contains(body, `lang="de"`) {
		t.Errorf("locale reset: the page does not follow the browser again")
	}
}

// TestPortalRecord_BelongsToByTitle: a record's parent is named by its
// type's title and number, not the policy's type name.
func TestPortalRecord_BelongsToByTitle(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, env *testEnv) {
		p := env.browse("u20").get("/a/C1/shipment/SH1")
		p.must(t, http.StatusOK, "Belongs to", `">Sales order SO1</a>`)
		p.mustNot(t, "sales_order SO1")
	})
}
