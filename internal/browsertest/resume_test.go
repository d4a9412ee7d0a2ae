package browsertest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portcullis-dev/portcullis/internal/demo"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Scenario (portal.md §5): Tina's session ends while she writes a ticket
// (deleted in the store, as when it times out). Sending the form takes her
// to sign in, which says why; after signing in she is back on the form
// with what she typed and a notice, and nothing was created meanwhile.
func TestExpiredSessionKeepsTheTypedForm(t *testing.T) {
	e := newEnv(t)
	b := e.newTab("tina")
	b.signInDemo(tinaTix)
	const form = "/a/C-HOOLI-SITE1/ticket/new"
	b.mustStatus("new ticket form", b.open(form), http.StatusOK)
	subject := "Label printer jams (" + uniq() + ")"
	b.fill("Title", subject)
	b.do("describe it", chromedp.SendKeys(field("Description"), "Every second label, since Monday."))
	b.choose("Type", "incident")
	b.choose("Priority", "high")
	tickets := func() int {
		recs := e.records(store.RecordQuery{Type: "ticket", Accounts: []string{"C-HOOLI-SITE1"}, Limit: 500})
		return len(recs)
	}
	before := tickets()

	if err := e.st.DeleteUserSessions(context.Background(), "U-TINA"); err != nil {
		t.Fatal(err)
	}
	b.mustStatus("send the form", b.navigate("send the form after the session ended", chromedp.Click(button("Create ticket"))), http.StatusOK)
	if loc := b.location(); !strings.HasPrefix(loc, "/login?") {
		t.Fatalf("the form sent without a session went to %s: %s", loc, b.text())
	}
	b.mustSee("Your session has expired. Sign in again to return to your form")
	b.do("sign in again",
		chromedp.SendKeys(field("Email"), tinaTix),
		chromedp.SendKeys(field("Password"), demo.Password),
	)
	b.mustStatus("signed in", b.navigate("sign in", chromedp.Click(button("Sign in"))), http.StatusOK)
	if loc := b.location(); loc != form {
		t.Fatalf("after signing in tina is at %s, want the form %s: %s", loc, form, b.text())
	}
	if f := b.flash(); !strings.Contains(f, "Your session had expired, so you had to sign in again.") {
		t.Fatalf("no notice on the form: %q", f)
	}
	if got := eval[string](b, control("", "Title")+".value"); got != subject {
		t.Fatalf("title %q, want %q", got, subject)
	}
	if got := eval[string](b, control("", "Description")+".value"); got != "Every second label, since Monday." {
		t.Fatalf("description %q", got)
	}
	if !selectedIs(b.options("Type"), "incident") || !selectedIs(b.options("Priority"), "high") {
		t.Fatalf("choices not kept: type %v, priority %v", b.options("Type"), b.options("Priority"))
	}
	if n := tickets(); n != before {
		t.Fatalf("%d tickets, had %d: the form sent without a session created one", n, before)
	}
	// Sent again, it creates the ticket.
	b.mustStatus("create ticket", b.navigate("create the ticket", chromedp.Click(button("Create ticket"))), http.StatusOK)
	b.mustSee("Created.", subject)
}
