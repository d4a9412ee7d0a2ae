package browsertest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portcullis-dev/portcullis/internal/store"
)

// governance.md §2: Dave, the customer admin of Acme, starts an access
// review from the portal, revokes Anna, keeps everyone else with "Keep all
// remaining", sees the Owner's access left to staff, and closes the
// review: Anna's access ends, audited, and the Owner's stays.
func TestCustomerAdminWalksThroughAccessReview(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	anna, err := e.st.GetUserByEmail(ctx, annaL20)
	if err != nil {
		t.Fatal(err)
	}
	olga, err := e.st.GetUserByEmail(ctx, olgaOwner)
	if err != nil {
		t.Fatal(err)
	}
	b := e.newTab("dave")
	b.signInDemo(daveAdmin)
	b.mustStatus("access review", b.navigate("open Access review", chromedp.Click(navLink("Access review"))), http.StatusOK)
	b.do("wait for the start form", chromedp.WaitVisible(button("Start the review")))
	b.mustStatus("start", b.navigate("start a review", chromedp.Click(button("Start the review"))), http.StatusOK)
	if f := b.flash(); !strings.Contains(f, "The access review was started") {
		t.Fatalf("after starting, the message is %q; page: %s", f, b.text())
	}
	loc := b.location()
	id, ok := strings.CutPrefix(strings.SplitN(loc, "?", 2)[0], "/reviews/")
	if !ok {
		t.Fatalf("after starting, at %s", loc)
	}

	row := func(email string) string {
		return `//tbody/tr[contains(., ` + xlit(email) + `)]`
	}
	rowText := func(email string) string {
		return eval[string](b, `document.evaluate(`+jsString(row(email))+`, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue.innerText`)
	}
	if txt := rowText(olgaOwner); !strings.Contains(txt, "for staff") || strings.Contains(txt, "Revoke") {
		t.Fatalf("the Owner's row is Dave's to answer: %q", txt)
	}
	b.mustStatus("revoke", b.navigate("revoke Anna",
		chromedp.Click(xpath(row(annaL20)+`//button[starts-with(normalize-space(.), 'Revoke')]`))), http.StatusOK)
	if f := b.flash(); !strings.Contains(f, "Your answer was saved") {
		t.Fatalf("after revoking, the message is %q", f)
	}
	b.mustStatus("keep all", b.navigate("keep all remaining", chromedp.Click(button("Keep all remaining"))), http.StatusOK)
	if f := b.flash(); !strings.Contains(f, "Every remaining entry is marked Keep") {
		t.Fatalf("after keep all, the message is %q", f)
	}
	if txt := rowText(annaL20); !strings.Contains(txt, "Revoke") {
		t.Fatalf("keep all changed Anna's answer: %q", txt)
	}

	// Closing without the confirmation is refused, with the reason.
	b.mustStatus("close unconfirmed", b.navigate("close without confirming", chromedp.Click(button("Close the review"))), http.StatusBadRequest)
	b.mustSee("Tick the box to confirm")
	b.do("confirm", chromedp.Click(field("Yes, close the review now: revoked access ends at once")))
	b.mustStatus("close", b.navigate("close the review", chromedp.Click(button("Close the review"))), http.StatusOK)
	if f := b.flash(); !strings.Contains(f, "The review was closed") {
		t.Fatalf("after closing, the message is %q", f)
	}

	items, err := e.st.ReviewItems(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	revoked := 0
	for _, it := range items {
		switch {
		case it.UserID == anna.ID && it.Outcome != store.OutcomeRevoked && it.Outcome != store.OutcomeGone:
			t.Errorf("Anna's %s item: %s", it.Kind, it.Outcome)
		case it.UserID == olga.ID && it.Outcome != store.OutcomeKept:
			t.Errorf("the Owner's item: %s", it.Outcome)
		case it.UserID != anna.ID && it.Outcome == store.OutcomeRevoked:
			t.Errorf("%s's %s item was revoked", it.UserID, it.Kind)
		}
		if it.Outcome == store.OutcomeRevoked {
			revoked++
			if it.Kind == store.ItemGrant {
				if _, ok := e.eng.Grant(it.GrantID); ok {
					t.Errorf("Anna's grant %s is still there", it.GrantID)
				}
			}
		}
	}
	if revoked == 0 {
		t.Error("nothing was revoked")
	}
	entries, _, err := e.st.ListAudit(ctx, store.AuditFilter{Target: "review:" + id})
	if err != nil {
		t.Fatal(err)
	}
	decisions := 0
	for _, en := range entries {
		if en.Action == "review.decide" {
			decisions++
		}
	}
	answered := 0
	for _, it := range items {
		if it.Decision != nil {
			answered++
		}
	}
	if decisions != answered {
		t.Errorf("%d review.decide entries for %d answered items", decisions, answered)
	}
	b.mustSee("Closed on")
}
