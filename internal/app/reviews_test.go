package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
)

// reviewWorld is the world of the access review tests:
//
//	C (external access) ─ C-S (external access)
//
// users adm (home C, L80 on C), own (home C, L90 on C), u1 (home C-S, L20
// on C-S, member of acct:C-S), u2 (home C, L30 on C), admin (staff). The
// account groups acct:C and acct:C-S carry the default L10.
type reviewWorld struct {
	a     *app.App
	st    store.Store
	staff *app.Actor
	grant map[string]string // user → its grant's id
}

func newReviewWorld(t testing.TB, a *app.App, st store.Store) *reviewWorld {
	ctx := context.Background()
	staff := app.SystemActor("test")
	fail := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, acct := range [][2]string{{"C", ""}, {"C-S", "C"}} {
		in := app.AccountUpdate{Name: app.Some("Account " + acct[0]), ExternalAccess: app.Some(true)}
		if acct[1] != "" {
			in.Parent = app.Some(acct[1])
		}
		_, _, _, err := a.PutAccount(ctx, staff, acct[0], in, true)
		fail(err)
	}
	for _, u := range [][2]string{{"adm", "C"}, {"own", "C"}, {"u1", "C-S"}, {"u2", "C"}} {
		_, _, _, err := a.PutUser(ctx, staff, u[0], app.UserUpdate{Name: app.Some("User " + u[0]), Email: app.Some(u[0] + "@example.com"),
			HomeAccount: app.Some(u[1])}, true)
		fail(err)
	}
	_, _, _, err := a.PutUser(ctx, staff, "admin", app.UserUpdate{Kind: app.Some("internal"), StaffRole: app.Some("admin"),
		Email: app.Some("admin@supplier.example"), Name: app.Some("Sam Staff")}, true)
	fail(err)
	w := &reviewWorld{a: a, st: st, staff: staff, grant: map[string]string{}}
	for _, g := range [][3]string{{"adm", "C", "L80"}, {"own", "C", "L90"}, {"u1", "C-S", "L20"}, {"u2", "C", "L30"}} {
		gr, _, err := a.CreateGrant(ctx, staff, app.GrantUpdate{Principal: app.Some("user:" + g[0]), Account: app.Some(g[1]), Role: app.Some(g[2])})
		fail(err)
		w.grant[g[0]] = gr.ID
	}
	_, err = a.AddAccountGroupMember(ctx, staff, app.MemberChange{Account: "C-S", User: "u1"})
	fail(err)
	return w
}

func (w *reviewWorld) actor(t testing.TB, id string) *app.Actor {
	u, ok := w.a.Engine().User(id)
	if !ok {
		t.Fatalf("no user %s", id)
	}
	return &app.Actor{User: u}
}

// itemOf returns the item of kind about user.
func itemOf(t testing.TB, items []store.ReviewItem, kind, user string) store.ReviewItem {
	t.Helper()
	for _, it := range items {
		if it.Kind == kind && it.UserID == user {
			return it
		}
	}
	t.Fatalf("no %s item of %s among %+v", kind, user, items)
	return store.ReviewItem{}
}

func auditOf(t testing.TB, st store.Store, f store.AuditFilter) []store.AuditEntry {
	t.Helper()
	f.Limit = 500
	es, _, err := st.ListAudit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestReviews_CustomerAdminNeverAboveItsLevel: a customer admin's review
// holds every direct grant and account-group membership of the subtree,
// and every item above its level (the Owner's) or of its own access goes
// to staff, which it can neither answer nor revoke by letting it lapse.
func TestReviews_CustomerAdminNeverAboveItsLevel(t *testing.T) {
	backends(t, func(t *testing.T, a *app.App, st store.Store) {
		ctx := context.Background()
		w := newReviewWorld(t, a, st)
		adm := w.actor(t, "adm")
		d, _, err := a.CreateReview(ctx, adm, app.ReviewRequest{Account: "C", Due: "2031-06-30", OnNoAnswer: "revoke"})
		if err != nil {
			t.Fatal(err)
		}
		if d.Reviewer != "adm" || len(d.Items) != 5 || d.Counts.Total != 5 || d.Counts.Open != 5 {
			t.Fatalf("review = %+v with %d items, want adm's with 5 (4 grants, 1 membership)", d.Review, len(d.Items))
		}
		level := a.Engine().ManageLevel("adm", "C")
		for _, it := range d.Items {
			wantStaff := it.Level > level || it.UserID == "adm"
			if (it.Reviewer == store.ReviewerStaff) != wantStaff {
				t.Errorf("item %s (%s of %s, level %d) goes to %s", it.ID, it.Kind, it.UserID, it.Level, it.Reviewer)
			}
			if it.User.Email != it.UserID+"@example.com" {
				t.Errorf("item %s names %+v", it.ID, it.User)
			}
		}
		owner := itemOf(t, d.Items, store.ItemGrant, "own")
		if owner.Reviewer != store.ReviewerStaff || !owner.Protected {
			t.Errorf("the Owner's item = %+v, want staff's and protected", owner)
		}
		if _, _, err := a.DecideReviewItem(ctx, adm, d.ID, owner.ID, app.ReviewDecision{Decision: "keep"}); access.ErrorCode(err) != access.CodeForbidden {
			t.Errorf("the customer admin answers a staff item: %v, want forbidden", err)
		}
		if _, _, err := a.CreateReview(ctx, adm, app.ReviewRequest{Account: "C", Reviewer: "u2", Due: "2031-06-30"}); access.ErrorCode(err) != access.CodeForbidden {
			t.Errorf("a customer admin names another reviewer: %v, want forbidden", err)
		}
		if _, _, err := a.CreateReview(ctx, w.actor(t, "u2"), app.ReviewRequest{Account: "C", Due: "2031-06-30"}); access.ErrorCode(err) != access.CodeForbidden {
			t.Errorf("a user without manage_users starts a review: %v, want forbidden", err)
		}
		msgs, _, err := st.ListOutbox(ctx, store.OutboxFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].Kind != "review_assigned" || msgs[0].To != "adm@example.com" || !strings.Contains(msgs[0].Text, "/reviews/"+d.ID) {
			t.Errorf("outbox = %+v, want one review_assigned to adm with the link", msgs)
		}
		// Closing early with revoke for unanswered items: the staff items
		// of a customer admin's review are kept, the admin's own are not.
		rv, _, err := a.CloseReview(ctx, adm, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rv.Status != store.ReviewClosed || rv.Counts.Revoked != 3 || rv.Counts.Kept != 2 || rv.Counts.Open != 0 {
			t.Errorf("closed review counts %+v, want 3 revoked (u1 twice, u2), 2 kept (adm, own)", rv.Counts)
		}
		for user, want := range map[string]bool{"adm": true, "own": true, "u1": false, "u2": false} {
			if _, err := st.GetGrant(ctx, w.grant[user]); (err == nil) != want {
				t.Errorf("grant of %s exists: %v, want %v", user, err == nil, want)
			}
		}
	})
}

// TestReviews_RevokeOwnerIsProtected: revoking a protected Owner grant is
// 409 protected, and closing with revoke for unanswered items keeps it.
func TestReviews_RevokeOwnerIsProtected(t *testing.T) {
	backends(t, func(t *testing.T, a *app.App, st store.Store) {
		ctx := context.Background()
		w := newReviewWorld(t, a, st)
		admin := w.actor(t, "admin")
		d, _, err := a.CreateReview(ctx, admin, app.ReviewRequest{Account: "C", Reviewer: "admin", Due: "2031-06-30T12:00:00Z", OnNoAnswer: "revoke"})
		if err != nil {
			t.Fatal(err)
		}
		owner := itemOf(t, d.Items, store.ItemGrant, "own")
		if owner.Reviewer != "admin" {
			t.Errorf("a staff reviewer's item goes to %s", owner.Reviewer)
		}
		if _, _, err := a.DecideReviewItem(ctx, admin, d.ID, owner.ID, app.ReviewDecision{Decision: "revoke"}); access.ErrorCode(err) != access.CodeProtected {
			t.Fatalf("revoke the Owner grant = %v, want protected", err)
		}
		if _, _, err := a.DecideReviewItem(ctx, admin, d.ID, owner.ID, app.ReviewDecision{Decision: "keep", Note: "the owner"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.CloseReview(ctx, admin, d.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetGrant(ctx, w.grant["own"]); err != nil {
			t.Errorf("the Owner grant is gone: %v", err)
		}
		if _, err := st.GetGrant(ctx, w.grant["adm"]); err == nil {
			t.Error("an unanswered grant was kept although on_no_answer is revoke")
		}
		if _, _, err := a.CloseReview(ctx, admin, d.ID); access.ErrorCode(err) != access.CodeConflict {
			t.Errorf("closing twice = %v, want conflict", err)
		}
		if _, _, err := a.DecideReviewItem(ctx, admin, d.ID, owner.ID, app.ReviewDecision{Decision: "keep"}); access.ErrorCode(err) != access.CodeConflict {
			t.Errorf("a decision on a closed review = %v, want conflict", err)
		}
	})
}

// TestReviews_EveryDecisionOneAuditEntry: each decision, changed ones too,
// is one review.decide entry; closing is review.close plus one entry per
// revocation, each naming the review.
func TestReviews_EveryDecisionOneAuditEntry(t *testing.T) {
	backends(t, func(t *testing.T, a *app.App, st store.Store) {
		ctx := context.Background()
		w := newReviewWorld(t, a, st)
		adm := w.actor(t, "adm")
		d, _, err := a.CreateReview(ctx, adm, app.ReviewRequest{Account: "C", Due: "2031-06-30"})
		if err != nil {
			t.Fatal(err)
		}
		u1 := itemOf(t, d.Items, store.ItemGrant, "u1")
		m1 := itemOf(t, d.Items, store.ItemMembership, "u1")
		u2 := itemOf(t, d.Items, store.ItemGrant, "u2")
		for _, step := range []struct {
			item     string
			decision string
		}{{u1.ID, "keep"}, {u1.ID, "revoke"}, {m1.ID, "revoke"}, {u2.ID, "keep"}} {
			if _, _, err := a.DecideReviewItem(ctx, adm, d.ID, step.item, app.ReviewDecision{Decision: step.decision, Note: "checked"}); err != nil {
				t.Fatal(err)
			}
		}
		if got := auditOf(t, st, store.AuditFilter{Target: "review:" + d.ID, Action: "review.decide"}); len(got) != 4 {
			t.Errorf("%d review.decide entries, want 4", len(got))
		} else if !strings.Contains(string(got[0].After), `"decision":"keep"`) || got[0].Actor != "user:adm" {
			t.Errorf("newest decision entry = %+v", got[0])
		}
		before := len(auditOf(t, st, store.AuditFilter{}))
		if _, _, err := a.CloseReview(ctx, adm, d.ID); err != nil {
			t.Fatal(err)
		}
		all := auditOf(t, st, store.AuditFilter{})
		got := all[:len(all)-before]
		want := map[string]bool{"review.close review:" + d.ID: true, "grant.delete grant:" + w.grant["u1"]: true, "member.remove group:acct:C-S": true}
		if len(got) != len(want) {
			t.Errorf("closing wrote %d entries, want %d", len(got), len(want))
		}
		for _, e := range got {
			if !want[e.Action+" "+e.Target] {
				t.Errorf("unexpected entry %s %s", e.Action, e.Target)
			}
			if e.Action != "review.close" {
				var after map[string]string
				if err := json.Unmarshal(e.After, &after); err != nil || after["review"] != d.ID {
					t.Errorf("%s does not name the review: %s", e.Action, e.After)
				}
			}
		}
		if _, err := st.GetGrant(ctx, w.grant["u2"]); err != nil {
			t.Errorf("a kept grant is gone: %v", err)
		}
		if groups := a.Engine().UserGroups("u1"); len(groups) != 0 {
			t.Errorf("u1 is still in %v", groups)
		}
	})
}

// TestReviews_DueClosesOnceOnTwoNodes: a review due yesterday, with a
// monthly schedule, closes exactly once while two nodes (two stores and
// engines on one PostgreSQL database) run their review loops at the same
// time, and exactly one next review follows it.
func TestReviews_DueClosesOnceOnTwoNodes(t *testing.T) {
	dsn := pgtest.DSN(t)
	a1, st1 := openApp(t, dsn)
	a2, _ := openApp(t, dsn)
	ctx := context.Background()
	w := newReviewWorld(t, a1, st1)
	monthly := store.ScheduleMonthly
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	d, _, err := a1.CreateReview(ctx, w.actor(t, "admin"), app.ReviewRequest{Account: "C-S", Reviewer: "admin", Due: yesterday,
		OnNoAnswer: "revoke", Schedule: &monthly})
	if err != nil {
		t.Fatal(err)
	}
	if err := a2.AwaitRevision(ctx, a1.Revision()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	closed := 0
	for _, node := range []*app.App{a1, a2, a1, a2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			round, err := node.RunReviews(ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			closed += round.Closed
			mu.Unlock()
		}()
	}
	wg.Wait()
	if closed != 1 {
		t.Errorf("the nodes closed %d times, want once", closed)
	}
	if got := auditOf(t, st1, store.AuditFilter{Target: "review:" + d.ID, Action: "review.close"}); len(got) != 1 {
		t.Errorf("%d review.close entries, want 1", len(got))
	}
	if got := auditOf(t, st1, store.AuditFilter{Action: "grant.delete"}); len(got) != 1 {
		t.Errorf("%d grant.delete entries, want 1 (u1's)", len(got))
	}
	reviews, _, err := st1.ListReviews(ctx, store.ReviewFilter{Account: "C-S"})
	if err != nil {
		t.Fatal(err)
	}
	if len(reviews) != 2 {
		t.Fatalf("%d reviews, want the closed one and its next", len(reviews))
	}
	prev, err := st1.GetReview(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	next, err := st1.GetReview(ctx, prev.Next)
	if err != nil {
		t.Fatalf("next review %q: %v", prev.Next, err)
	}
	if next.Status != store.ReviewOpen || next.Previous != d.ID || !next.Due.After(time.Now()) || next.CreatedBy != prev.CreatedBy {
		t.Errorf("next review = %+v", next)
	}
	// u1's grant was revoked by the first review: the next one holds only
	// the membership.
	items, err := st1.ReviewItems(ctx, next.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 0 {
		for _, it := range items {
			if it.Kind == store.ItemGrant {
				t.Errorf("the next review holds the revoked grant: %+v", it)
			}
		}
	}
}

// TestReviews_ReminderOnce: a review due within three days reminds its
// reviewer once, however often the loop runs.
func TestReviews_ReminderOnce(t *testing.T) {
	a, st := openApp(t, ":memory:")
	ctx := context.Background()
	w := newReviewWorld(t, a, st)
	d, _, err := a.CreateReview(ctx, w.actor(t, "adm"), app.ReviewRequest{Account: "C",
		Due: time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := a.RunReviews(ctx); err != nil {
			t.Fatal(err)
		}
	}
	msgs, _, err := st.ListOutbox(ctx, store.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	reminders := 0
	for _, m := range msgs {
		if m.Kind == "review_reminder" {
			reminders++
			if m.To != "adm@example.com" || !strings.Contains(m.Text, "/reviews/"+d.ID) {
				t.Errorf("reminder = %+v", m)
			}
		}
	}
	if reminders != 1 {
		t.Errorf("%d reminders, want 1", reminders)
	}
}
