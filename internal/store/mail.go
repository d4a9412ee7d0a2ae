package store

import (
	"context"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// Outbox statuses (identity.md §1). A message is written as OutboxPending
// when a sender is configured and as OutboxNotSent otherwise; a sender
// turns a pending message into OutboxSent, or into OutboxFailed once its
// retries are exhausted (24 hours).
const (
	OutboxNotSent = "not_sent"
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
)

// SecretMarker stands, in a stored message's bodies, for its secret (an
// invitation or reset link): the sender puts the secret in its place when
// it delivers the message, and the store forgets the secret once the
// message is sent, so a delivered message holds no secret. It is ASCII
// that neither HTML nor URL escaping changes.
const SecretMarker = "PORTCULLIS-SECRET-LINK"

// Message is a mail written to the outbox in the transaction of the write
// that causes it (Write.Mail).
type Message struct {
	// Kind names the message: invitation, password_reset,
	// password_changed, email_changed, mfa_enabled, mfa_disabled, comment.
	Kind   string
	To     string
	UserID string
	Locale string
	// Subject, Text and HTML are the rendered message; Text and HTML may
	// hold SecretMarker where Secret goes.
	Subject, Text, HTML string
	// Secret is what SecretMarker stands for ("" when none).
	Secret string
	// Status is OutboxPending or OutboxNotSent.
	Status string
}

// OutboxMessage is a stored message.
type OutboxMessage struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	To     string `json:"to"`
	UserID string `json:"user,omitempty"`
	Locale string `json:"locale"`
	// Subject, Text and HTML are as stored: with SecretMarker, not the
	// secret.
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	// Secret is "" once the message was sent. It never leaves the server
	// in a list (json "-").
	Secret        string     `json:"-"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	SentAt        *time.Time `json:"sent_at,omitempty"`
}

// OutboxFilter selects outbox messages, newest first.
type OutboxFilter struct {
	Status string
	Limit  int
	Cursor string
}

// OutboxClaim asks for up to Max pending messages due at Now, leased to
// Claimant until Now+Lease.
type OutboxClaim struct {
	Claimant string
	Now      time.Time
	Lease    time.Duration
	Max      int
}

// OutboxResult is the outcome of one delivery attempt: sent, or failed
// with Error and, when RetryAt is set, to be tried again then (else the
// message is failed for good).
type OutboxResult struct {
	Sent    bool
	At      time.Time
	Error   string
	RetryAt *time.Time
}

// OutboxStore is the outbox of mail. Messages are written only through
// Write.Mail, in the transaction of the change that causes them.
//
// ClaimOutbox atomically leases due pending messages to one claimant: two
// senders on one database (nodes) never hold the same message, so a
// message is sent once unless its sender dies between sending and
// FinishOutbox (the lease then expires and another sender retries it).
// FinishOutbox records an attempt's result; it fails with not_found when
// the claimant no longer holds the message. A sent message loses its
// secret.
type OutboxStore interface {
	ListOutbox(ctx context.Context, f OutboxFilter) ([]OutboxMessage, string, error)
	GetOutboxMessage(ctx context.Context, id string) (OutboxMessage, error)
	ClaimOutbox(ctx context.Context, c OutboxClaim) ([]OutboxMessage, error)
	FinishOutbox(ctx context.Context, id, claimant string, r OutboxResult) error
}

// Invitation statuses. An expired invitation is a pending one past its
// ExpiresAt (reported as InvitationExpired, never stored).
const (
	InvitationPending  = "pending"
	InvitationAccepted = "accepted"
	InvitationExpired  = "expired"
	InvitationRevoked  = "revoked"
)

// Invitation is an invitation of a new user (identity.md §2).
type Invitation struct {
	ID          string     `json:"id"`
	UserID      string     `json:"user"`
	Email       string     `json:"email"`
	Name        string     `json:"name,omitempty"`
	HomeAccount string     `json:"home_account"`
	Locale      string     `json:"locale"`
	Status      string     `json:"status"`
	ExpiresAt   time.Time  `json:"expires_at"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	AcceptedAt  *time.Time `json:"accepted_at,omitempty"`
}

// NewInvitation is one invitation to create: the user (status invited,
// validated by the caller), its grants (validated; ids assigned by the
// store), and the invitation with the hash of its token.
type NewInvitation struct {
	User      access.User
	Grants    []access.Grant
	Locale    string
	TokenHash string
	ExpiresAt time.Time
}

// InvitationFilter selects invitations in id order. HomeAccounts, when
// non-nil, restricts to invitations of users homed there (a customer
// admin's reach); Status is one of the invitation statuses or "".
type InvitationFilter struct {
	HomeAccounts []string
	Account      string
	UserID       string
	Status       string
	Now          time.Time
	Limit        int
	Cursor       string
}

// InvitationStore stores invitations and password reset tokens, by hash
// only.
//
// CreateInvitations creates, in one transaction with w.Mail, every
// invitation's user, grants and invitation row, all or nothing: an email in
// use is conflict with ExistingID and, in a batch, Items naming each bad
// index. RenewInvitation gives a pending (or expired) invitation a new token
// and expiry (the old token dies); RevokeInvitation ends a pending one (the
// user stays invited). AcceptInvitation, for a pending invitation whose
// token hash matches and which has not expired at now, makes its user
// active with the name and password hash given and marks the invitation
// accepted; anything else is not_found.
//
// CreatePasswordReset stores a reset token for a user (its earlier ones
// die); UsePasswordReset, for a token not expired at now, sets the user's
// password hash, deletes every reset token and session of the user, and
// returns the user; anything else is not_found.
type InvitationStore interface {
	CreateInvitations(ctx context.Context, w Write, invs []NewInvitation) ([]Invitation, int64, error)
	GetInvitation(ctx context.Context, id string) (Invitation, error)
	InvitationByToken(ctx context.Context, hash string) (Invitation, error)
	ListInvitations(ctx context.Context, f InvitationFilter) ([]Invitation, string, error)
	RenewInvitation(ctx context.Context, w Write, id, hash string, expires time.Time) (Invitation, int64, error)
	RevokeInvitation(ctx context.Context, w Write, id string) (int64, error)
	AcceptInvitation(ctx context.Context, w Write, hash, name, passwordHash string, now time.Time) (Invitation, int64, error)

	CreatePasswordReset(ctx context.Context, w Write, userID, hash string, expires time.Time) (int64, error)
	PasswordResetUser(ctx context.Context, hash string, now time.Time) (access.User, error)
	UsePasswordReset(ctx context.Context, w Write, hash, passwordHash string, now time.Time) (access.User, int64, error)
	// UserLocale returns the user's locale, "" when unknown.
	UserLocale(ctx context.Context, userID string) string
}
