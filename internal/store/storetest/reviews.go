package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// testReviews covers ReviewStore: a review stored with its items and read
// back with counts and the people joined, decisions audited one by one,
// closing once (a second close is conflict and changes nothing) with its
// revocations audited naming the review, protected grants kept whatever
// the decision, the due and reminder scans, and a reminder sent once.
func testReviews(t *testing.T, b Backend) {
	setup := func(t *testing.T) (*instance, access.Grant, access.Grant) {
		s := open(t, b)
		mustPutAccount(t, s, account("A", ""))
		mustPutUser(t, s, external("u1", "A"))
		mustPutUser(t, s, external("u2", "A"))
		mustPutGroup(t, s, access.Group{ID: "gA", Name: "A people", Account: "A"})
		mustAddMember(t, s, "gA", "u2")
		g1 := mustCreateGrant(t, s, grant("user:u1", "A", "L20"))
		own := grant("user:u2", "A", "L90")
		own = mustCreateGrant(t, s, own)
		return s, g1, own
	}
	newReview := func(t *testing.T, s *instance, g1, own access.Grant, due time.Time) store.Review {
		t.Helper()
		days := 30
		items := []store.ReviewItem{
			{Kind: store.ItemGrant, UserID: "u1", Account: "A", GrantID: g1.ID, Role: "L20", Level: 20, Scope: "subtree", Access: "read_write",
				DaysBack: &days, Reviewer: "rev"},
			{Kind: store.ItemGrant, UserID: "u2", Account: "A", GrantID: own.ID, Role: "L90", Level: 90, Protected: true, Scope: own.Scope, Access: own.Access,
				Reviewer: store.ReviewerStaff},
			{Kind: store.ItemMembership, UserID: "u2", Account: "A", GroupID: "gA", Role: "L10", Level: 10, Reviewer: "rev"},
		}
		rv, _, err := s.CreateReview(ctx(t), store.Write{Actor: actor, Mail: []store.Message{{Kind: "review_assigned", To: "rev@example.com",
			Subject: "s", Text: "t", HTML: "h"}}}, store.Review{Account: "A", Reviewer: "rev", Due: due, OnNoAnswer: store.DecisionRevoke}, items)
		if err != nil {
			t.Fatalf("CreateReview: %v", err)
		}
		return rv
	}
	revokeAll := func(store.Review, store.ReviewItem) string { return store.DecisionRevoke }

	t.Run("CreateAndRead", func(t *testing.T) {
		s, g1, own := setup(t)
		rv := newReview(t, s, g1, own, time.Now().Add(240*time.Hour))
		if !strings.HasPrefix(rv.ID, "rv_") || rv.Status != store.ReviewOpen || rv.CreatedBy != actor || rv.Counts.Total != 3 || rv.Counts.Open != 3 {
			t.Errorf("created %+v", rv)
		}
		got, err := s.GetReview(ctx(t), rv.ID)
		if err != nil || got.Counts != rv.Counts || !got.Due.Equal(rv.Due) || got.Schedule != nil {
			t.Errorf("GetReview = %+v, %v", got, err)
		}
		items, err := s.ReviewItems(ctx(t), rv.ID)
		if err != nil || len(items) != 3 {
			t.Fatalf("ReviewItems = %v, %v", items, err)
		}
		if it := items[0]; it.ID != "1" || it.User.Email != "u1@example.com" || it.DaysBack == nil || *it.DaysBack != 30 || it.Decision != nil {
			t.Errorf("first item = %+v", it)
		}
		if !items[1].Protected || items[1].Reviewer != store.ReviewerStaff {
			t.Errorf("second item = %+v", items[1])
		}
		_, err = s.ReviewItems(ctx(t), "rv_nope")
		wantCode(t, err, access.CodeNotFound)
		_, err = s.GetReview(ctx(t), "rv_nope")
		wantCode(t, err, access.CodeNotFound)
		list, _, err := s.ListReviews(ctx(t), store.ReviewFilter{Status: store.ReviewOpen})
		if err != nil || len(list) != 1 || list[0].Counts.Total != 3 {
			t.Errorf("ListReviews = %+v, %v", list, err)
		}
		if list, _, _ := s.ListReviews(ctx(t), store.ReviewFilter{Accounts: []string{"B"}}); len(list) != 0 {
			t.Errorf("ListReviews outside the accounts = %+v", list)
		}
		if msgs, _, _ := s.ListOutbox(ctx(t), store.OutboxFilter{}); len(msgs) != 1 || msgs[0].Kind != "review_assigned" {
			t.Errorf("outbox = %+v", msgs)
		}
	})

	t.Run("DecideAndCloseOnce", func(t *testing.T) {
		s, g1, own := setup(t)
		rv := newReview(t, s, g1, own, time.Now().Add(240*time.Hour))
		for _, d := range []string{store.DecisionKeep, store.DecisionRevoke} {
			it, _, err := s.DecideReviewItem(ctx(t), store.Write{Actor: "user:rev", By: "rev"}, rv.ID, "1", d, "because")
			if err != nil || it.Decision == nil || *it.Decision != d || it.DecidedBy != "rev" || it.Note != "because" {
				t.Fatalf("DecideReviewItem = %+v, %v", it, err)
			}
		}
		_, _, err := s.DecideReviewItem(ctx(t), by, rv.ID, "9", store.DecisionKeep, "")
		wantCode(t, err, access.CodeNotFound)
		got, _ := s.GetReview(ctx(t), rv.ID)
		if got.Counts != (store.ReviewCounts{Total: 3, Revoked: 1, Open: 2}) {
			t.Errorf("counts while open = %+v", got.Counts)
		}
		decisions, _, _ := s.ListAudit(ctx(t), store.AuditFilter{Target: "review:" + rv.ID, Action: "review.decide"})
		if len(decisions) != 2 {
			t.Errorf("%d review.decide entries, want 2", len(decisions))
		}
		closed, items, _, err := s.CloseReview(ctx(t), by, store.ReviewClose{ID: rv.ID, Apply: revokeAll})
		if err != nil {
			t.Fatalf("CloseReview: %v", err)
		}
		if closed.Status != store.ReviewClosed || closed.ClosedAt == nil || closed.Counts != (store.ReviewCounts{Total: 3, Kept: 1, Revoked: 2}) {
			t.Errorf("closed = %+v", closed)
		}
		want := []string{store.OutcomeRevoked, store.OutcomeKept, store.OutcomeRevoked}
		for i, it := range items {
			if it.Outcome != want[i] {
				t.Errorf("item %s outcome %q, want %q", it.ID, it.Outcome, want[i])
			}
		}
		_, err = s.GetGrant(ctx(t), g1.ID)
		wantCode(t, err, access.CodeNotFound)
		if _, err := s.GetGrant(ctx(t), own.ID); err != nil {
			t.Errorf("the protected grant went: %v", err)
		}
		if _, ok := s.Engine().Grant(g1.ID); ok {
			t.Error("the engine still holds the revoked grant")
		}
		if gs := s.Engine().UserGroups("u2"); len(gs) != 0 {
			t.Errorf("u2 is still in %v", gs)
		}
		for _, action := range []string{"grant.delete", "member.remove"} {
			es, _, _ := s.ListAudit(ctx(t), store.AuditFilter{Action: action})
			if len(es) != 1 || !strings.Contains(string(es[0].After), rv.ID) {
				t.Errorf("%s entries %+v, want one naming the review", action, es)
			}
		}
		rev := s.Revision()
		_, _, _, err = s.CloseReview(ctx(t), by, store.ReviewClose{ID: rv.ID, Apply: revokeAll})
		wantCode(t, err, access.CodeConflict)
		if s.Revision() != rev {
			t.Error("a second close wrote something")
		}
		_, _, err = s.DecideReviewItem(ctx(t), by, rv.ID, "1", store.DecisionKeep, "")
		wantCode(t, err, access.CodeConflict)
		// The grant is gone: a review of it that closes later finds
		// nothing to do.
		rv2 := newReview(t, s, g1, own, time.Now().Add(time.Hour))
		_, items, _, err = s.CloseReview(ctx(t), by, store.ReviewClose{ID: rv2.ID, Apply: revokeAll})
		if err != nil || items[0].Outcome != store.OutcomeGone || items[2].Outcome != store.OutcomeGone {
			t.Errorf("closing a review of gone access: %+v, %v", items, err)
		}
	})

	t.Run("DueAndRemindOnce", func(t *testing.T) {
		s, g1, own := setup(t)
		now := time.Now()
		past := newReview(t, s, g1, own, now.Add(-time.Hour))
		soon := newReview(t, s, g1, own, now.Add(48*time.Hour))
		newReview(t, s, g1, own, now.Add(240*time.Hour))
		due, err := s.DueReviews(ctx(t), now)
		if err != nil || len(due) != 1 || due[0].ID != past.ID {
			t.Errorf("DueReviews = %+v, %v", due, err)
		}
		remind, err := s.ReviewsToRemind(ctx(t), now.Add(72*time.Hour))
		if err != nil || len(remind) != 2 {
			t.Errorf("ReviewsToRemind = %+v, %v", remind, err)
		}
		mail := store.Write{Actor: "system:reviews", Mail: []store.Message{{Kind: "review_reminder", To: "rev@example.com", Subject: "s", Text: "t", HTML: "h"}}}
		for i, want := range []bool{true, false} {
			ok, _, err := s.RemindReview(ctx(t), mail, soon.ID)
			if err != nil || ok != want {
				t.Errorf("RemindReview #%d = %v, %v; want %v", i+1, ok, err, want)
			}
		}
		msgs, _, _ := s.ListOutbox(ctx(t), store.OutboxFilter{})
		reminders := 0
		for _, m := range msgs {
			if m.Kind == "review_reminder" {
				reminders++
			}
		}
		if reminders != 1 {
			t.Errorf("%d reminders in the outbox, want 1", reminders)
		}
		if remind, _ := s.ReviewsToRemind(ctx(t), now.Add(72*time.Hour)); len(remind) != 1 || remind[0].ID != past.ID {
			t.Errorf("ReviewsToRemind after the reminder = %+v", remind)
		}
	})
}
