package browsertest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// layoutWidths are the widths no page may scroll sideways at (portal.md
// §7): a phone and a laptop.
var layoutWidths = []int64{390, 1280}

// TestLayout_NoPageScrollsSideways opens the main pages of the portal (as
// a customer admin) and of the console (as the staff admin) at 390 and
// 1280 px: the document is never wider than the window. Wide tables scroll
// inside their card instead.
func TestLayout_NoPageScrollsSideways(t *testing.T) {
	e := newEnv(t)
	order := newestAcmeOrder(e)
	pages := []struct {
		who   string
		paths []string
	}{
		{"dave.admin@acme.example", []string{"/", "/a/C-ACME/", "/a/C-ACME/sales_order", "/a/C-ACME/sales_order/" + order.ID,
			"/a/C-ACME/sales_order/new", "/a/C-ACME/ticket", "/a/C-ACME/ticket/new", "/a/C-ACME/users", "/profile"}},
		{"admin@northwind.example", []string{"/admin/", "/admin/accounts", "/admin/accounts/C-ACME", "/admin/accounts/C-ACME-ST2?pick=1&find=acme", "/admin/users",
			"/admin/users/U-ANNA", "/admin/groups", "/admin/groups/acct:C-ACME-ST1?pick=1&find=acme",
			"/admin/policy", "/admin/audit", "/admin/check", "/admin/records?type=sales_order", "/admin/records/sales_order/" + order.ID,
			"/admin/outbox"}},
	}
	for _, p := range pages {
		b := e.newTab(p.who)
		b.signInDemo(p.who)
		for _, w := range layoutWidths {
			b.do("set the width", chromedp.EmulateViewport(w, 900))
			for _, path := range p.paths {
				b.mustStatus(path, b.open(path), http.StatusOK)
				type extent struct {
					Doc, Win int
					Widest   string
				}
				got := eval[extent](b, `(() => {
					const win = document.documentElement.clientWidth;
					let widest = "";
					for (const el of document.querySelectorAll("body *")) {
						const r = el.getBoundingClientRect();
						if (r.right > win + 1) {
							widest = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + String(el.className).split(" ").join(".") : "") + " " + Math.round(r.right) + "px";
							break;
						}
					}
					return {Doc: document.documentElement.scrollWidth, Win: win, Widest: widest};
				})()`)
				if got.Doc > got.Win+1 {
					t.Errorf("%s at %d px: %s is %d px wide in a %d px window (%s)", p.who, w, path, got.Doc, got.Win, strings.TrimSpace(got.Widest))
				}
			}
		}
	}
}
