package browsertest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portcullis-dev/portcullis/internal/store"
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
	// A grant on Acme that may be removed: its removal's confirmation
	// (console) and its revoke page (portal) show the preview's effects.
	grant := removableAcmeGrant(e)
	pages := []struct {
		who   string
		paths []string
		// addGrant: also the confirmation of adding a grant (console).
		addGrant bool
	}{
		{"dave.admin@acme.example", []string{"/", "/a/C-ACME/", "/a/C-ACME/sales_order", "/a/C-ACME/sales_order/" + order.ID,
			"/a/C-ACME/sales_order/new", "/a/C-ACME/ticket", "/a/C-ACME/ticket/new", "/a/C-ACME/users", "/profile"}, false},
		{"admin@northwind.example", []string{"/admin/", "/admin/accounts", "/admin/accounts/C-ACME", "/admin/accounts/C-ACME-ST2?pick=1&find=acme", "/admin/users",
			"/admin/users/U-ANNA", "/admin/groups", "/admin/groups/acct:C-ACME-ST1?pick=1&find=acme"}, false},
		{"admin@northwind.example", []string{"/admin/policy", "/admin/audit", "/admin/check", "/admin/records?type=sales_order", "/admin/records/sales_order/" + order.ID,
			"/admin/outbox"}, false},
		// The confirmations of access changes, in tabs of their own (each
		// tab has testTimeout): a grant's removal, its revocation in the
		// portal; the add-grant confirmation follows below.
		{staffAdm, []string{"/admin/accounts/C-ACME?remove=" + grant + "#remove-grant"}, true},
		{daveAdmin, []string{"/a/C-ACME/users/revoke?grant=" + grant}, false},
	}
	for _, p := range pages {
		b := e.newTab(p.who)
		b.signInDemo(p.who)
		for _, w := range layoutWidths {
			b.do("set the width", chromedp.EmulateViewport(w, 900))
			for _, path := range p.paths {
				b.mustStatus(path, b.open(path), http.StatusOK)
				b.mustFit(path, w)
			}
			if p.addGrant {
				// The confirmation a grant's first submit shows.
				b.mustStatus("account", b.open("/admin/accounts/C-ACME"), http.StatusOK)
				b.fill("Or type a user id, an email or group:<id>", tinaTix)
				b.mustStatus("confirmation", b.navigate("add a grant", chromedp.Click(button("Add grant"))), http.StatusOK)
				b.do("the confirmation", chromedp.WaitVisible(heading("Add this grant?")))
				b.mustFit("the grant's confirmation", w)
			}
		}
	}
}

// mustFit fails when the page is wider than the window (what is the
// page, w the window's width).
func (b *tab) mustFit(what string, w int64) {
	b.t.Helper()
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
		b.t.Errorf("%s at %d px: %s is %d px wide in a %d px window (%s)", b.name, w, what, got.Doc, got.Win, strings.TrimSpace(got.Widest))
	}
}

// removableAcmeGrant is the id of Anna's grant on C-ACME (role L20, which
// Dave may revoke).
func removableAcmeGrant(e *env) string {
	e.t.Helper()
	ctx := context.Background()
	anna, err := e.st.GetUserByEmail(ctx, annaL20)
	if err != nil {
		e.t.Fatal(err)
	}
	gs, _, err := e.st.ListGrants(ctx, store.GrantFilter{Account: "C-ACME", Principal: "user:" + anna.ID})
	if err != nil || len(gs) != 1 {
		e.t.Fatalf("Anna's grants on C-ACME: %v %v", gs, err)
	}
	return gs[0].ID
}
