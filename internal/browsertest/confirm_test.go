package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// governance.md §1: staff adds a grant in the console's External Access
// panel, sees before saving whom it affects and on how many records (the
// counts the preview computes), and saves it.
func TestStaffPreviewsGrantBeforeSaving(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tina, err := e.st.GetUserByEmail(ctx, tinaTix)
	if err != nil {
		t.Fatal(err)
	}
	// What the preview says the grant does, as the page must show it.
	want, err := app.New(e.st, e.eng, app.Config{}).PreviewChanges(ctx, app.SystemActor("test"), []app.PreviewChange{{Op: "grant.create",
		Grant: &app.GrantUpdate{Principal: app.Some("user:" + tina.ID), Account: app.Some("C-ACME"), Role: app.Some("L20"),
			Scope: app.Some("subtree"), Access: app.Some("read_write")}}})
	if err != nil {
		t.Fatal(err)
	}
	var orders *app.PreviewEffect
	for i, fx := range want.Effects {
		if fx.Type == "sales_order" && fx.Action == "read" {
			orders = &want.Effects[i]
		}
	}
	if orders == nil || orders.Gained == 0 {
		t.Fatalf("the grant gives Tina no Acme sales orders: %+v", want)
	}

	b := e.newTab("admin")
	b.signInDemo(staffAdm)
	b.mustStatus("account", b.open("/admin/accounts/C-ACME"), http.StatusOK)
	b.fill("Or type a user id, an email or group:<id>", tinaTix)
	b.choose("Role", "L20")
	b.mustStatus("preview", b.navigate("add the grant", chromedp.Click(button("Add grant"))), http.StatusOK)
	b.do("the confirmation", chromedp.WaitVisible(heading("Add this grant?")))
	b.mustSee(tina.Name, "What this changes", "Sales orders")
	row := eval[string](b, `(() => { const r = [...document.querySelectorAll('#impact tr')].find(r => r.innerText.startsWith('Sales orders') && r.innerText.includes('read')); return r ? r.innerText : ''; })()`)
	if !strings.Contains(row, fmt.Sprintf("+%d", orders.Gained)) {
		t.Fatalf("the Sales orders row is %q, want +%d", row, orders.Gained)
	}
	if gs, _, _ := e.st.ListGrants(ctx, store.GrantFilter{Principal: "user:" + tina.ID, Account: "C-ACME"}); len(gs) != 0 {
		t.Fatalf("the grant was saved before its confirmation: %+v", gs)
	}

	b.mustStatus("save", b.navigate("save the grant", chromedp.Click(button("Save grant"))), http.StatusOK)
	if f := b.flash(); !strings.Contains(f, "The grant was added") {
		t.Fatalf("after saving, the message is %q", f)
	}
	gs, _, err := e.st.ListGrants(ctx, store.GrantFilter{Principal: "user:" + tina.ID, Account: "C-ACME"})
	if err != nil || len(gs) != 1 || gs[0].Role != "L20" {
		t.Fatalf("Tina's grants on C-ACME: %+v (%v)", gs, err)
	}
}
