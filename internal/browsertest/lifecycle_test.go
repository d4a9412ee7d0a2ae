package browsertest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/demo"
)

// identity.md §5: Dave, the customer admin, deactivates his colleague Anna
// from Company users, who then cannot sign in, and reactivates her, who
// then can; the Owner's row offers neither.
func TestCustomerAdminDeactivatesAndReactivatesColleague(t *testing.T) {
	e := newEnv(t)
	anna, err := e.st.GetUserByEmail(context.Background(), annaL20)
	if err != nil {
		t.Fatal(err)
	}
	b := e.newTab("dave")
	b.signInDemo(daveAdmin)
	b.mustStatus("company users", b.navigate("open Company users", chromedp.Click(navLink("Company users"))), http.StatusOK)
	b.do("wait for the people", chromedp.WaitVisible(xpath(`//h2[@id='people']`)))

	person := func(email string) string {
		return `//section[@aria-labelledby='people']//tbody/tr[contains(., ` + xlit(email) + `)]`
	}
	rowText := func(email string) string {
		return eval[string](b, `document.evaluate(`+jsString(person(email))+`, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue.innerText`)
	}
	if txt := rowText(olgaOwner); strings.Contains(txt, "Deactivate") || strings.Contains(txt, "Send password reset") {
		t.Fatalf("the Owner's row offers a status change: %q", txt)
	}

	b.mustStatus("deactivate", b.navigate("deactivate Anna",
		chromedp.Click(xpath(person(annaL20)+`//button[starts-with(normalize-space(.), 'Deactivate')]`))), http.StatusOK)
	// It asks first and says in one line what Anna loses.
	b.do("the confirmation", chromedp.WaitVisible(heading("Deactivate")))
	b.mustSee(anna.Name + " loses read on")
	if u, _ := e.eng.User(anna.ID); u.Status != access.StatusActive {
		t.Fatalf("Anna is %s before the confirmation", u.Status)
	}
	b.mustStatus("confirm", b.navigate("confirm the deactivation", chromedp.Click(button("Deactivate"))), http.StatusOK)
	if f := b.flash(); !strings.Contains(f, "The user was deactivated") {
		t.Fatalf("after deactivating, the message is %q; page: %s", f, b.text())
	}
	if u, _ := e.eng.User(anna.ID); u.Status != access.StatusDisabled {
		t.Fatalf("Anna is %s after deactivation", u.Status)
	}
	if txt := rowText(annaL20); !strings.Contains(txt, "deactivated") || !strings.Contains(txt, "Reactivate") {
		t.Fatalf("Anna's row after deactivation: %q", txt)
	}

	// Anna cannot sign in while deactivated.
	a := e.newTab("anna")
	a.mustStatus("sign-in page", a.open("/login"), http.StatusOK)
	a.do("fill the sign-in form", chromedp.WaitVisible(heading("Sign in")),
		chromedp.SendKeys(field("Email"), annaL20), chromedp.SendKeys(field("Password"), demo.Password))
	a.navigate("sign in", chromedp.Click(button("Sign in")))
	if loc := a.location(); !strings.HasPrefix(loc, "/login") {
		t.Fatalf("a deactivated user signed in: at %s", loc)
	}

	b.mustStatus("reactivate", b.navigate("reactivate Anna",
		chromedp.Click(xpath(person(annaL20)+`//button[starts-with(normalize-space(.), 'Reactivate')]`))), http.StatusOK)
	b.do("the confirmation", chromedp.WaitVisible(heading("Reactivate")))
	b.mustStatus("confirm", b.navigate("confirm the reactivation", chromedp.Click(button("Reactivate"))), http.StatusOK)
	if f := b.flash(); !strings.Contains(f, "The user was reactivated") {
		t.Fatalf("after reactivating, the message is %q", f)
	}
	if u, _ := e.eng.User(anna.ID); u.Status != access.StatusActive {
		t.Fatalf("Anna is %s after reactivation", u.Status)
	}
	a.signInDemo(annaL20)
}
