package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// API tokens belong to internal users and are stored by hash only (the
// caller hashes the secret). Token ids are "t_" followed by 12 random
// characters of [a-z2-7] unless the caller gives one.

const tokenColumns = `id, user_id, name, hash, created_at, last_used`

func scanToken(sc rowScanner) (store.Token, error) {
	var t store.Token
	var created int64
	var used sql.NullInt64
	if err := sc.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &created, &used); err != nil {
		return t, err
	}
	t.CreatedAt, t.LastUsed = fromMicros(created), ptrMicros(used)
	return t, nil
}

// tokenAudit is what the audit log records of a token: never its hash.
func tokenAudit(t store.Token) map[string]string {
	return map[string]string{"id": t.ID, "user": t.UserID, "name": t.Name}
}

// CreateToken stores a new API token of an internal user (invalid for a
// missing or external user, or an empty hash) and returns it with its id
// and created_at.
func (s *Store) CreateToken(ctx context.Context, w store.Write, tok store.Token) (store.Token, int64, error) {
	actor := w.Actor
	if tok.Hash == "" {
		return store.Token{}, 0, invalid("token hash is required")
	}
	if tok.ID == "" {
		tok.ID = "t_" + randomID(12)
	} else if !access.ValidID(tok.ID) {
		return store.Token{}, 0, invalid("token id %q is not a valid id", tok.ID)
	}
	tok.LastUsed = nil
	rev, err := s.write(ctx, w, func(t *wtx) error {
		u, err := t.reader().user(tok.UserID)
		if access.ErrorCode(err) == access.CodeNotFound {
			return invalid("user %s does not exist", tok.UserID)
		}
		if err != nil {
			return err
		}
		if u.Kind != access.KindInternal {
			return invalid("API tokens belong to internal users")
		}
		if ok, err := t.exists(`SELECT 1 FROM tokens WHERE id = ? OR hash = ?`, tok.ID, tok.Hash); err != nil {
			return fmt.Errorf("create token: %w", err)
		} else if ok {
			return conflict("token already exists")
		}
		tok.CreatedAt = t.now
		if _, err := t.exec(`INSERT INTO tokens (id, user_id, name, hash, created_at) VALUES (?, ?, ?, ?, ?)`,
			tok.ID, tok.UserID, tok.Name, tok.Hash, toMicros(tok.CreatedAt)); err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		return t.logf(actor, "token.create", "token:"+tok.ID, nil, tokenAudit(tok))
	})
	if err != nil {
		return store.Token{}, 0, err
	}
	return tok, rev, nil
}

// ListTokens lists the tokens of a user ("" for every user) in id order;
// tokens_user (user_id, id) serves the filter.
func (s *Store) ListTokens(ctx context.Context, userID string) ([]store.Token, error) {
	q, args := `SELECT `+tokenColumns+` FROM tokens`, []any{}
	if userID != "" {
		q, args = q+` WHERE user_id = ?`, append(args, userID)
	}
	rows, err := s.query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []store.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TokenByHash returns the token with the hash, or not_found. It answers
// from the authentication cache (authcache.go) when it can; otherwise the
// unique index on hash serves a prepared query, and a token found is
// cached.
func (s *Store) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	cached, ok, gen := s.auth.token(hash)
	if ok {
		return cached, nil
	}
	t, err := scanToken(s.readRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, notFound("token not found")
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("read token: %w", err)
	}
	s.auth.putToken(gen, t)
	return t, nil
}

// DeleteToken revokes a token, or fails with not_found. The revocation is
// immediate on this store (its cache entry goes before DeleteToken
// returns) and reaches other nodes through the change_log kind token.
func (s *Store) DeleteToken(ctx context.Context, w store.Write, id string) (int64, error) {
	actor := w.Actor
	rev, err := s.write(ctx, w, func(t *wtx) error {
		tok, err := scanToken(t.queryRow(`SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("token %s not found", id)
		}
		if err != nil {
			return fmt.Errorf("delete token: %w", err)
		}
		if _, err := t.exec(`DELETE FROM tokens WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete token: %w", err)
		}
		if err := t.change(changeToken, id); err != nil {
			return err
		}
		return t.logf(actor, "token.delete", "token:"+id, tokenAudit(tok), nil)
	})
	// After the commit, so that no read racing with the delete can put the
	// token back (and harmless when nothing was deleted).
	s.auth.dropToken(id)
	return rev, err
}
