package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

const userColumns = `id, kind, name, email, home_account, status, staff_role, constraints, locale, last_login_at`

func scanUser(sc rowScanner) (access.User, error) {
	var u access.User
	var home, cons sql.NullString
	var lastLogin sql.NullInt64
	if err := sc.Scan(&u.ID, &u.Kind, &u.Name, &u.Email, &home, &u.Status, &u.StaffRole, &cons, &u.Locale, &lastLogin); err != nil {
		return u, err
	}
	u.HomeAccount = home.String
	if lastLogin.Valid {
		t := fromMicros(lastLogin.Int64)
		u.LastLoginAt = &t
	}
	if cons.Valid && cons.String != "" && cons.String != "null" {
		if err := json.Unmarshal([]byte(cons.String), &u.Constraints); err != nil {
			return u, fmt.Errorf("user %s: constraints: %w", u.ID, err)
		}
	}
	return u, nil
}

// user reads one user; a missing one is not_found.
func (r reader) user(id string) (*access.User, error) {
	u, err := scanUser(r.queryRow(`SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	return &u, nil
}

// users reads every user.
func (r reader) users() ([]access.User, error) {
	rows, err := r.query(`SELECT ` + userColumns + ` FROM users ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("load users: %w", err)
	}
	defer rows.Close()
	var out []access.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("load users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// GetUser returns a user, or not_found.
func (s *Store) GetUser(ctx context.Context, id string) (access.User, error) {
	u, err := s.pool(ctx).user(id)
	if err != nil {
		return access.User{}, err
	}
	return *u, nil
}

// GetUserByEmail returns the user whose email matches case-insensitively,
// or not_found. The unique index on email_lower serves it.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (access.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email_lower = ?`, email))
	if errors.Is(err, sql.ErrNoRows) || email == "" {
		return access.User{}, notFound("no user with that email")
	}
	if err != nil {
		return access.User{}, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// ListUsers returns a page of users in id order and the next page's cursor.
// HomeAccounts is served by users_home (home_account, id); the other
// filters walk the primary key.
func (s *Store) ListUsers(ctx context.Context, f store.UserFilter) ([]access.User, string, error) {
	n := limit(f.Limit)
	out := []access.User{}
	var where []string
	var args []any
	if f.HomeAccounts != nil {
		if len(f.HomeAccounts) == 0 {
			return out, "", nil
		}
		where = append(where, "home_account IN ("+placeholders(len(f.HomeAccounts))+")")
		for _, a := range f.HomeAccounts {
			args = append(args, a)
		}
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.Query != "" {
		p := "%" + escapeLike(strings.ToLower(f.Query)) + "%"
		where = append(where, `(lower(id) LIKE ? ESCAPE '\' OR lower(name) LIKE ? ESCAPE '\' OR email_lower LIKE ? ESCAPE '\')`)
		args = append(args, p, p, p)
	}
	return pageByID(ctx, s, "users", userColumns, "users", where, args, f.Cursor, n, scanUser, func(u access.User) string { return u.ID })
}

// PutUser creates or replaces a user (the caller has merged omitted fields
// and validated it with access.User.Validate; the password is
// SetPassword's; LastLoginAt is RecordLogin's and stays as stored). It
// rejects a missing home account (invalid) and an email another user has,
// compared case-insensitively (conflict). A user that becomes invited or
// disabled loses every session at once, and an internal user that becomes
// disabled loses its API tokens too (deleted and audited as token.delete:
// re-enabling it brings none back). Grants and memberships stay.
func (s *Store) PutUser(ctx context.Context, w store.Write, u access.User) (bool, int64, error) {
	actor := w.Actor
	if u.Status != access.StatusActive {
		// Its sessions (and tokens) end at once here, and on other nodes
		// once they catch up (change_log kind user, revision.go).
		defer s.auth.dropUser(u.ID)
	}
	var created bool
	rev, err := s.write(ctx, w, func(t *wtx) (err error) {
		created, err = t.putUser(actor, u)
		return err
	})
	if err != nil {
		return false, 0, err
	}
	return created, rev, nil
}

// putUser is PutUser's work inside a write transaction: it reports
// whether u is new; errNoop when nothing changes.
func (t *wtx) putUser(actor string, u access.User) (bool, error) {
	email := strings.TrimSpace(u.Email)
	r := t.reader()
	before, err := r.user(u.ID)
	if err != nil && access.ErrorCode(err) != access.CodeNotFound {
		return false, err
	}
	created := before == nil
	u.LastLoginAt = nil
	if before != nil {
		u.LastLoginAt = before.LastLoginAt
	}
	if before != nil && reflect.DeepEqual(*before, u) {
		return false, errNoop
	}
	if u.HomeAccount != "" {
		ok, err := t.exists(`SELECT 1 FROM accounts WHERE id = ?`, u.HomeAccount)
		if err != nil {
			return false, fmt.Errorf("put user: %w", err)
		}
		if !ok {
			return false, access.FieldErrorf(access.CodeInvalid, "home_account", "home account %s does not exist", u.HomeAccount)
		}
	}
	if email != "" {
		// The unique index on email_lower serves this check.
		ok, err := t.exists(`SELECT 1 FROM users WHERE email_lower = ? AND id <> ?`, strings.ToLower(email), u.ID)
		if err != nil {
			return false, fmt.Errorf("put user: %w", err)
		}
		if ok {
			return false, access.FieldErrorf(access.CodeConflict, "email", "email %s is already in use", u.Email)
		}
	}
	if err := t.putUserRow(u); err != nil {
		return false, fmt.Errorf("put user: %w", err)
	}
	if u.Status != access.StatusActive && before != nil && before.Status == access.StatusActive {
		if _, err := t.exec(`DELETE FROM sessions WHERE user_id = ?`, u.ID); err != nil {
			return false, fmt.Errorf("put user: sessions: %w", err)
		}
	}
	if u.Status == access.StatusDisabled && u.Kind == access.KindInternal && before != nil {
		if err := t.deleteUserTokens(actor, u.ID); err != nil {
			return false, err
		}
	}
	if err := t.change("user", u.ID); err != nil {
		return false, err
	}
	var b any
	if before != nil {
		b = before
	}
	return created, t.logf(actor, "user.put", "user:"+u.ID, b, u)
}

// DeleteUser deletes a user with its grants, memberships, sessions and
// tokens; audit entries stay. It fails with protected while the user holds
// a grant with a protected role (DESIGN §5.4).
func (s *Store) DeleteUser(ctx context.Context, w store.Write, id string) (int64, error) {
	actor := w.Actor
	// Its tokens and sessions are refused at once here, and on other nodes
	// once they catch up (change_log kind user, revision.go).
	defer s.auth.dropUser(id)
	return s.write(ctx, w, func(t *wtx) error {
		r := t.reader()
		before, err := r.user(id)
		if err != nil {
			return err
		}
		pv, err := r.policy()
		if err != nil {
			return err
		}
		principal := "user:" + id
		// grants_principal_account serves the user's grants.
		gs, err := r.grantsWhere(`principal = ?`, principal)
		if err != nil {
			return err
		}
		for _, g := range gs {
			if cr := pv.Policy.Role(g.Role); cr != nil && cr.Protected {
				return access.Errorf(access.CodeProtected, "user %s holds the %s grant %s, which can never be removed", id, g.Role, g.ID)
			}
		}
		for _, g := range gs {
			if err := t.deleteGrantRow(actor, g); err != nil {
				return err
			}
		}
		groups, err := r.strings(`SELECT group_id FROM group_members WHERE user_id = ? ORDER BY group_id`, id)
		if err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		for _, g := range groups {
			if err := t.removeMemberRow(actor, g, id); err != nil {
				return err
			}
		}
		if err := t.deleteUserTokens(actor, id); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
			return fmt.Errorf("delete user: sessions: %w", err)
		}
		if _, err := t.exec(`DELETE FROM users WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		if err := t.change("user", id); err != nil {
			return err
		}
		return t.logf(actor, "user.delete", "user:"+id, before, nil)
	})
}

// deleteUserTokens deletes every API token of a user (tokens_user serves
// it), auditing each as token.delete. The caller drops them from the
// authentication cache (s.auth.dropUser) and records a change of kind
// user, which makes other nodes drop them too.
func (t *wtx) deleteUserTokens(actor, userID string) error {
	tokens, err := t.reader().strings(`SELECT id FROM tokens WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return fmt.Errorf("delete tokens: %w", err)
	}
	for _, tok := range tokens {
		if _, err := t.exec(`DELETE FROM tokens WHERE id = ?`, tok); err != nil {
			return fmt.Errorf("delete tokens: %w", err)
		}
		if err := t.logf(actor, "token.delete", "token:"+tok, map[string]string{"id": tok, "user": userID}, nil); err != nil {
			return err
		}
	}
	return nil
}

// RecordLogin records a successful sign-in of the user at at
// (last_login_at). It bumps no revision and is not audited (app.Login
// audits session.login): last_login_at is bookkeeping, not the access
// model. A missing user is not_found.
func (s *Store) RecordLogin(ctx context.Context, userID string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE users SET last_login_at = ? WHERE id = ?`), toMicros(at), userID)
	if err != nil {
		return fmt.Errorf("record login: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("user %s not found", userID)
	}
	return nil
}

// SetPassword stores a password hash (never the password) and revokes the
// user's sessions. The audit entry (user.password) records that the
// password changed, not the hash.
func (s *Store) SetPassword(ctx context.Context, w store.Write, userID, hash string) (int64, error) {
	actor := w.Actor
	// The sessions end at once here and on other nodes once they catch up
	// (change_log kind sessions).
	defer s.auth.dropUserSessions(userID)
	return s.write(ctx, w, func(t *wtx) error {
		res, err := t.exec(`UPDATE users SET password_hash = ?, password_at = ? WHERE id = ?`, hash, toMicros(t.now), userID)
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("user %s not found", userID)
		}
		if _, err := t.exec(`DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("set password: sessions: %w", err)
		}
		if err := t.change(changeSessions, userID); err != nil {
			return err
		}
		return t.logf(actor, "user.password", "user:"+userID, nil, map[string]bool{"password_set": hash != ""})
	})
}

// PasswordHash returns the user's password hash, "" when none is set, or
// not_found.
func (s *Store) PasswordHash(ctx context.Context, userID string) (string, error) {
	var h string
	err := s.queryRow(ctx, `SELECT password_hash FROM users WHERE id = ?`, userID).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("user %s not found", userID)
	}
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return h, nil
}

// putUserRow writes u's row, creating or replacing it (last_login_at
// stays as stored): the one statement PutUser and CreateInvitations share.
func (t *wtx) putUserRow(u access.User) error {
	var cons any
	if len(u.Constraints) > 0 {
		b, err := json.Marshal(u.Constraints)
		if err != nil {
			return invalid("constraints: %v", err)
		}
		cons = string(b)
	}
	email := strings.TrimSpace(u.Email)
	_, err := t.exec(`INSERT INTO users (id, kind, name, email, email_lower, home_account, status, staff_role, constraints, locale, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, email = excluded.email,
			email_lower = excluded.email_lower, home_account = excluded.home_account, status = excluded.status,
			staff_role = excluded.staff_role, constraints = excluded.constraints, locale = excluded.locale,
			updated_at = excluded.updated_at`,
		u.ID, u.Kind, u.Name, email, nullString(strings.ToLower(email)), nullString(u.HomeAccount), u.Status,
		u.StaffRole, cons, u.Locale, toMicros(t.now), toMicros(t.now))
	return err
}
