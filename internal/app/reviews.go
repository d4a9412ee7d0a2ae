package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/mail"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Access reviews (governance.md §2). A review of an account's subtree
// lists, at its creation, every direct user grant on an account of the
// subtree and every membership of those accounts' groups. Staff writers
// create reviews for any account and reviewer (an active staff writer or
// a customer admin of the account); a customer admin creates them for an
// account it administers, with itself as the reviewer. Each item goes to
// the reviewer, unless the reviewer could not revoke it itself (its level
// is above the reviewer's on that account, it is the reviewer's own
// access, or it lies outside the reviewer's reach): then it goes to staff
// (store.ReviewerStaff), and any staff writer answers it.
//
// Closing (by the reviewer, a staff writer, or by itself once due) applies
// the decisions in one transaction: revoke deletes the grant or removes the
// membership, audited with the review's id. An unanswered item follows the
// review's on_no_answer, except that an unanswered staff item of a review a
// customer admin created is kept: a customer admin's review never revokes
// what it could not revoke itself. A protected (Owner) grant is reviewed
// but never revoked. A review with a schedule creates the next one (same
// account, reviewer and settings, due a month or a quarter later) in the
// same transaction.

// reviewActor is the audit actor of the due-date loop.
const reviewActor = "reviews"

// ReviewReminderLead is how long before its due date a reviewer is
// reminded of an open review (once).
const ReviewReminderLead = 72 * time.Hour

// MaxReviewNote is the longest note a decision takes, in bytes.
const MaxReviewNote = 2000

// ReviewRequest creates a review (POST /api/v1/reviews). Due is an RFC
// 3339 instant or a date (YYYY-MM-DD: due at the end of that UTC day).
// Reviewer "" means the actor itself.
type ReviewRequest struct {
	Account    string  `json:"account"`
	Reviewer   string  `json:"reviewer"`
	Due        string  `json:"due"`
	OnNoAnswer string  `json:"on_no_answer"`
	Schedule   *string `json:"schedule"`
}

// ReviewDetail is a review with its items.
type ReviewDetail struct {
	store.Review
	Items []store.ReviewItem `json:"items"`
}

// ReviewDecision answers one item (POST /api/v1/reviews/{id}/items/{item}).
type ReviewDecision struct {
	Decision string `json:"decision"`
	Note     string `json:"note"`
}

// ReviewFilter selects reviews by account (exactly that account) and
// status (open, closed or "").
type ReviewFilter struct {
	Account, Status string
	ListParams
}

// parseDue reads a due date: an RFC 3339 instant, or a date meaning the
// end of that UTC day.
func parseDue(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.AddDate(0, 0, 1), nil
	}
	return time.Time{}, access.FieldErrorf(access.CodeInvalid, "due", "due must be a date (YYYY-MM-DD) or an RFC 3339 instant")
}

// reviewScope returns the accounts whose reviews the actor sees: nil for
// staff, the accounts a customer admin administers; CodeForbidden for
// everyone else.
func (a *App) reviewScope(c *Actor) ([]string, error) {
	if c.SCIM != nil {
		return nil, access.Errorf(access.CodeForbidden, "reviews are for staff and customer administrators")
	}
	return a.userAdmin(c)
}

// visibleReview loads a review the actor may see: staff see every review,
// a customer admin those of the accounts it administers and those it is
// the reviewer of; any other is CodeNotFound.
func (a *App) visibleReview(ctx context.Context, c *Actor, id string) (store.Review, error) {
	managed, err := a.reviewScope(c)
	if err != nil {
		return store.Review{}, err
	}
	rv, err := a.st.GetReview(ctx, id)
	if err != nil {
		return rv, err
	}
	if managed != nil && !contains(managed, rv.Account) && rv.Reviewer != c.ID() {
		return store.Review{}, access.Errorf(access.CodeNotFound, "review %s not found", id)
	}
	return rv, nil
}

// checkReviewer decides whether reviewer may review account: an active
// staff writer, or an external user that administers the account
// (CodeInvalid otherwise, naming the field).
func (a *App) checkReviewer(reviewer, account string) error {
	u, ok := a.eng.User(reviewer)
	if !ok || u.Status != access.StatusActive {
		return access.FieldErrorf(access.CodeInvalid, "reviewer", "reviewer %s is not an active user", reviewer)
	}
	if u.Kind == access.KindInternal {
		if u.StaffRole != access.StaffAdmin && u.StaffRole != access.StaffAccessManager {
			return access.FieldErrorf(access.CodeInvalid, "reviewer", "reviewer %s is an auditor and cannot change access", reviewer)
		}
		return nil
	}
	if a.eng.ManageLevel(reviewer, account) < 0 {
		return access.FieldErrorf(access.CodeInvalid, "reviewer", "reviewer %s does not administer account %s", reviewer, account)
	}
	return nil
}

// mayCreateReview is the rule of CreateReview for the actor, run again
// inside the write transaction.
func (a *App) mayCreateReview(c *Actor, in *ReviewRequest) error {
	if c.Internal() {
		if err := a.staffWriterStill(c)(); err != nil {
			return err
		}
		if _, ok := a.eng.Account(in.Account); !ok {
			return access.FieldErrorf(access.CodeInvalid, "account", "account %s does not exist", in.Account)
		}
		return a.checkReviewer(in.Reviewer, in.Account)
	}
	if a.eng.ManageLevel(c.ID(), in.Account) < 0 {
		return access.FieldErrorf(access.CodeForbidden, "account", "account %s is outside your reach", in.Account)
	}
	if in.Reviewer != c.ID() {
		return access.FieldErrorf(access.CodeForbidden, "reviewer", "a customer administrator reviews its company itself: the reviewer must be you")
	}
	return nil
}

// CreateReview creates a review with its items and mails the reviewer.
// Staff writers create any review; a customer admin one of an account it
// administers, with itself as the reviewer. Errors: CodeForbidden (anyone
// else, an account outside its reach, another reviewer), CodeInvalid (a
// missing field, an unknown account, a reviewer who may not review it, a
// bad due date, on_no_answer or schedule).
func (a *App) CreateReview(ctx context.Context, c *Actor, in ReviewRequest) (ReviewDetail, int64, error) {
	if _, err := a.reviewScope(c); err != nil {
		return ReviewDetail{}, 0, err
	}
	if c.Internal() {
		if err := requireStaffWriter(c); err != nil {
			return ReviewDetail{}, 0, err
		}
	}
	if in.Reviewer == "" {
		in.Reviewer = c.ID()
	}
	if in.Account == "" {
		return ReviewDetail{}, 0, access.FieldErrorf(access.CodeInvalid, "account", "account is required")
	}
	due, err := parseDue(in.Due)
	if err != nil {
		return ReviewDetail{}, 0, err
	}
	if in.OnNoAnswer == "" {
		in.OnNoAnswer = store.DecisionKeep
	}
	if in.OnNoAnswer != store.DecisionKeep && in.OnNoAnswer != store.DecisionRevoke {
		return ReviewDetail{}, 0, access.FieldErrorf(access.CodeInvalid, "on_no_answer", "on_no_answer must be keep or revoke")
	}
	if in.Schedule != nil && *in.Schedule != store.ScheduleMonthly && *in.Schedule != store.ScheduleQuarterly {
		return ReviewDetail{}, 0, access.FieldErrorf(access.CodeInvalid, "schedule", "schedule must be null, monthly or quarterly")
	}
	check := func() error { return a.mayCreateReview(c, &in) }
	if err := check(); err != nil {
		return ReviewDetail{}, 0, err
	}
	rv := store.Review{Account: in.Account, Reviewer: in.Reviewer, Due: due, OnNoAnswer: in.OnNoAnswer, Schedule: in.Schedule}
	items, err := a.reviewItems(ctx, rv.Account, rv.Reviewer, nil)
	if err != nil {
		return ReviewDetail{}, 0, err
	}
	d, rev, err := a.createReview(ctx, write(c, check), c.User.Name, rv, items)
	if err != nil {
		return ReviewDetail{}, 0, err
	}
	a.sent()
	// Read back: the items with their ids and the people as they are.
	if d.Items, err = a.st.ReviewItems(ctx, d.ID); err != nil {
		return ReviewDetail{}, 0, err
	}
	d.Items = a.itemPeople(c, d.Items)
	return d, rev, nil
}

// createReview stores a review with w, adding the reviewer's message.
func (a *App) createReview(ctx context.Context, w store.Write, requester string, rv store.Review, items []store.ReviewItem) (ReviewDetail, int64, error) {
	rv.ID = "rv_" + NewRecordID()[1:13]
	mine := 0
	for _, it := range items {
		if it.Reviewer == rv.Reviewer {
			mine++
		}
	}
	if m, ok := a.reviewMessage(ctx, rv, requester, mine, false); ok {
		w.Mail = append(w.Mail, m)
	}
	out, rev, err := a.st.CreateReview(ctx, w, rv, items)
	return ReviewDetail{Review: out, Items: items}, rev, err
}

// reviewMessage is the message to rv's reviewer: assigned, or the
// reminder. ok is false when the reviewer has no address.
func (a *App) reviewMessage(ctx context.Context, rv store.Review, requester string, entries int, reminder bool) (store.Message, bool) {
	u, ok := a.eng.User(rv.Reviewer)
	if !ok || u.Email == "" {
		return store.Message{}, false
	}
	company := rv.Account
	if acct, ok := a.eng.Account(rv.Account); ok && acct.Name != "" {
		company = acct.Name
	}
	if strings.TrimSpace(requester) == "" {
		requester = company
	}
	path := "/reviews/" + rv.ID
	if u.Kind == access.KindInternal {
		path = "/admin/reviews/" + rv.ID
	}
	locale := a.localeOf(ctx, u.ID)
	d := mail.ReviewData{Name: u.Name, Requester: requester, Company: company, Link: a.link(path), Entries: entries,
		Due: rv.Due, RevokeUnanswered: rv.OnNoAnswer == store.DecisionRevoke}
	kind, content := "review_assigned", mail.ReviewAssigned(locale, d)
	if reminder {
		kind, content = "review_reminder", mail.ReviewReminder(locale, d)
	}
	return a.message(kind, u.Email, u.ID, locale, content, ""), true
}

// reviewItems lists what a review of account by reviewer covers now:
// every direct user grant on an account of the subtree and every
// membership of those accounts' groups, each assigned to reviewer or to
// staff; skip names grants ("grant:<id>") and memberships
// ("member:<group>/<user>") to leave out (those a closing review just
// revoked).
func (a *App) reviewItems(ctx context.Context, account, reviewer string, skip map[string]bool) ([]store.ReviewItem, error) {
	accts := a.eng.Subtree(account)
	if len(accts) == 0 {
		return nil, access.FieldErrorf(access.CodeInvalid, "account", "account %s does not exist", account)
	}
	pol := a.eng.Policy()
	var items []store.ReviewItem
	for cursor := ""; ; {
		gs, next, err := a.st.ListGrants(ctx, store.GrantFilter{Accounts: accts, Limit: store.MaxListLimit, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			uid, ok := strings.CutPrefix(g.Principal, "user:")
			if !ok || skip["grant:"+g.ID] {
				continue
			}
			it := store.ReviewItem{Kind: store.ItemGrant, UserID: uid, Account: g.Account, GrantID: g.ID, Role: g.Role,
				Scope: g.Scope, Access: g.Access, DaysBack: g.DaysBack, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil}
			if r := pol.Role(g.Role); r != nil {
				it.Level, it.Protected = r.Level, r.Protected
			}
			it.Reviewer = a.itemReviewer(reviewer, it, &g)
			items = append(items, it)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for _, acct := range accts {
		for cursor := ""; ; {
			groups, next, err := a.st.ListGroups(ctx, store.GroupFilter{Account: acct, Limit: store.MaxListLimit, Cursor: cursor})
			if err != nil {
				return nil, err
			}
			for _, g := range groups {
				role, level := "", 0
				for _, gg := range a.eng.GroupGrants(g.ID) {
					if r := pol.Role(gg.Role); r != nil && (role == "" || r.Level > level) {
						role, level = r.Name, r.Level
					}
				}
				for _, uid := range g.Members {
					if skip["member:"+g.ID+"/"+uid] {
						continue
					}
					it := store.ReviewItem{Kind: store.ItemMembership, UserID: uid, Account: acct, GroupID: g.ID, Role: role, Level: level}
					it.Reviewer = a.itemReviewer(reviewer, it, nil)
					items = append(items, it)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	sort.SliceStable(items, func(i, j int) bool {
		x, y := items[i], items[j]
		if x.UserID != y.UserID {
			return x.UserID < y.UserID
		}
		if x.Kind != y.Kind {
			return x.Kind < y.Kind
		}
		return x.Account < y.Account
	})
	return items, nil
}

// itemReviewer is who answers an item: reviewer when it is staff or could
// revoke the item itself (a protected grant counts at its level: it is
// reviewed, never revoked), else staff.
func (a *App) itemReviewer(reviewer string, it store.ReviewItem, g *access.Grant) string {
	u, ok := a.eng.User(reviewer)
	if !ok {
		return store.ReviewerStaff
	}
	if u.Kind == access.KindInternal {
		return reviewer
	}
	if it.UserID == reviewer || it.Level > a.eng.ManageLevel(reviewer, it.Account) {
		return store.ReviewerStaff
	}
	var err error
	if g != nil {
		err = a.eng.CheckGrant(reviewer, g, nil)
	} else {
		err = a.eng.CheckMembership(reviewer, it.GroupID, it.UserID)
	}
	var ae *access.Error
	if err != nil && !(errors.As(err, &ae) && ae.Code == access.CodeProtected) {
		return store.ReviewerStaff
	}
	return reviewer
}

// ListReviews lists reviews in id order: all for staff, those of the
// accounts it administers for a customer admin. Errors: CodeForbidden for
// other external users, CodeInvalid for an unknown status.
func (a *App) ListReviews(ctx context.Context, c *Actor, f ReviewFilter) (Page[store.Review], error) {
	managed, err := a.reviewScope(c)
	if err != nil {
		return Page[store.Review]{}, err
	}
	if f.Status != "" && f.Status != store.ReviewOpen && f.Status != store.ReviewClosed {
		return Page[store.Review]{}, access.FieldErrorf(access.CodeInvalid, "status", "status must be open or closed")
	}
	items, next, err := a.st.ListReviews(ctx, store.ReviewFilter{Account: f.Account, Accounts: managed, Status: f.Status,
		Limit: f.limit(), Cursor: f.Cursor})
	return Page[store.Review]{Items: items, Next: next}, err
}

// GetReview returns a review the actor may see, with its counts
// (CodeNotFound otherwise).
func (a *App) GetReview(ctx context.Context, c *Actor, id string) (store.Review, error) {
	return a.visibleReview(ctx, c, id)
}

// ReviewItems returns the items of a review the actor may see, each with
// the person as it is now.
func (a *App) ReviewItems(ctx context.Context, c *Actor, id string) ([]store.ReviewItem, error) {
	if _, err := a.visibleReview(ctx, c, id); err != nil {
		return nil, err
	}
	items, err := a.st.ReviewItems(ctx, id)
	return a.itemPeople(c, items), err
}

// itemPeople is items as c may see the people in them: staff see
// everyone; a customer admin sees the people homed within its reach, and
// anyone else (another company's user, staff) only as the conversation
// names them, without email, status or last sign-in.
func (a *App) itemPeople(c *Actor, items []store.ReviewItem) []store.ReviewItem {
	if c.Internal() {
		return items
	}
	managed := a.ManagedAccounts(c)
	for i := range items {
		u, known := a.eng.User(items[i].UserID)
		if known && u.Kind == access.KindExternal && contains(managed, u.HomeAccount) {
			continue
		}
		kind := access.KindExternal
		if known {
			kind = u.Kind
		}
		items[i].User = store.ReviewUser{ID: items[i].User.ID, Name: a.displayName(c.User, items[i].UserID, kind)}
	}
	return items
}

// mayDecide is the rule of a decision on it: a staff item by an active
// staff writer, any other by the review's reviewer while it could still
// revoke the item itself.
func (a *App) mayDecide(c *Actor, rv store.Review, it store.ReviewItem) error {
	if it.Reviewer == store.ReviewerStaff {
		if !c.Internal() {
			return access.Errorf(access.CodeForbidden, "item %s is for staff to answer", it.ID)
		}
		return a.staffWriterStill(c)()
	}
	if it.Reviewer != c.ID() {
		return access.Errorf(access.CodeForbidden, "only the reviewer %s answers item %s", it.Reviewer, it.ID)
	}
	if c.Internal() {
		return a.staffWriterStill(c)()
	}
	if a.itemReviewer(c.ID(), it, a.itemGrant(it)) != c.ID() || a.eng.ManageLevel(c.ID(), it.Account) < it.Level {
		return access.Errorf(access.CodeForbidden, "you may no longer answer item %s", it.ID)
	}
	return nil
}

// itemGrant is the grant a grant item reviews, as the engine has it now
// or, when it is gone, as it was reviewed; nil for a membership.
func (a *App) itemGrant(it store.ReviewItem) *access.Grant {
	if it.Kind != store.ItemGrant {
		return nil
	}
	if g, ok := a.eng.Grant(it.GrantID); ok {
		return &g
	}
	return &access.Grant{ID: it.GrantID, Principal: "user:" + it.UserID, Account: it.Account, Role: it.Role, Scope: it.Scope,
		Access: it.Access, DaysBack: it.DaysBack, ValidFrom: it.ValidFrom, ValidUntil: it.ValidUntil}
}

// findItem returns item id of items, or CodeNotFound.
func findItem(items []store.ReviewItem, reviewID, id string) (store.ReviewItem, error) {
	for _, it := range items {
		if it.ID == id {
			return it, nil
		}
	}
	return store.ReviewItem{}, access.Errorf(access.CodeNotFound, "item %s of review %s not found", id, reviewID)
}

// DecideReviewItem records the actor's decision on an item, one audit
// entry (review.decide). Errors: CodeNotFound (no such review or item for
// the actor), CodeForbidden (not its reviewer; a staff item for anyone but
// a staff writer), CodeInvalid (decision not keep or revoke, a note too
// long), CodeConflict (the review is closed), CodeProtected (revoke of a
// protected grant: it is reviewed and kept).
func (a *App) DecideReviewItem(ctx context.Context, c *Actor, reviewID, itemID string, in ReviewDecision) (store.ReviewItem, int64, error) {
	if in.Decision != store.DecisionKeep && in.Decision != store.DecisionRevoke {
		return store.ReviewItem{}, 0, access.FieldErrorf(access.CodeInvalid, "decision", "decision must be keep or revoke")
	}
	if len(in.Note) > MaxReviewNote {
		return store.ReviewItem{}, 0, access.FieldErrorf(access.CodeInvalid, "note", "a note is at most %d bytes", MaxReviewNote)
	}
	rv, err := a.visibleReview(ctx, c, reviewID)
	if err != nil {
		return store.ReviewItem{}, 0, err
	}
	items, err := a.st.ReviewItems(ctx, reviewID)
	if err != nil {
		return store.ReviewItem{}, 0, err
	}
	it, err := findItem(items, reviewID, itemID)
	if err != nil {
		return it, 0, err
	}
	check, err := a.decisionCheck(c, rv, it, in.Decision)
	if err != nil {
		return it, 0, err
	}
	out, rev, err := a.st.DecideReviewItem(ctx, write(c, check), reviewID, itemID, in.Decision, strings.TrimSpace(in.Note))
	if err == nil {
		out = a.itemPeople(c, []store.ReviewItem{out})[0]
	}
	return out, rev, err
}

// decisionCheck checks a decision now and returns its in-transaction
// check.
func (a *App) decisionCheck(c *Actor, rv store.Review, it store.ReviewItem, decision string) (func() error, error) {
	if err := a.mayDecide(c, rv, it); err != nil {
		return nil, err
	}
	if rv.Status != store.ReviewOpen {
		return nil, access.Errorf(access.CodeConflict, "review %s is closed", rv.ID)
	}
	check := func() error {
		if decision == store.DecisionRevoke {
			if r := a.eng.Policy().Role(it.Role); it.Protected || (r != nil && r.Protected) {
				return access.Errorf(access.CodeProtected, "the grant of %s has the protected role %s: it is reviewed but never revoked", it.UserID, it.Role)
			}
		}
		return a.mayDecide(c, rv, it)
	}
	return check, check()
}

// ReviewBulk answers many items at once: every item of the review that
// is the actor's to answer, about User ("" for everyone), and, with Open,
// only those without a decision yet.
type ReviewBulk struct {
	User     string
	Decision string
	Open     bool
}

// DecideReviewItems answers the items in selects with one decision, all
// or nothing, one audit entry per item ("keep all remaining" is
// ReviewBulk{Decision: keep, Open: true}; a person's Keep or Revoke is
// ReviewBulk{User: id, ...}). It returns how many items it answered.
// Errors as DecideReviewItem.
func (a *App) DecideReviewItems(ctx context.Context, c *Actor, reviewID string, in ReviewBulk) (int, int64, error) {
	if in.Decision != store.DecisionKeep && in.Decision != store.DecisionRevoke {
		return 0, 0, access.FieldErrorf(access.CodeInvalid, "decision", "decision must be keep or revoke")
	}
	rv, err := a.visibleReview(ctx, c, reviewID)
	if err != nil {
		return 0, 0, err
	}
	items, err := a.st.ReviewItems(ctx, reviewID)
	if err != nil {
		return 0, 0, err
	}
	n := 0
	// The scope's check brings the engine up to date first; each decision
	// checks itself against it.
	rev, err := a.st.Atomic(ctx, write(c, func() error { return nil }), func(ctx context.Context) error {
		for _, it := range items {
			if (in.User != "" && it.UserID != in.User) || (in.Open && it.Decision != nil) || a.mayDecide(c, rv, it) != nil {
				continue
			}
			// Revoking a person's access leaves its protected (Owner)
			// grant alone: reviewed, never revoked, kept at the close.
			if r := a.eng.Policy().Role(it.Role); in.Decision == store.DecisionRevoke && (it.Protected || (r != nil && r.Protected)) {
				continue
			}
			check, err := a.decisionCheck(c, rv, it, in.Decision)
			if err != nil {
				return err
			}
			if _, _, err := a.st.DecideReviewItem(ctx, write(c, check), reviewID, it.ID, in.Decision, ""); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return n, rev, nil
}

// CloseReview closes an open review now and applies it (see the comment
// at the top of this file): by its reviewer or a staff writer. Errors:
// CodeNotFound, CodeForbidden (anyone else), CodeConflict (closed
// already).
func (a *App) CloseReview(ctx context.Context, c *Actor, id string) (store.Review, int64, error) {
	rv, err := a.visibleReview(ctx, c, id)
	if err != nil {
		return rv, 0, err
	}
	check := func() error {
		if c.Internal() {
			return a.staffWriterStill(c)()
		}
		if rv.Reviewer != c.ID() || a.eng.ManageLevel(c.ID(), rv.Account) < 0 {
			return access.Errorf(access.CodeForbidden, "only the reviewer or staff close review %s", id)
		}
		return nil
	}
	if err := check(); err != nil {
		return rv, 0, err
	}
	if rv.Status != store.ReviewOpen {
		return rv, 0, access.Errorf(access.CodeConflict, "review %s is closed already", id)
	}
	out, rev, err := a.closeReview(ctx, write(c, check), rv, c.Internal())
	if err == nil {
		a.sent()
	}
	return out, rev, err
}

// createdByStaff reports whether a review's creator is a staff user. An
// unknown creator (deleted since, or an integration) counts as not staff:
// its review never revokes more than a customer admin's could.
func (a *App) createdByStaff(rv store.Review) bool {
	u, ok := a.eng.User(rv.CreatedBy)
	return ok && u.Kind == access.KindInternal
}

// closeReview closes rv with w and, when it has a schedule, creates the
// next one, in one transaction. byStaff is set when staff or the due-date
// loop closes it: only then, and only in a review staff created, do
// unanswered staff items follow on_no_answer; a customer admin closing
// early keeps them (it could not revoke them itself).
func (a *App) closeReview(ctx context.Context, w store.Write, rv store.Review, byStaff bool) (store.Review, int64, error) {
	staffItemsFollow := byStaff && a.createdByStaff(rv)
	apply := func(rv store.Review, it store.ReviewItem) string {
		switch {
		case it.Decision != nil:
			return *it.Decision
		case it.Reviewer == store.ReviewerStaff && !staffItemsFollow:
			return store.DecisionKeep
		}
		return rv.OnNoAnswer
	}
	var closed store.Review
	rev, err := a.st.Atomic(ctx, w, func(ctx context.Context) error {
		var items []store.ReviewItem
		var err error
		closed, items, _, err = a.st.CloseReview(ctx, store.Write{Actor: w.Actor, By: w.By}, store.ReviewClose{ID: rv.ID, Apply: apply})
		if err != nil || closed.Schedule == nil {
			return err
		}
		skip := map[string]bool{}
		for _, it := range items {
			switch {
			case it.Outcome != store.OutcomeRevoked:
			case it.Kind == store.ItemGrant:
				skip["grant:"+it.GrantID] = true
			default:
				skip["member:"+it.GroupID+"/"+it.UserID] = true
			}
		}
		next := store.Review{Account: rv.Account, Reviewer: rv.Reviewer, OnNoAnswer: rv.OnNoAnswer, Schedule: rv.Schedule,
			Previous: rv.ID, Due: nextDue(rv.Due, *rv.Schedule, a.Now())}
		if _, ok := a.eng.Account(next.Account); !ok {
			a.log.Warn("reviews: no next review", "review", rv.ID, "reason", "account "+next.Account+" no longer exists")
			return nil
		}
		if err := a.checkReviewer(next.Reviewer, next.Account); err != nil {
			a.log.Warn("reviews: no next review", "review", rv.ID, "reason", err)
			return nil
		}
		nitems, err := a.reviewItems(ctx, next.Account, next.Reviewer, skip)
		if err != nil {
			return err
		}
		// The next review keeps the first one's creator: what a customer
		// admin's review may do does not grow with its schedule.
		_, _, err = a.createReview(ctx, store.Write{Actor: w.Actor, By: rv.CreatedBy}, a.userName(rv.CreatedBy), next, nitems)
		return err
	})
	if err != nil {
		return store.Review{}, 0, err
	}
	if fresh, err := a.st.GetReview(ctx, rv.ID); err == nil {
		closed = fresh
	}
	return closed, rev, nil
}

// userName is a user's name, "" when unknown.
func (a *App) userName(id string) string {
	u, _ := a.eng.User(id)
	return u.Name
}

// nextDue is the due date of the review after one due at due: a month or
// a quarter later, and later again until it lies after now.
func nextDue(due time.Time, schedule string, now time.Time) time.Time {
	months := 1
	if schedule == store.ScheduleQuarterly {
		months = 3
	}
	next := due.AddDate(0, months, 0)
	for !next.After(now) {
		next = next.AddDate(0, months, 0)
	}
	return next
}

// ReviewRound is what one round of RunReviews did.
type ReviewRound struct {
	Closed, Reminded int
	// Failed counts the reviews that could not close (logged; tried again
	// next round).
	Failed int
}

// RunReviews is one round of the per-node review loop: it reminds the
// reviewers of open reviews due within ReviewReminderLead (once each) and
// closes the reviews past their due date. Every node runs it; each close
// and reminder is a conditional update in the database, so whichever node
// comes first does it and the others find nothing left to do.
func (a *App) RunReviews(ctx context.Context) (ReviewRound, error) {
	var round ReviewRound
	now := a.Now()
	// The no-op check makes each write bring the engine up to date inside
	// its transaction first: the next review of a schedule is built from
	// it.
	sys := store.Write{Actor: SystemActor(reviewActor).AuditID(), By: reviewActor, Check: func() error { return nil }}
	due, err := a.st.DueReviews(ctx, now)
	if err != nil {
		return round, err
	}
	for _, rv := range due {
		if _, _, err := a.closeReview(ctx, sys, rv, true); err != nil {
			var ae *access.Error
			if errors.As(err, &ae) && ae.Code == access.CodeConflict {
				continue // another node closed it
			}
			// One review that cannot close must not hold up the others.
			a.log.Error("reviews: close failed", "review", rv.ID, "err", err)
			round.Failed++
			continue
		}
		round.Closed++
	}
	remind, err := a.st.ReviewsToRemind(ctx, now.Add(ReviewReminderLead))
	if err != nil {
		return round, err
	}
	for _, rv := range remind {
		items, err := a.st.ReviewItems(ctx, rv.ID)
		if err != nil {
			return round, err
		}
		open := 0
		for _, it := range items {
			if it.Decision == nil && it.Reviewer == rv.Reviewer {
				open++
			}
		}
		w := sys
		if m, ok := a.reviewMessage(ctx, rv, "", open, true); ok && open > 0 {
			w.Mail = []store.Message{m}
		}
		ok, _, err := a.st.RemindReview(ctx, w, rv.ID)
		if err != nil {
			return round, fmt.Errorf("remind review %s: %w", rv.ID, err)
		}
		if ok {
			round.Reminded++
		}
	}
	if round.Closed+round.Reminded > 0 {
		a.sent()
	}
	return round, nil
}
