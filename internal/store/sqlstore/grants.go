package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Grant ids are server-assigned: "g_" followed by 12 random characters of
// [a-z2-7] (60 bits), so ids reveal neither order nor count.
func newGrantID() string { return "g_" + randomID(12) }

const grantColumns = `id, principal, account, role, scope, access, days_back, valid_from, valid_until, notes, source, created_by, created_at, updated_at`

func scanGrant(sc rowScanner) (access.Grant, error) {
	var g access.Grant
	var days sql.NullInt64
	var from, until sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&g.ID, &g.Principal, &g.Account, &g.Role, &g.Scope, &g.Access, &days, &from, &until,
		&g.Notes, &g.Source, &g.CreatedBy, &created, &updated); err != nil {
		return g, err
	}
	if days.Valid {
		d := int(days.Int64)
		g.DaysBack = &d
	}
	g.ValidFrom, g.ValidUntil = ptrMicros(from), ptrMicros(until)
	g.CreatedAt, g.UpdatedAt = fromMicros(created), fromMicros(updated)
	return g, nil
}

// grant reads one grant; a missing one is not_found.
func (r reader) grant(id string) (*access.Grant, error) {
	g, err := scanGrant(r.queryRow(`SELECT `+grantColumns+` FROM grants WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("grant %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read grant: %w", err)
	}
	return &g, nil
}

// grants reads every grant.
func (r reader) grants() ([]access.Grant, error) { return r.grantsWhere("") }

// grantsWhere reads the grants matching a condition, in id order.
func (r reader) grantsWhere(cond string, args ...any) ([]access.Grant, error) {
	q := `SELECT ` + grantColumns + ` FROM grants`
	if cond != "" {
		q += " WHERE " + cond
	}
	rows, err := r.query(q+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("read grants: %w", err)
	}
	defer rows.Close()
	var out []access.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, fmt.Errorf("read grants: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// GetGrant returns a grant, or not_found.
func (s *Store) GetGrant(ctx context.Context, id string) (access.Grant, error) {
	g, err := s.pool(ctx).grant(id)
	if err != nil {
		return access.Grant{}, err
	}
	return *g, nil
}

// ListGrants returns a page of grants in id order and the next page's
// cursor. Account (and Accounts) is served by grants_account (account, id),
// Principal by grants_principal_account.
func (s *Store) ListGrants(ctx context.Context, f store.GrantFilter) ([]access.Grant, string, error) {
	n := limit(f.Limit)
	out := []access.Grant{}
	var where []string
	var args []any
	if f.Account != "" {
		where, args = append(where, "account = ?"), append(args, f.Account)
	}
	if f.Principal != "" {
		where, args = append(where, "principal = ?"), append(args, f.Principal)
	}
	if f.Accounts != nil {
		if len(f.Accounts) == 0 {
			return out, "", nil
		}
		where = append(where, "account IN ("+placeholders(len(f.Accounts))+")")
		for _, a := range f.Accounts {
			args = append(args, a)
		}
	}
	return pageByID(ctx, s, "grants", grantColumns, "grants", where, args, f.Cursor, n, scanGrant, func(g access.Grant) string { return g.ID })
}

// checkGrant fills defaults (scope subtree, access read_write) and checks
// g against the database inside the transaction: an existing principal,
// account and role (invalid), and no other grant for the same (principal,
// account) (conflict with ExistingID). The shape is the caller's
// (access.Grant.Validate).
func (t *wtx) checkGrant(g *access.Grant) error {
	if g.Scope == "" {
		g.Scope = access.ScopeSubtree
	}
	if g.Access == "" {
		g.Access = access.AccessReadWrite
	}
	kind, id, _ := strings.Cut(g.Principal, ":")
	var table string
	switch kind {
	case "user":
		table = "users"
	case "group":
		table = "user_groups"
	default:
		return access.FieldErrorf(access.CodeInvalid, "principal", "principal %s does not exist", g.Principal)
	}
	ok, err := t.exists(`SELECT 1 FROM `+table+` WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("check grant: %w", err)
	}
	if !ok {
		return access.FieldErrorf(access.CodeInvalid, "principal", "principal %s does not exist", g.Principal)
	}
	if ok, err = t.exists(`SELECT 1 FROM accounts WHERE id = ?`, g.Account); err != nil {
		return fmt.Errorf("check grant: %w", err)
	} else if !ok {
		return access.FieldErrorf(access.CodeInvalid, "account", "account %s does not exist", g.Account)
	}
	pv, err := t.reader().policy()
	if err != nil {
		return err
	}
	if pv.Policy.Role(g.Role) == nil {
		return access.FieldErrorf(access.CodeInvalid, "role", "role %s is not in the policy", g.Role)
	}
	// grants_principal_account serves this.
	var existing string
	err = t.queryRow(`SELECT id FROM grants WHERE principal = ? AND account = ? AND id <> ?`, g.Principal, g.Account, g.ID).Scan(&existing)
	if err == nil {
		return &access.Error{Code: access.CodeConflict, ExistingID: existing, Field: "principal",
			Message: fmt.Sprintf("principal %s already has grant %s on account %s", g.Principal, existing, g.Account)}
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("check grant: %w", err)
	}
	return nil
}

// insertGrant writes a new, checked grant with its change and audit rows.
func (t *wtx) insertGrant(actor string, g access.Grant) error {
	if _, err := t.exec(`INSERT INTO grants (`+grantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.Principal, g.Account, g.Role, g.Scope, g.Access, daysArg(g.DaysBack), nullMicros(g.ValidFrom),
		nullMicros(g.ValidUntil), g.Notes, g.Source, g.CreatedBy, toMicros(g.CreatedAt), toMicros(g.UpdatedAt)); err != nil {
		return fmt.Errorf("create grant: %w", err)
	}
	if err := t.change("grant", g.ID); err != nil {
		return err
	}
	return t.logf(actor, "grant.create", "grant:"+g.ID, nil, g)
}

func daysArg(d *int) any {
	if d == nil {
		return nil
	}
	return *d
}

// truncTimes truncates a grant's validity to the stored precision.
func truncTimes(g *access.Grant) {
	if g.ValidFrom != nil {
		v := g.ValidFrom.UTC().Truncate(time.Microsecond)
		g.ValidFrom = &v
	}
	if g.ValidUntil != nil {
		v := g.ValidUntil.UTC().Truncate(time.Microsecond)
		g.ValidUntil = &v
	}
}

// CreateGrant creates a grant with a server-assigned id (see newGrantID),
// created_by = actor and created_at = updated_at = now, and returns it as
// stored. Scope and access default to subtree and read_write. A missing
// principal, account or role, or a bad field, is invalid; a second grant for
// the same (principal, account) is conflict with ExistingID. Who may create
// it (protected roles, delegation) is the caller's check.
func (s *Store) CreateGrant(ctx context.Context, w store.Write, g access.Grant) (access.Grant, int64, error) {
	actor := w.Actor
	g.ID = newGrantID()
	truncTimes(&g)
	rev, err := s.write(ctx, w, func(t *wtx) error {
		g.CreatedBy, g.CreatedAt, g.UpdatedAt = w.Creator(), t.now, t.now
		if err := t.checkGrant(&g); err != nil {
			return err
		}
		return t.insertGrant(actor, g)
	})
	if err != nil {
		return access.Grant{}, 0, err
	}
	return g, rev, nil
}

// UpdateGrant replaces every field of the grant g.ID but the id and the
// created_by/created_at bookkeeping, sets updated_at and returns it as
// stored. A missing grant is not_found; otherwise it validates like
// CreateGrant. As a last line of defence it refuses (protected) to change
// anything but notes of a grant whose role is protected.
func (s *Store) UpdateGrant(ctx context.Context, w store.Write, g access.Grant) (access.Grant, int64, error) {
	actor := w.Actor
	truncTimes(&g)
	rev, err := s.write(ctx, w, func(t *wtx) error {
		r := t.reader()
		before, err := r.grant(g.ID)
		if err != nil {
			return err
		}
		g.CreatedBy, g.CreatedAt, g.UpdatedAt, g.Source = before.CreatedBy, before.CreatedAt, t.now, before.Source
		if err := t.checkGrant(&g); err != nil {
			return err
		}
		pv, err := r.policy()
		if err != nil {
			return err
		}
		if cr := pv.Policy.Role(before.Role); cr != nil && cr.Protected {
			same := g.Principal == before.Principal && g.Account == before.Account && g.Role == before.Role &&
				g.Scope == before.Scope && g.Access == before.Access && sameInt(g.DaysBack, before.DaysBack) &&
				sameTime(g.ValidFrom, before.ValidFrom) && sameTime(g.ValidUntil, before.ValidUntil)
			if !same {
				return access.Errorf(access.CodeProtected, "grant %s has the protected role %s: only its notes may change", g.ID, before.Role)
			}
		}
		if _, err := t.exec(`UPDATE grants SET principal = ?, account = ?, role = ?, scope = ?, access = ?, days_back = ?,
			valid_from = ?, valid_until = ?, notes = ?, updated_at = ? WHERE id = ?`,
			g.Principal, g.Account, g.Role, g.Scope, g.Access, daysArg(g.DaysBack), nullMicros(g.ValidFrom),
			nullMicros(g.ValidUntil), g.Notes, toMicros(g.UpdatedAt), g.ID); err != nil {
			return fmt.Errorf("update grant: %w", err)
		}
		if err := t.change("grant", g.ID); err != nil {
			return err
		}
		return t.logf(actor, "grant.update", "grant:"+g.ID, before, g)
	})
	if err != nil {
		return access.Grant{}, 0, err
	}
	return g, rev, nil
}

// DeleteGrant deletes a grant: a missing one is not_found, and one whose
// role is protected can never be deleted (protected), by anyone.
func (s *Store) DeleteGrant(ctx context.Context, w store.Write, id string) (int64, error) {
	actor := w.Actor
	return s.write(ctx, w, func(t *wtx) error {
		r := t.reader()
		g, err := r.grant(id)
		if err != nil {
			return err
		}
		pv, err := r.policy()
		if err != nil {
			return err
		}
		if cr := pv.Policy.Role(g.Role); cr != nil && cr.Protected {
			return access.Errorf(access.CodeProtected, "grant %s has the protected role %s and can never be deleted", id, g.Role)
		}
		return t.deleteGrantRow(actor, *g)
	})
}

func (t *wtx) deleteGrantRow(actor string, g access.Grant) error {
	if _, err := t.exec(`DELETE FROM grants WHERE id = ?`, g.ID); err != nil {
		return fmt.Errorf("delete grant: %w", err)
	}
	if err := t.change("grant", g.ID); err != nil {
		return err
	}
	return t.logf(actor, "grant.delete", "grant:"+g.ID, g, t.reviewNote())
}

func sameInt(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func sameTime(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
