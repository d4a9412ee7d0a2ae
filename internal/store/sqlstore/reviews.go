package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Access reviews (store.ReviewStore, governance.md §2, migration 0011).
// Every write bumps the revision, which serializes writers: closing is an
// UPDATE ... WHERE status = 'open', and of two nodes closing the same
// review the second finds it closed (conflict) and writes nothing.

const reviewColumns = `id, account, reviewer, due, on_no_answer, schedule, status, previous, next, created_by, created_at, reminded_at, closed_at, closed_by`

func scanReview(sc rowScanner) (store.Review, error) {
	var r store.Review
	var due, created int64
	var schedule string
	var reminded, closed sql.NullInt64
	if err := sc.Scan(&r.ID, &r.Account, &r.Reviewer, &due, &r.OnNoAnswer, &schedule, &r.Status, &r.Previous, &r.Next,
		&r.CreatedBy, &created, &reminded, &closed, &r.ClosedBy); err != nil {
		return r, err
	}
	r.Due, r.CreatedAt, r.RemindedAt, r.ClosedAt = fromMicros(due), fromMicros(created), ptrMicros(reminded), ptrMicros(closed)
	if schedule != "" {
		r.Schedule = &schedule
	}
	return r, nil
}

const reviewItemColumns = `i.seq, i.kind, i.user_id, i.account, i.grant_id, i.group_id, i.role, i.level, i.protected, i.scope, i.access,
	i.days_back, i.valid_from, i.valid_until, i.reviewer, i.decision, i.note, i.decided_by, i.decided_at, i.outcome,
	COALESCE(u.name, ''), COALESCE(u.email, ''), COALESCE(u.status, ''), u.last_login_at`

const reviewItemFrom = ` FROM review_items i LEFT JOIN users u ON u.id = i.user_id`

func scanReviewItem(sc rowScanner) (store.ReviewItem, error) {
	var it store.ReviewItem
	var seq int64
	var protected int64
	var days sql.NullInt64
	var from, until, decided, login sql.NullInt64
	var decision string
	if err := sc.Scan(&seq, &it.Kind, &it.UserID, &it.Account, &it.GrantID, &it.GroupID, &it.Role, &it.Level, &protected,
		&it.Scope, &it.Access, &days, &from, &until, &it.Reviewer, &decision, &it.Note, &it.DecidedBy, &decided, &it.Outcome,
		&it.User.Name, &it.User.Email, &it.User.Status, &login); err != nil {
		return it, err
	}
	it.ID = strconv.FormatInt(seq, 10)
	it.Protected = protected != 0
	if days.Valid {
		d := int(days.Int64)
		it.DaysBack = &d
	}
	it.ValidFrom, it.ValidUntil, it.DecidedAt = ptrMicros(from), ptrMicros(until), ptrMicros(decided)
	if decision != "" {
		it.Decision = &decision
	}
	it.User.ID = it.UserID
	it.User.LastLoginAt = ptrMicros(login)
	return it, nil
}

func (r reader) review(id string) (store.Review, error) {
	rv, err := scanReview(r.queryRow(`SELECT `+reviewColumns+` FROM reviews WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return rv, notFound("review %s not found", id)
	}
	if err != nil {
		return rv, fmt.Errorf("read review: %w", err)
	}
	return rv, r.countReviews([]*store.Review{&rv})
}

// countReviews fills the counts of reviews.
func (r reader) countReviews(rvs []*store.Review) error {
	if len(rvs) == 0 {
		return nil
	}
	byID := map[string]*store.Review{}
	args := make([]any, 0, len(rvs))
	for _, rv := range rvs {
		byID[rv.ID] = rv
		args = append(args, rv.ID)
	}
	rows, err := r.query(`SELECT review_id, COUNT(*),
		SUM(CASE WHEN decision = 'keep' THEN 1 ELSE 0 END), SUM(CASE WHEN decision = 'revoke' THEN 1 ELSE 0 END),
		SUM(CASE WHEN outcome = 'kept' THEN 1 ELSE 0 END), SUM(CASE WHEN outcome = 'revoked' THEN 1 ELSE 0 END)
		FROM review_items WHERE review_id IN (`+placeholders(len(args))+`) GROUP BY review_id`, args...)
	if err != nil {
		return fmt.Errorf("count review items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var total, keep, revoke, kept, revoked int
		if err := rows.Scan(&id, &total, &keep, &revoke, &kept, &revoked); err != nil {
			return fmt.Errorf("count review items: %w", err)
		}
		rv := byID[id]
		if rv.Status == store.ReviewClosed {
			rv.Counts = store.ReviewCounts{Total: total, Kept: kept, Revoked: revoked}
		} else {
			rv.Counts = store.ReviewCounts{Total: total, Kept: keep, Revoked: revoke, Open: total - keep - revoke}
		}
	}
	return rows.Err()
}

func (r reader) reviewItems(id string) ([]store.ReviewItem, error) {
	rows, err := r.query(`SELECT `+reviewItemColumns+reviewItemFrom+` WHERE i.review_id = ? ORDER BY i.seq`, id)
	if err != nil {
		return nil, fmt.Errorf("read review items: %w", err)
	}
	defer rows.Close()
	out := []store.ReviewItem{}
	for rows.Next() {
		it, err := scanReviewItem(rows)
		if err != nil {
			return nil, fmt.Errorf("read review items: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// CreateReview stores a review and its items; see store.ReviewStore.
func (s *Store) CreateReview(ctx context.Context, w store.Write, rv store.Review, items []store.ReviewItem) (store.Review, int64, error) {
	actor := w.Actor
	rev, err := s.write(ctx, w, func(t *wtx) error {
		if rv.ID == "" {
			rv.ID = "rv_" + randomID(12)
		}
		rv.Status, rv.CreatedBy, rv.CreatedAt = store.ReviewOpen, t.by, t.now
		rv.Due = rv.Due.UTC().Truncate(time.Microsecond)
		rv.Next, rv.ClosedAt, rv.ClosedBy, rv.RemindedAt = "", nil, "", nil
		schedule := ""
		if rv.Schedule != nil {
			schedule = *rv.Schedule
		}
		if _, err := t.exec(`INSERT INTO reviews (id, account, reviewer, due, on_no_answer, schedule, status, previous, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, rv.ID, rv.Account, rv.Reviewer, toMicros(rv.Due), rv.OnNoAnswer, schedule,
			rv.Status, rv.Previous, rv.CreatedBy, toMicros(rv.CreatedAt)); err != nil {
			return fmt.Errorf("create review: %w", err)
		}
		if rv.Previous != "" {
			if err := t.setReviewNext(rv.Previous, rv.ID); err != nil {
				return err
			}
		}
		rv.Counts = store.ReviewCounts{Total: len(items), Open: len(items)}
		for i, it := range items {
			if _, err := t.exec(`INSERT INTO review_items (review_id, seq, kind, user_id, account, grant_id, group_id, role, level,
				protected, scope, access, days_back, valid_from, valid_until, reviewer)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, rv.ID, i+1, it.Kind, it.UserID, it.Account, it.GrantID,
				it.GroupID, it.Role, it.Level, boolInt(it.Protected), it.Scope, it.Access, daysArg(it.DaysBack), nullMicros(it.ValidFrom),
				nullMicros(it.ValidUntil), it.Reviewer); err != nil {
				return fmt.Errorf("create review item: %w", err)
			}
		}
		return t.logf(actor, "review.create", "review:"+rv.ID, nil, rv)
	})
	return rv, rev, err
}

// GetReview returns a review with its counts, or not_found.
func (s *Store) GetReview(ctx context.Context, id string) (store.Review, error) {
	return s.pool(ctx).review(id)
}

// ListReviews returns a page of reviews in id order, with their counts.
func (s *Store) ListReviews(ctx context.Context, f store.ReviewFilter) ([]store.Review, string, error) {
	var where []string
	var args []any
	if f.Accounts != nil {
		if len(f.Accounts) == 0 {
			return []store.Review{}, "", nil
		}
		where = append(where, "account IN ("+placeholders(len(f.Accounts))+")")
		for _, a := range f.Accounts {
			args = append(args, a)
		}
	}
	if f.Account != "" {
		where, args = append(where, "account = ?"), append(args, f.Account)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	out, next, err := pageByID(ctx, s, "reviews", reviewColumns, "reviews", where, args, f.Cursor, limit(f.Limit), scanReview,
		func(r store.Review) string { return r.ID })
	if err != nil {
		return nil, "", err
	}
	ptrs := make([]*store.Review, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	return out, next, s.pool(ctx).countReviews(ptrs)
}

// ReviewItems returns a review's items in order (not_found for no
// review).
func (s *Store) ReviewItems(ctx context.Context, id string) ([]store.ReviewItem, error) {
	r := s.pool(ctx)
	if ok, err := s.reviewExists(r, id); err != nil || !ok {
		if err == nil {
			err = notFound("review %s not found", id)
		}
		return nil, err
	}
	return r.reviewItems(id)
}

func (s *Store) reviewExists(r reader, id string) (bool, error) {
	var one int
	err := r.queryRow(`SELECT 1 FROM reviews WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// reviewItem reads one item inside a transaction.
func (r reader) reviewItem(reviewID string, seq int64) (store.ReviewItem, error) {
	it, err := scanReviewItem(r.queryRow(`SELECT `+reviewItemColumns+reviewItemFrom+` WHERE i.review_id = ? AND i.seq = ?`, reviewID, seq))
	if errors.Is(err, sql.ErrNoRows) {
		return it, notFound("item %d of review %s not found", seq, reviewID)
	}
	if err != nil {
		return it, fmt.Errorf("read review item: %w", err)
	}
	return it, nil
}

// DecideReviewItem records a decision; see store.ReviewStore.
func (s *Store) DecideReviewItem(ctx context.Context, w store.Write, reviewID, itemID, decision, note string) (store.ReviewItem, int64, error) {
	actor := w.Actor
	var out store.ReviewItem
	rev, err := s.write(ctx, w, func(t *wtx) error {
		r := t.reader()
		rv, err := r.review(reviewID)
		if err != nil {
			return err
		}
		seq, err := strconv.ParseInt(itemID, 10, 64)
		if err != nil {
			return notFound("item %s of review %s not found", itemID, reviewID)
		}
		before, err := r.reviewItem(reviewID, seq)
		if err != nil {
			return err
		}
		if rv.Status != store.ReviewOpen {
			return conflict("review %s is closed", reviewID)
		}
		if _, err := t.exec(`UPDATE review_items SET decision = ?, note = ?, decided_by = ?, decided_at = ? WHERE review_id = ? AND seq = ?`,
			decision, note, t.by, toMicros(t.now), reviewID, seq); err != nil {
			return fmt.Errorf("decide review item: %w", err)
		}
		if out, err = r.reviewItem(reviewID, seq); err != nil {
			return err
		}
		return t.logf(actor, "review.decide", "review:"+reviewID,
			reviewDecisionAudit(before), reviewDecisionAudit(out))
	})
	return out, rev, err
}

// reviewDecisionAudit is what the audit log keeps of an item's decision.
func reviewDecisionAudit(it store.ReviewItem) map[string]any {
	m := map[string]any{"item": it.ID, "kind": it.Kind, "user": it.UserID, "account": it.Account, "role": it.Role}
	if it.GrantID != "" {
		m["grant"] = it.GrantID
	}
	if it.GroupID != "" {
		m["group"] = it.GroupID
	}
	if it.Decision != nil {
		m["decision"], m["note"] = *it.Decision, it.Note
	}
	return m
}

// CloseReview closes an open review once and applies its decisions; see
// store.ReviewStore.
func (s *Store) CloseReview(ctx context.Context, w store.Write, c store.ReviewClose) (store.Review, []store.ReviewItem, int64, error) {
	actor := w.Actor
	var rv store.Review
	var items []store.ReviewItem
	rev, err := s.write(ctx, w, func(t *wtx) error {
		r := t.reader()
		var err error
		if rv, err = r.review(c.ID); err != nil {
			return err
		}
		res, err := t.exec(`UPDATE reviews SET status = ?, closed_at = ?, closed_by = ? WHERE id = ? AND status = ?`,
			store.ReviewClosed, toMicros(t.now), actor, c.ID, store.ReviewOpen)
		if err != nil {
			return fmt.Errorf("close review: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("close review: %w", err)
		} else if n == 0 {
			return conflict("review %s is closed already", c.ID)
		}
		pv, err := r.policy()
		if err != nil {
			return err
		}
		if items, err = r.reviewItems(c.ID); err != nil {
			return err
		}
		t.review = rv.ID
		defer func() { t.review = "" }()
		for i := range items {
			it := &items[i]
			decision := c.Apply(rv, *it)
			if cr := pv.Policy.Role(it.Role); cr != nil && cr.Protected {
				decision = store.DecisionKeep
			}
			if it.Outcome, err = t.applyReviewItem(actor, *it, decision); err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE review_items SET outcome = ? WHERE review_id = ? AND seq = ?`, it.Outcome, c.ID, it.ID); err != nil {
				return fmt.Errorf("close review: %w", err)
			}
		}
		closedAt := t.now
		rv.Status, rv.ClosedAt, rv.ClosedBy = store.ReviewClosed, &closedAt, actor
		if err := r.countReviews([]*store.Review{&rv}); err != nil {
			return err
		}
		return t.logf(actor, "review.close", "review:"+rv.ID, nil, rv)
	})
	return rv, items, rev, err
}

// applyReviewItem keeps or revokes an item's grant or membership and
// returns the outcome: gone when it no longer exists as reviewed.
func (t *wtx) applyReviewItem(actor string, it store.ReviewItem, decision string) (string, error) {
	r := t.reader()
	switch it.Kind {
	case store.ItemGrant:
		g, err := r.grant(it.GrantID)
		var ae *access.Error
		if errors.As(err, &ae) && ae.Code == access.CodeNotFound {
			return store.OutcomeGone, nil
		}
		if err != nil {
			return "", err
		}
		// Changed since it was reviewed (a raised role, a wider scope): the
		// decision was about other access, which stays as it is now.
		if g.Principal != "user:"+it.UserID || g.Account != it.Account || g.Role != it.Role || g.Scope != it.Scope || g.Access != it.Access {
			return store.OutcomeGone, nil
		}
		if decision != store.DecisionRevoke {
			return store.OutcomeKept, nil
		}
		return store.OutcomeRevoked, t.deleteGrantRow(actor, *g)
	case store.ItemMembership:
		ok, err := r.isMember(it.GroupID, it.UserID)
		if err != nil {
			return "", err
		}
		if !ok {
			return store.OutcomeGone, nil
		}
		if decision != store.DecisionRevoke {
			return store.OutcomeKept, nil
		}
		return store.OutcomeRevoked, t.removeMemberRow(actor, it.GroupID, it.UserID)
	}
	return "", fmt.Errorf("review item of unknown kind %q", it.Kind)
}

// setReviewNext records the review that follows a closed one (its
// schedule): CreateReview with Previous set calls it.
func (t *wtx) setReviewNext(previous, next string) error {
	if _, err := t.exec(`UPDATE reviews SET next = ? WHERE id = ?`, next, previous); err != nil {
		return fmt.Errorf("link next review: %w", err)
	}
	return nil
}

// DueReviews returns the open reviews due at or before at, oldest first.
func (s *Store) DueReviews(ctx context.Context, at time.Time) ([]store.Review, error) {
	return s.reviewsWhere(ctx, `status = ? AND due <= ? ORDER BY due, id`, store.ReviewOpen, toMicros(at))
}

// ReviewsToRemind returns the open reviews not yet reminded that are due
// at or before at.
func (s *Store) ReviewsToRemind(ctx context.Context, at time.Time) ([]store.Review, error) {
	return s.reviewsWhere(ctx, `status = ? AND reminded_at IS NULL AND due <= ? ORDER BY due, id`, store.ReviewOpen, toMicros(at))
}

func (s *Store) reviewsWhere(ctx context.Context, cond string, args ...any) ([]store.Review, error) {
	rows, err := s.query(ctx, `SELECT `+reviewColumns+` FROM reviews WHERE `+cond+` LIMIT 100`, args...)
	if err != nil {
		return nil, fmt.Errorf("list reviews: %w", err)
	}
	defer rows.Close()
	var out []store.Review
	for rows.Next() {
		rv, err := scanReview(rows)
		if err != nil {
			return nil, fmt.Errorf("list reviews: %w", err)
		}
		out = append(out, rv)
	}
	return out, rows.Err()
}

// RemindReview marks an open review reminded once, with w.Mail; see
// store.ReviewStore. It writes no audit entry: a reminder changes no
// access.
func (s *Store) RemindReview(ctx context.Context, w store.Write, id string) (bool, int64, error) {
	reminded := false
	rev, err := s.write(ctx, w, func(t *wtx) error {
		res, err := t.exec(`UPDATE reviews SET reminded_at = ? WHERE id = ? AND status = ? AND reminded_at IS NULL`,
			toMicros(t.now), id, store.ReviewOpen)
		if err != nil {
			return fmt.Errorf("remind review: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("remind review: %w", err)
		} else if n == 0 {
			return errNoop
		}
		reminded = true
		return nil
	})
	return reminded, rev, err
}

var _ store.ReviewStore = (*Store)(nil)

// reviewNote is what the audit entry of a revocation says after the
// change: nil, or the review whose closing revoked it.
func (t *wtx) reviewNote() any {
	if t.review == "" {
		return nil
	}
	return map[string]string{"review": t.review}
}

// boolInt stores a flag as 0 or 1 (an INTEGER column on both databases).
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
