package browsertest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portcullis-dev/portcullis/internal/store"
)

// TestConsoleAddsGrantThroughPicker: a staff admin adds a grant on a
// sold-to by typing part of a user's name into the picker (search as you
// type, picker.js), picking the user and saving; the no-JavaScript Search
// users button keeps what was typed in the form.
func TestConsoleAddsGrantThroughPicker(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const acct = "C-ACME-ST2"
	adm := e.newTab("admin")
	adm.signInDemo(staffAdm)
	adm.mustStatus("account page", adm.open("/admin/accounts/"+acct), http.StatusOK)

	// The Search users button submits the form to the page, keeping it.
	adm.write("Notes", "kept while searching")
	adm.fill("Find a user by name or email", "dave")
	adm.mustStatus("search users", adm.navigate("search users", chromedp.Click(button("Search users"))), http.StatusOK)
	if loc := adm.location(); !strings.Contains(loc, "pick=1") {
		t.Fatalf("the search went to %s", loc)
	}
	if v := eval[string](adm, control("", "Notes")+`.value`); v != "kept while searching" {
		t.Fatalf("after the search the notes are %q", v)
	}
	adm.do("Dave is offered", chromedp.WaitVisible(xpath(`//div[@id='g-principal-choices']//label[contains(., 'Dave Whitfield')]`)))

	// Search as you type: Rita appears without leaving the page.
	adm.fill("Find a user by name or email", "haddad")
	rita := xpath(`//div[@id='g-principal-choices']//label[contains(., 'Rita Haddad')]`)
	adm.do("Rita is offered as you type", chromedp.WaitVisible(rita))
	if loc := adm.location(); strings.Contains(loc, "haddad") {
		t.Fatalf("typing left the page: %s", loc)
	}
	adm.do("pick Rita", chromedp.Click(rita))
	adm.choose("Role", "L30")
	adm.fill("Notes", "picked in the browser")
	adm.mustStatus("add the grant", adm.navigate("add the grant", chromedp.Click(button("Add grant"))), http.StatusOK)
	adm.do("the confirmation", chromedp.WaitVisible(heading("Add this grant?")))
	adm.mustStatus("save the grant", adm.navigate("save the grant", chromedp.Click(button("Save grant"))), http.StatusOK)
	if f := adm.flash(); !strings.Contains(f, "The grant was added") {
		t.Fatalf("after adding, the message is %q: %s", f, adm.text())
	}
	gs, _, err := e.st.ListGrants(ctx, store.GrantFilter{Account: acct, Principal: "user:U-RITA"})
	if err != nil || len(gs) != 1 || gs[0].Role != "L30" || gs[0].Notes != "picked in the browser" {
		t.Fatalf("Rita's grant on %s: %+v %v", acct, gs, err)
	}
	adm.mustSee("Rita Haddad", "Orders with Prices")
}
