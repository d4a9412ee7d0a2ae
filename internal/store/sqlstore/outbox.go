package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/store"
)

// The outbox (store.OutboxStore). Messages are inserted by Store.write
// from Write.Mail, inside the write's transaction; senders claim them with
// one UPDATE whose WHERE repeats the claimability test, so that of two
// concurrent claims of one row (on PostgreSQL the second waits for the
// first's row lock and then re-evaluates the WHERE on the new row version;
// SQLite has one writer) exactly one wins. Claims and results do not bump
// the revision: the outbox is no part of the access model.

const outboxColumns = `id, kind, recipient, user_id, locale, subject, text_body, html_body, secret, status, attempts, last_error, created_at, next_attempt_at, sent_at`

func scanOutbox(sc rowScanner) (store.OutboxMessage, error) {
	var m store.OutboxMessage
	var secret sql.NullString
	var created, next int64
	var sent sql.NullInt64
	if err := sc.Scan(&m.ID, &m.Kind, &m.To, &m.UserID, &m.Locale, &m.Subject, &m.Text, &m.HTML, &secret,
		&m.Status, &m.Attempts, &m.LastError, &created, &next, &sent); err != nil {
		return m, err
	}
	m.Secret = secret.String
	m.CreatedAt = fromMicros(created)
	if m.Status == store.OutboxPending {
		t := fromMicros(next)
		m.NextAttemptAt = &t
	}
	m.SentAt = ptrMicros(sent)
	return m, nil
}

// appendMail inserts the messages of a write into the outbox.
func (t *wtx) appendMail(msgs []store.Message) error {
	for _, m := range msgs {
		status := m.Status
		if status != store.OutboxPending {
			status = store.OutboxNotSent
		}
		locale := m.Locale
		if locale == "" {
			locale = "en"
		}
		if _, err := t.exec(`INSERT INTO outbox (id, kind, recipient, user_id, locale, subject, text_body, html_body, secret, status, created_at, next_attempt_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			"m_"+randomID(16), m.Kind, m.To, m.UserID, locale, m.Subject, m.Text, m.HTML, nullString(m.Secret), status,
			toMicros(t.now), toMicros(t.now)); err != nil {
			return fmt.Errorf("write outbox: %w", err)
		}
	}
	return nil
}

// ListOutbox returns a page of messages, newest first.
func (s *Store) ListOutbox(ctx context.Context, f store.OutboxFilter) ([]store.OutboxMessage, string, error) {
	n := limit(f.Limit)
	var where []string
	var args []any
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		at, id, ok := strings.Cut(c, "|")
		us, perr := strconv.ParseInt(at, 10, 64)
		if !ok || perr != nil {
			return nil, "", invalid("invalid cursor")
		}
		where = append(where, "(created_at < ? OR (created_at = ? AND id < ?))")
		args = append(args, us, us, id)
	}
	q := `SELECT ` + outboxColumns + ` FROM outbox`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC LIMIT ?"
	rows, err := s.query(ctx, q, append(args, n+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list outbox: %w", err)
	}
	defer rows.Close()
	out := []store.OutboxMessage{}
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list outbox: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list outbox: %w", err)
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		last := out[n-1]
		next = encodeCursor(strconv.FormatInt(toMicros(last.CreatedAt), 10) + "|" + last.ID)
	}
	return out, next, nil
}

// GetOutboxMessage returns one message, or not_found.
func (s *Store) GetOutboxMessage(ctx context.Context, id string) (store.OutboxMessage, error) {
	m, err := scanOutbox(s.queryRow(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, notFound("message %s not found", id)
	}
	if err != nil {
		return m, fmt.Errorf("read outbox: %w", err)
	}
	return m, nil
}

// ClaimOutbox leases up to c.Max due pending messages to c.Claimant and
// returns them, oldest due first; see store.OutboxStore.
func (s *Store) ClaimOutbox(ctx context.Context, c store.OutboxClaim) ([]store.OutboxMessage, error) {
	if c.Max <= 0 {
		c.Max = 10
	}
	now := toMicros(c.Now)
	until := toMicros(c.Now.Add(c.Lease))
	const claimable = `status = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)`
	rows, err := s.db.QueryContext(ctx, s.rebind(`UPDATE outbox SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox WHERE `+claimable+` ORDER BY next_attempt_at, id LIMIT ?)
		AND `+claimable+`
		RETURNING `+outboxColumns), c.Claimant, until, now, now, c.Max, now, now)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxMessage
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("claim outbox: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	return out, nil
}

// FinishOutbox records the result of a delivery attempt of a message
// claimant holds; see store.OutboxStore.
func (s *Store) FinishOutbox(ctx context.Context, id, claimant string, r store.OutboxResult) error {
	var res sql.Result
	var err error
	errText := r.Error
	if len(errText) > 1000 {
		errText = errText[:1000]
	}
	switch {
	case r.Sent:
		res, err = s.db.ExecContext(ctx, s.rebind(`UPDATE outbox SET status = 'sent', sent_at = ?, secret = NULL, last_error = '',
			claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ? AND status = 'pending'`), toMicros(r.At), id, claimant)
	case r.RetryAt != nil:
		res, err = s.db.ExecContext(ctx, s.rebind(`UPDATE outbox SET next_attempt_at = ?, last_error = ?,
			claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ? AND status = 'pending'`), toMicros(*r.RetryAt), errText, id, claimant)
	default:
		res, err = s.db.ExecContext(ctx, s.rebind(`UPDATE outbox SET status = 'failed', secret = NULL, last_error = ?,
			claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ? AND status = 'pending'`), errText, id, claimant)
	}
	if err != nil {
		return fmt.Errorf("finish outbox: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("message %s is not held by %s", id, claimant)
	}
	return nil
}
