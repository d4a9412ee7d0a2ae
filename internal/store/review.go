package store

import (
	"context"
	"time"
)

// Access review statuses, decisions, outcomes, item kinds and schedules
// (governance.md §2).
const (
	ReviewOpen   = "open"
	ReviewClosed = "closed"

	DecisionKeep   = "keep"
	DecisionRevoke = "revoke"

	OutcomeKept    = "kept"
	OutcomeRevoked = "revoked"
	// OutcomeGone is an item whose grant or membership no longer existed
	// when the review closed: nothing was left to keep or revoke.
	OutcomeGone = "gone"

	ItemGrant      = "grant"
	ItemMembership = "membership"

	// ReviewerStaff is the reviewer of an item whose level is above the
	// review's reviewer's: any staff writer answers it.
	ReviewerStaff = "staff"

	ScheduleMonthly   = "monthly"
	ScheduleQuarterly = "quarterly"
)

// Review is an access review of an account's subtree.
type Review struct {
	ID         string       `json:"id"`
	Account    string       `json:"account"`
	Reviewer   string       `json:"reviewer"`
	Due        time.Time    `json:"due"`
	OnNoAnswer string       `json:"on_no_answer"`
	Schedule   *string      `json:"schedule"`
	Status     string       `json:"status"`
	Previous   string       `json:"previous,omitempty"`
	Next       string       `json:"next,omitempty"`
	CreatedBy  string       `json:"created_by"`
	CreatedAt  time.Time    `json:"created_at"`
	RemindedAt *time.Time   `json:"reminded_at,omitempty"`
	ClosedAt   *time.Time   `json:"closed_at,omitempty"`
	ClosedBy   string       `json:"closed_by,omitempty"`
	Counts     ReviewCounts `json:"counts"`
}

// ReviewCounts counts a review's items: while it is open kept and revoked
// count the decisions so far and open the items without one; once closed
// they count the outcomes (an item gone counts as neither) and open is 0.
type ReviewCounts struct {
	Total   int `json:"total"`
	Kept    int `json:"kept"`
	Revoked int `json:"revoked"`
	Open    int `json:"open"`
}

// ReviewItem is one grant or membership under review, copied whole at the
// review's creation. ID is its position in the review ("1", "2", ...).
// For a membership, Role and Level are the highest of the group's grants
// and GroupID names the group; for a grant, GrantID names it.
type ReviewItem struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	UserID     string     `json:"-"`
	Account    string     `json:"account"`
	GrantID    string     `json:"grant,omitempty"`
	GroupID    string     `json:"group,omitempty"`
	Role       string     `json:"role"`
	Level      int        `json:"level"`
	Protected  bool       `json:"protected"`
	Scope      string     `json:"scope,omitempty"`
	Access     string     `json:"access,omitempty"`
	DaysBack   *int       `json:"days_back"`
	ValidFrom  *time.Time `json:"valid_from"`
	ValidUntil *time.Time `json:"valid_until"`
	Reviewer   string     `json:"reviewer"`
	Decision   *string    `json:"decision"`
	Note       string     `json:"note"`
	DecidedBy  string     `json:"decided_by,omitempty"`
	DecidedAt  *time.Time `json:"decided_at,omitempty"`
	Outcome    string     `json:"outcome,omitempty"`
	// User is the person as the store knows it now (joined at read; the
	// zero value when the user was deleted since).
	User ReviewUser `json:"user"`
}

// ReviewUser is the person an item is about.
type ReviewUser struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Email       string     `json:"email"`
	Status      string     `json:"status"`
	LastLoginAt *time.Time `json:"last_login_at"`
}

// ReviewFilter selects reviews in id order. Accounts, when non-nil,
// restricts to reviews of those accounts (a customer admin's reach);
// Account to one account; Status is open, closed or "".
type ReviewFilter struct {
	Account  string
	Accounts []string
	Status   string
	Limit    int
	Cursor   string
}

// ReviewClose says how a review closes. The store never revokes an item
// whose role is protected in the current policy (it is kept).
type ReviewClose struct {
	ID string
	// Apply returns the decision to apply to an item, keep or revoke:
	// its own, or for an open item what the review says. It runs inside
	// the write transaction and must not call the store.
	Apply func(Review, ReviewItem) string
}

// ReviewStore stores access reviews (governance.md §2).
//
// CreateReview stores a review (its ID as given, or assigned: "rv_" and
// 12 characters; status open; created_by w.Creator()) with its items in one transaction with w.Mail and audits
// review.create. DecideReviewItem records a decision on an item of an
// open review (conflict when the review is closed, not_found for no such
// item) and audits review.decide, one entry per decision. CloseReview
// closes an open review exactly once (a conditional update: conflict when
// it is closed already, by this node or another), applies the decisions
// (deleting the grant or removing the membership, each audited with the
// review's id in the entry, in the same transaction) and audits
// review.close. RemindReview marks an open review reminded, once (false
// when it was already, or is closed), with w.Mail in the same
// transaction.
type ReviewStore interface {
	CreateReview(ctx context.Context, w Write, r Review, items []ReviewItem) (Review, int64, error)
	GetReview(ctx context.Context, id string) (Review, error)
	ListReviews(ctx context.Context, f ReviewFilter) ([]Review, string, error)
	ReviewItems(ctx context.Context, id string) ([]ReviewItem, error)
	DecideReviewItem(ctx context.Context, w Write, reviewID, itemID, decision, note string) (ReviewItem, int64, error)
	CloseReview(ctx context.Context, w Write, c ReviewClose) (Review, []ReviewItem, int64, error)
	// DueReviews returns the open reviews due at or before at.
	DueReviews(ctx context.Context, at time.Time) ([]Review, error)
	// ReviewsToRemind returns the open, unreminded reviews due at or
	// before at.
	ReviewsToRemind(ctx context.Context, at time.Time) ([]Review, error)
	RemindReview(ctx context.Context, w Write, id string) (bool, int64, error)
}
