package app

import (
	"context"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/mail"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Mail (identity.md §1): use cases put messages into store.Write.Mail, so
// a message exists if and only if the change that causes it commits; the
// node's sender (package mail) delivers them.

// MailConfig configures outgoing mail.
type MailConfig struct {
	// PublicURL is the absolute base of every link in a message
	// (--public-url), without a trailing slash.
	PublicURL string
	// Delivery is true when a sender delivers the outbox (SMTP is
	// configured): messages are written pending, else not_sent.
	Delivery bool
	// Kick, when set, is called after a write that queued mail (it wakes
	// the sender).
	Kick func()
	// Brand heads and signs every message (--brand-name, --brand-color,
	// the logo); the zero Brand leaves them unbranded.
	Brand mail.Brand
}

// link is the absolute link to path on this server.
func (a *App) link(path string) string { return strings.TrimRight(a.mail.PublicURL, "/") + path }

// message is the outbox row of a rendered message to u.
func (a *App) message(kind string, to, userID, locale string, c mail.Content, secret string) store.Message {
	c = a.mail.Brand.Apply(c)
	status := store.OutboxNotSent
	if a.mail.Delivery {
		status = store.OutboxPending
	}
	return store.Message{Kind: kind, To: to, UserID: userID, Locale: locale, Subject: c.Subject, Text: c.Text, HTML: c.HTML,
		Secret: secret, Status: status}
}

// sent wakes the sender after a write with mail committed.
func (a *App) sent() {
	if a.mail.Kick != nil {
		a.mail.Kick()
	}
}

// localeOf returns the locale messages to u are written in: its own when
// the store knows one, else en.
func (a *App) localeOf(ctx context.Context, userID string) string {
	return mail.Locale(a.st.UserLocale(ctx, userID))
}

// OutboxItem is a stored message as staff see it: the secret is shown
// only to admins and only while the message is undelivered (not_sent,
// pending: the demo's way to follow an invitation link); everyone else,
// and every delivered message, shows "[link removed]" in its place.
type OutboxItem struct {
	store.OutboxMessage
}

// OutboxFilter selects outbox messages by status.
type OutboxFilter struct {
	Status string
	ListParams
}

// ListOutbox lists the outbox, newest first, for staff admins and
// auditors. Errors: CodeForbidden for anyone else, CodeInvalid for an
// unknown status.
func (a *App) ListOutbox(ctx context.Context, c *Actor, f OutboxFilter) (Page[OutboxItem], error) {
	if !c.Internal() || (c.User.StaffRole != access.StaffAdmin && c.User.StaffRole != access.StaffAuditor) {
		return Page[OutboxItem]{}, access.Errorf(access.CodeForbidden, "the outbox is for admins and auditors")
	}
	switch f.Status {
	case "", store.OutboxNotSent, store.OutboxPending, store.OutboxSent, store.OutboxFailed:
	default:
		return Page[OutboxItem]{}, access.FieldErrorf(access.CodeInvalid, "status", "status must be not_sent, pending, sent or failed")
	}
	msgs, next, err := a.st.ListOutbox(ctx, store.OutboxFilter{Status: f.Status, Limit: f.limit(), Cursor: f.Cursor})
	if err != nil {
		return Page[OutboxItem]{}, err
	}
	out := Page[OutboxItem]{Items: make([]OutboxItem, 0, len(msgs)), Next: next}
	for _, m := range msgs {
		show := c.Admin() && m.Secret != "" && (m.Status == store.OutboxNotSent || m.Status == store.OutboxPending)
		if show {
			m.Text, m.HTML = mail.Reveal(m.Text, m.Secret), mail.Reveal(m.HTML, m.Secret)
		} else {
			m.Text, m.HTML = mail.Redact(m.Text), mail.Redact(m.HTML)
		}
		m.Secret = ""
		out.Items = append(out.Items, OutboxItem{m})
	}
	return out, nil
}
