package browsertest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/internal/store"
)

// Scenario (#12, records.md §1): Acme's customer admin places an order in
// the portal. The form asks for what a customer may write (PO number,
// requested date, notes, delivery address, lines of SKU and quantity),
// never for prices, totals or status; lines are built by searching Acme's
// inventory and adding items. The stored order is numbered WEB-…, starts
// "requested" and is dated today.
func TestCustomerAdminOrdersFromInventory(t *testing.T) {
	e := newEnv(t)
	stock := e.records(store.RecordQuery{Type: "inventory", Accounts: []string{"C-ACME"}, Sort: "id", Limit: 20})
	if len(stock) < 2 {
		t.Fatalf("the demo gives Acme %d inventory items, want at least 2", len(stock))
	}
	sku1, _ := stock[0].Attributes["sku"].(string)
	sku2, _ := stock[1].Attributes["sku"].(string)
	if sku1 == "" || sku2 == "" || sku1 == sku2 {
		t.Fatalf("demo inventory SKUs %q %q", sku1, sku2)
	}

	b := e.newTab("dave")
	b.signInDemo(daveAdmin)
	b.mustStatus("orders", b.navigate("open Sales order", chromedp.Click(navLink("Sales orders"))), http.StatusOK)
	b.mustStatus("new order form", b.navigate("open New Sales order", chromedp.Click(link("New Sales order"))), http.StatusOK)
	b.do("wait for the form", chromedp.WaitVisible(heading("New sales order")))
	if eval[bool](b, `!!document.querySelector('main [name*="price"], main [name="status"], main [name="amount"], main [name="discount"], main [name="number"], main [name="order_date"]')`) {
		t.Fatalf("the order form asks for ERP-owned values: %s", b.html())
	}

	po := "PO-" + uniq()
	b.fill("PO number", po)
	b.do("set the requested date", chromedp.SetValue(field("Requested date"), "2030-03-01"))
	// Clear cannot empty a textarea without text: type into it.
	b.do("fill the notes", chromedp.SendKeys(field("Notes"), "Please call before delivery"))
	b.do("fill the delivery address", chromedp.SendKeys(field("Delivery address"), "Dock 4"))
	for _, sku := range []string{sku1, sku2} {
		b.fill("Find items by SKU or name", sku)
		b.mustStatus("search "+sku, b.navigate("search "+sku, chromedp.Click(button("Search"))), http.StatusOK)
		b.mustStatus("add "+sku, b.navigate("add "+sku, chromedp.Click(xpath(`//button[@value=`+xlit("add:"+sku)+`]`))), http.StatusOK)
	}
	b.fill("Qty, line 1", "5")
	b.mustStatus("create the order", b.navigate("create the order", chromedp.Click(xpath(`//p[@class='actions']/button`))), http.StatusOK)

	loc := b.location()
	id, ok := strings.CutPrefix(strings.Split(loc, "?")[0], "/a/C-ACME/sales_order/")
	if !ok || !strings.HasPrefix(id, "WEB-") {
		t.Fatalf("after ordering dave is at %s: %s", loc, b.text())
	}
	b.mustSee("Created.", po, sku1, sku2, "Requested")

	rec, err := e.st.GetRecord(context.Background(), "sales_order", id)
	if err != nil {
		t.Fatalf("the new order %s is not in the store: %v", id, err)
	}
	want := []any{map[string]any{"sku": sku1, "qty": 5.0}, map[string]any{"sku": sku2, "qty": 1.0}}
	if diff := cmp.Diff(want, rec.Attributes["lines"]); diff != "" {
		t.Fatalf("stored lines (-want +got):\n%s", diff)
	}
	today := clock().UTC().Format("2006-01-02")
	if rec.Owner != "C-ACME" || rec.Creator != "U-DAVE" || rec.Attributes["number"] != id || rec.Attributes["status"] != "requested" ||
		rec.Attributes["po_number"] != po || rec.Attributes["requested_date"] != "2030-03-01" || rec.Attributes["delivery_address"] != "Dock 4" ||
		rec.Attributes["order_date"] != today || rec.Attributes["price"] != nil {
		t.Fatalf("the stored order is %+v", rec)
	}
}
