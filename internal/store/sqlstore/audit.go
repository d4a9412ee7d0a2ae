package sqlstore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/store"
)

// The audit log is a hash chain: every entry stores the previous entry's
// hash (prev_hash, "" for the first) and its own hash, the lower-case hex
// SHA-256 of the JSON array
//
//	[prev_hash, id, time_µs, actor, action, target, before, after]
//
// where time_µs is the entry's time in microseconds since the Unix epoch and
// before/after are the stored JSON texts (null when absent). Ids are
// assigned 1, 2, 3... in chain order inside the serialized write
// transaction, so a deleted, inserted, reordered or altered entry breaks the
// chain at that entry.
//
// Two things a plain hash chain cannot show are covered since #12:
//   - A truncated or rewritten tail (the newest entries deleted, or
//     replaced by a recomputed chain) still verifies by itself. AuditHead
//     is the anchor kept outside the database: VerifyAudit with an
//     expected head fails unless an entry of the verified chain has that
//     hash.
//   - Someone who can write the database can recompute SHA-256. A store
//     opened with an audit key (Options.AuditKey) writes keyed entries
//     (column keyed = 1) whose hash is the HMAC-SHA256 of the same array
//     under the key. The key applies from the first entry written with
//     it: older entries stay SHA-256 and verify as before, every keyed
//     entry needs the key to verify, and an unkeyed entry after a keyed
//     one breaks the chain (no downgrade). An anchor taken while the key
//     is in use is a keyed hash, which nobody without the key can
//     reproduce for a rewritten tail.

// marshalAudit encodes an audit before/after value; nil stays absent.
func marshalAudit(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("audit: encode: %w", err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	return b, nil
}

// auditHash computes an entry's hash from the previous entry's hash:
// SHA-256, or for a keyed entry HMAC-SHA256 under key.
func auditHash(prev string, e store.AuditEntry, key []byte) string {
	field := func(raw json.RawMessage) any {
		if raw == nil {
			return nil
		}
		return string(raw)
	}
	b, _ := json.Marshal([]any{prev, e.ID, e.Time.UnixMicro(), e.Actor, e.Action, e.Target, field(e.Before), field(e.After)})
	if e.Keyed {
		m := hmac.New(sha256.New, key)
		m.Write(b)
		return hex.EncodeToString(m.Sum(nil))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// appendAudit appends the transaction's queued audit entries to the chain.
// It runs inside the serialized write transaction, so the tail it reads
// stays the tail until commit.
func (t *wtx) appendAudit() error {
	if len(t.audit) == 0 {
		return nil
	}
	var id, tailKeyed int64
	var prev string
	err := t.queryRow(`SELECT id, hash, keyed FROM audit ORDER BY id DESC LIMIT 1`).Scan(&id, &prev, &tailKeyed)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("audit: read tail: %w", err)
	}
	if tailKeyed != 0 && len(t.s.auditKey) == 0 {
		// An unkeyed entry would break the chain for good: refuse the
		// write instead (a node or command started without the key).
		return errors.New("audit: the audit log is keyed; this store was opened without the audit key (--audit-key, PORTCULLIS_AUDIT_KEY)")
	}
	for _, e := range t.audit {
		id++
		e.ID = id
		e.Time = e.Time.UTC().Truncate(time.Microsecond)
		e.Keyed = len(t.s.auditKey) > 0
		e.Hash = auditHash(prev, e, t.s.auditKey)
		keyed := 0
		if e.Keyed {
			keyed = 1
		}
		if _, err := t.exec(`INSERT INTO audit (id, at, actor, action, target, before_json, after_json, prev_hash, hash, keyed)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, toMicros(e.Time), e.Actor, e.Action, e.Target, rawOrNil(e.Before), rawOrNil(e.After), prev, e.Hash, keyed); err != nil {
			return fmt.Errorf("audit: append: %w", err)
		}
		prev = e.Hash
	}
	t.audit = nil
	return nil
}

func rawOrNil(raw json.RawMessage) any {
	if raw == nil {
		return nil
	}
	return string(raw)
}

// Log appends an entry that is not a data change (a login, a view-as) to
// the audit log. It does not change the revision. The entry's ID and Hash
// are assigned; a zero Time means now.
func (s *Store) Log(ctx context.Context, e store.AuditEntry) error {
	if e.Action == "" {
		return invalid("audit entry needs an action")
	}
	_, err := s.runTx(ctx, store.Write{}, false, func(t *wtx) error {
		if e.Time.IsZero() {
			e.Time = t.now
		}
		t.audit = append(t.audit, e)
		return nil
	})
	return err
}

// ListAudit returns audit entries matching f, newest first, and the cursor
// of the next page ("" on the last). Each filter is served by its index
// (audit_actor, audit_target, audit_action, audit_at) walked by id.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, string, error) {
	n := limit(f.Limit)
	var where []string
	var args []any
	if forms := store.ActorForms(f.Actor); len(forms) > 0 {
		where = append(where, "actor IN ("+placeholders(len(forms))+")")
		for _, a := range forms {
			args = append(args, a)
		}
	}
	if f.Target != "" {
		where, args = append(where, "target = ?"), append(args, f.Target)
	}
	if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	if f.Since != nil {
		where, args = append(where, "at >= ?"), append(args, toMicros(*f.Since))
	}
	if f.Until != nil {
		where, args = append(where, "at < ?"), append(args, toMicros(*f.Until))
	}
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		id, err := strconv.ParseInt(after, 10, 64)
		if err != nil {
			return nil, "", invalid("invalid cursor")
		}
		where, args = append(where, "id < ?"), append(args, id)
	}
	q := `SELECT id, at, actor, action, target, before_json, after_json, hash, keyed FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, n+1)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		e, _, err := scanAudit(rows, false)
		if err != nil {
			return nil, "", fmt.Errorf("list audit: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list audit: %w", err)
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		next = encodeCursor(strconv.FormatInt(out[n-1].ID, 10))
	}
	return out, next, nil
}

func scanAudit(rows *sql.Rows, withPrev bool) (store.AuditEntry, string, error) {
	var e store.AuditEntry
	var at int64
	var before, after sql.NullString
	var prev string
	var keyed int64
	dest := []any{&e.ID, &at, &e.Actor, &e.Action, &e.Target, &before, &after, &e.Hash, &keyed}
	if withPrev {
		dest = append(dest, &prev)
	}
	if err := rows.Scan(dest...); err != nil {
		return e, "", err
	}
	e.Time = fromMicros(at)
	e.Keyed = keyed != 0
	if before.Valid {
		e.Before = json.RawMessage(before.String)
	}
	if after.Valid {
		e.After = json.RawMessage(after.String)
	}
	return e, prev, nil
}

// VerifyAudit recomputes the hash chain from the first entry and reports
// the number of entries, the newest hash and, when the chain is broken,
// the id of the first entry whose stored hash, previous hash, position or
// keying does not match, with the problem in a sentence. A keyed entry
// verifies only with the store's audit key; an unkeyed entry after a keyed
// one is a break. With expectHead (an AuditHead taken earlier) the chain
// verifies only if one of its entries has that hash: a deleted or
// rewritten tail fails even when what remains chains.
func (s *Store) VerifyAudit(ctx context.Context, expectHead string) (store.AuditVerification, error) {
	rows, err := s.query(ctx, `SELECT id, at, actor, action, target, before_json, after_json, hash, keyed, prev_hash FROM audit ORDER BY id`)
	if err != nil {
		return store.AuditVerification{}, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	v := store.AuditVerification{OK: true}
	prev := ""
	seenKeyed, foundHead := false, false
	bad := func(id int64, format string, args ...any) {
		if v.OK {
			v.OK, v.FirstBad, v.Problem = false, id, fmt.Sprintf(format, args...)
		}
	}
	for rows.Next() {
		e, storedPrev, err := scanAudit(rows, true)
		if err != nil {
			return store.AuditVerification{}, fmt.Errorf("verify audit: %w", err)
		}
		v.Entries++
		switch {
		case e.ID != v.Entries:
			bad(e.ID, "entry %d is at position %d: entries were deleted or inserted", e.ID, v.Entries)
		case storedPrev != prev:
			bad(e.ID, "entry %d does not follow the entry before it", e.ID)
		case e.Keyed && len(s.auditKey) == 0:
			bad(e.ID, "entry %d is keyed: verifying it needs the audit key (--audit-key)", e.ID)
		case !e.Keyed && seenKeyed:
			bad(e.ID, "entry %d is not keyed but follows keyed entries", e.ID)
		case auditHash(prev, e, s.auditKey) != e.Hash:
			if e.Keyed {
				bad(e.ID, "entry %d does not match its HMAC under this audit key: altered, or another key", e.ID)
			} else {
				bad(e.ID, "entry %d does not match its hash: altered", e.ID)
			}
		}
		if e.Keyed {
			v.Keyed++
			seenKeyed = true
		}
		if expectHead != "" && e.Hash == expectHead {
			foundHead = true
		}
		prev = e.Hash
	}
	if err := rows.Err(); err != nil {
		return store.AuditVerification{}, fmt.Errorf("verify audit: %w", err)
	}
	v.Head = prev
	if expectHead != "" && !foundHead && v.OK {
		v.OK = false
		v.Problem = fmt.Sprintf("no entry has the expected head %s: the newest entries were deleted or rewritten", expectHead)
	}
	return v, nil
}

// AuditHead returns the number of entries and the newest entry's hash,
// the anchor to keep outside the database.
func (s *Store) AuditHead(ctx context.Context) (store.AuditHead, error) {
	var h store.AuditHead
	err := s.readRow(ctx, `SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1`).Scan(&h.Entries, &h.Head)
	if errors.Is(err, sql.ErrNoRows) {
		return store.AuditHead{}, nil
	}
	if err != nil {
		return store.AuditHead{}, fmt.Errorf("audit head: %w", err)
	}
	return h, nil
}

// encodeCursor makes an opaque list cursor of the last key of a page.
func encodeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// decodeCursor reverses encodeCursor; a malformed cursor is invalid.
func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 {
		return "", invalid("invalid cursor")
	}
	return string(b), nil
}
