package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

const accountColumns = `id, name, kind, parent, external_access, inherit, require_mfa`

func scanAccount(sc rowScanner) (access.Account, error) {
	var a access.Account
	var parent sql.NullString
	err := sc.Scan(&a.ID, &a.Name, &a.Kind, &parent, &a.ExternalAccess, &a.Inherit, &a.RequireMFA)
	a.Parent = parent.String
	return a, err
}

// account reads one account; a missing one is not_found.
func (r reader) account(id string) (*access.Account, error) {
	a, err := scanAccount(r.queryRow(`SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("account %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read account: %w", err)
	}
	return &a, nil
}

// accounts reads every account.
func (r reader) accounts() ([]access.Account, error) {
	rows, err := r.query(`SELECT ` + accountColumns + ` FROM accounts ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("load accounts: %w", err)
	}
	defer rows.Close()
	var out []access.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("load accounts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// GetAccount returns an account, or not_found.
func (s *Store) GetAccount(ctx context.Context, id string) (access.Account, error) {
	a, err := s.pool(ctx).account(id)
	if err != nil {
		return access.Account{}, err
	}
	return *a, nil
}

// ListAccounts returns a page of accounts in id order and the next page's
// cursor ("" on the last page). A parent filter is served by the
// accounts_parent index (parent, id); the rest walks the primary key.
func (s *Store) ListAccounts(ctx context.Context, f store.AccountFilter) ([]access.Account, string, error) {
	n := limit(f.Limit)
	var where []string
	var args []any
	if f.Parent != nil {
		if *f.Parent == "" {
			where = append(where, "parent IS NULL")
		} else {
			where, args = append(where, "parent = ?"), append(args, *f.Parent)
		}
	}
	if f.Query != "" {
		p := "%" + escapeLike(strings.ToLower(f.Query)) + "%"
		where, args = append(where, `(lower(id) LIKE ? ESCAPE '\' OR lower(name) LIKE ? ESCAPE '\')`), append(args, p, p)
	}
	return pageByID(ctx, s, "accounts", accountColumns, "accounts", where, args, f.Cursor, n, scanAccount, func(a access.Account) string { return a.ID })
}

// PutAccount creates or replaces an account as given (the caller has merged
// omitted fields and validated it: access.Account.Validate). It rejects a
// missing parent and a parent that would make a cycle (invalid, Field
// "parent"). When external access becomes true,
// including an account created with it on, it creates the account's group
// acct:<id> and that group's grant on the account with the policy's
// default_group_role, scope subtree, each unless it exists (DESIGN §1,
// §5.7); switching off deletes nothing. Putting an account exactly as
// stored changes nothing and returns the current revision.
func (s *Store) PutAccount(ctx context.Context, w store.Write, a access.Account) (bool, int64, error) {
	actor := w.Actor
	if a.Parent != "" && !access.ValidID(a.Parent) {
		return false, 0, access.FieldErrorf(access.CodeInvalid, "parent", "parent account %s does not exist", a.Parent)
	}
	var created bool
	rev, err := s.write(ctx, w, func(t *wtx) error {
		r := t.reader()
		before, err := r.account(a.ID)
		if err != nil && access.ErrorCode(err) != access.CodeNotFound {
			return err
		}
		created = before == nil
		if before != nil && *before == a {
			return errNoop
		}
		if err := checkParent(r, a.ID, a.Parent); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO accounts (id, name, kind, parent, external_access, inherit, require_mfa, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, parent = excluded.parent,
				external_access = excluded.external_access, inherit = excluded.inherit, require_mfa = excluded.require_mfa,
				updated_at = excluded.updated_at`,
			a.ID, a.Name, a.Kind, nullString(a.Parent), a.ExternalAccess, a.Inherit, a.RequireMFA, toMicros(t.now), toMicros(t.now)); err != nil {
			return fmt.Errorf("put account: %w", err)
		}
		if err := t.change("account", a.ID); err != nil {
			return err
		}
		var b any
		if before != nil {
			b = before
		}
		if err := t.logf(actor, "account.put", "account:"+a.ID, b, a); err != nil {
			return err
		}
		if a.ExternalAccess && (before == nil || !before.ExternalAccess) {
			return t.ensureAccountGroup(actor, a)
		}
		return nil
	})
	if err != nil {
		return false, 0, err
	}
	return created, rev, nil
}

// checkParent rejects a missing parent and a parent whose chain reaches id.
func checkParent(r reader, id, parent string) error {
	for p, steps := parent, 0; p != ""; steps++ {
		if p == id {
			return access.FieldErrorf(access.CodeInvalid, "parent", "parent %s would create a cycle", parent)
		}
		var next sql.NullString
		err := r.queryRow(`SELECT parent FROM accounts WHERE id = ?`, p).Scan(&next)
		if errors.Is(err, sql.ErrNoRows) {
			if steps == 0 {
				return access.FieldErrorf(access.CodeInvalid, "parent", "parent account %s does not exist", parent)
			}
			return fmt.Errorf("account tree: %s has a missing parent", p)
		}
		if err != nil {
			return fmt.Errorf("account tree: %w", err)
		}
		if steps > 100000 {
			return fmt.Errorf("account tree: the chain above %s does not end", parent)
		}
		p = next.String
	}
	return nil
}

// ensureAccountGroup creates the group acct:<id> ("<name> external users")
// and its grant on the account with the current policy's
// default_group_role, each when missing.
func (t *wtx) ensureAccountGroup(actor string, a access.Account) error {
	gid := access.AccountGroupID(a.ID)
	ok, err := t.exists(`SELECT 1 FROM user_groups WHERE id = ?`, gid)
	if err != nil {
		return fmt.Errorf("account group: %w", err)
	}
	if !ok {
		g := access.Group{ID: gid, Name: a.Name + " external users", Account: a.ID}
		if _, err := t.exec(`INSERT INTO user_groups (id, name, account, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			g.ID, g.Name, g.Account, toMicros(t.now), toMicros(t.now)); err != nil {
			return fmt.Errorf("account group: %w", err)
		}
		if err := t.change("group", gid); err != nil {
			return err
		}
		if err := t.logf(actor, "group.put", "group:"+gid, nil, g); err != nil {
			return err
		}
	}
	principal := "group:" + gid
	ok, err = t.exists(`SELECT 1 FROM grants WHERE principal = ? AND account = ?`, principal, a.ID)
	if err != nil {
		return fmt.Errorf("account group grant: %w", err)
	}
	if ok {
		return nil
	}
	pv, err := t.reader().policy()
	if err != nil {
		return err
	}
	g := access.Grant{ID: newGrantID(), Principal: principal, Account: a.ID,
		Role: pv.Policy.DefaultGroupRole.Name, Scope: access.ScopeSubtree, Access: access.AccessReadWrite,
		CreatedBy: t.by, CreatedAt: t.now, UpdatedAt: t.now}
	return t.insertGrant(actor, g)
}

// DeleteAccount deletes an account. It fails with protected when a grant
// with a protected role (the Owner) is on it, and with conflict naming what
// blocks it: child accounts, records, home users, grants on it, and grants
// held by its account group elsewhere (DESIGN §5.7). The account's groups
// (acct:<id>), empty of grants by then, are deleted with it.
func (s *Store) DeleteAccount(ctx context.Context, w store.Write, id string) (int64, error) {
	actor := w.Actor
	return s.write(ctx, w, func(t *wtx) error {
		r := t.reader()
		before, err := r.account(id)
		if err != nil {
			return err
		}
		pv, err := r.policy()
		if err != nil {
			return err
		}
		// grants_account serves the grants on the account.
		roles, err := r.strings(`SELECT role FROM grants WHERE account = ?`, id)
		if err != nil {
			return fmt.Errorf("delete account: %w", err)
		}
		for _, role := range roles {
			if cr := pv.Policy.Role(role); cr != nil && cr.Protected {
				return access.Errorf(access.CodeProtected, "account %s has a %s grant, which can never be removed", id, role)
			}
		}
		groups, err := r.strings(`SELECT id FROM user_groups WHERE account = ? ORDER BY id`, id)
		if err != nil {
			return fmt.Errorf("delete account: %w", err)
		}
		var blockers []string
		add := func(what string, q string, args ...any) error {
			ids, err := r.strings(q, args...)
			if err != nil {
				return fmt.Errorf("delete account: %w", err)
			}
			if len(ids) > 0 {
				blockers = append(blockers, what+" "+nameList(ids))
			}
			return nil
		}
		if err := add("child accounts", `SELECT id FROM accounts WHERE parent = ? ORDER BY id LIMIT 6`, id); err != nil {
			return err
		}
		hasRecords, err := t.accountHasRecords(id)
		if err != nil {
			return fmt.Errorf("delete account: records: %w", err)
		}
		if hasRecords {
			blockers = append(blockers, "records")
		}
		if err := add("home users", `SELECT id FROM users WHERE home_account = ? ORDER BY id LIMIT 6`, id); err != nil {
			return err
		}
		if err := add("grants", `SELECT id FROM grants WHERE account = ? ORDER BY id LIMIT 6`, id); err != nil {
			return err
		}
		if err := add("SCIM tokens", `SELECT id FROM scim_tokens WHERE account = ? ORDER BY id LIMIT 6`, id); err != nil {
			return err
		}
		for _, g := range groups {
			if err := add("grants of group "+g, `SELECT id FROM grants WHERE principal = ? ORDER BY id LIMIT 6`, "group:"+g); err != nil {
				return err
			}
		}
		if len(blockers) > 0 {
			return conflict("account %s cannot be deleted: it has %s", id, strings.Join(blockers, "; "))
		}
		for _, g := range groups {
			if err := t.deleteGroupRows(actor, g); err != nil {
				return err
			}
		}
		if _, err := t.exec(`DELETE FROM accounts WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete account: %w", err)
		}
		if err := t.change("account", id); err != nil {
			return err
		}
		return t.logf(actor, "account.delete", "account:"+id, before, nil)
	})
}

// nameList joins up to five names, noting when there are more.
func nameList(ids []string) string {
	if len(ids) > 5 {
		return strings.Join(ids[:5], ", ") + " and more"
	}
	return strings.Join(ids, ", ")
}
