package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

const groupColumns = `id, name, account`

func scanGroup(sc rowScanner) (access.Group, error) {
	var g access.Group
	var acct sql.NullString
	err := sc.Scan(&g.ID, &g.Name, &acct)
	g.Account = acct.String
	return g, err
}

// memberKey is the change_log key of a membership.
func memberKey(groupID, userID string) string { return groupID + "/" + userID }

// group reads one group; a missing one is not_found.
func (r reader) group(id string) (*access.Group, error) {
	g, err := scanGroup(r.queryRow(`SELECT `+groupColumns+` FROM user_groups WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("group %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read group: %w", err)
	}
	return &g, nil
}

// groups reads every group.
func (r reader) groups() ([]access.Group, error) {
	rows, err := r.query(`SELECT ` + groupColumns + ` FROM user_groups ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("load groups: %w", err)
	}
	defer rows.Close()
	var out []access.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("load groups: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// members reads every membership as (group, user) pairs.
func (r reader) members() ([][2]string, error) {
	rows, err := r.query(`SELECT group_id, user_id FROM group_members ORDER BY group_id, user_id`)
	if err != nil {
		return nil, fmt.Errorf("load members: %w", err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var m [2]string
		if err := rows.Scan(&m[0], &m[1]); err != nil {
			return nil, fmt.Errorf("load members: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// isMember reports whether the membership exists (primary key lookup).
func (r reader) isMember(groupID, userID string) (bool, error) {
	var one int
	err := r.queryRow(`SELECT 1 FROM group_members WHERE group_id = ? AND user_id = ?`, groupID, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read member: %w", err)
	}
	return true, nil
}

// groupMembers returns the sorted member ids of each of the groups.
func (r reader) groupMembers(ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	// The primary key (group_id, user_id) serves this.
	rows, err := r.query(`SELECT group_id, user_id FROM group_members WHERE group_id IN (`+placeholders(len(ids))+`) ORDER BY group_id, user_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g, u string
		if err := rows.Scan(&g, &u); err != nil {
			return nil, fmt.Errorf("read members: %w", err)
		}
		out[g] = append(out[g], u)
	}
	return out, rows.Err()
}

// GetGroup returns a group with its sorted member ids, or not_found.
func (s *Store) GetGroup(ctx context.Context, id string) (store.GroupWithMembers, error) {
	r := s.pool(ctx)
	g, err := r.group(id)
	if err != nil {
		return store.GroupWithMembers{}, err
	}
	m, err := r.groupMembers([]string{id})
	if err != nil {
		return store.GroupWithMembers{}, err
	}
	return store.GroupWithMembers{Group: *g, Members: nonNil(m[id])}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ListGroups returns a page of groups in id order, with their members, and
// the next page's cursor. The account filter is served by
// user_groups_account (account, id).
func (s *Store) ListGroups(ctx context.Context, f store.GroupFilter) ([]store.GroupWithMembers, string, error) {
	n := limit(f.Limit)
	var where []string
	var args []any
	if f.Account != "" {
		where, args = append(where, "account = ?"), append(args, f.Account)
	}
	gs, next, err := pageByID(ctx, s, "groups", groupColumns, "user_groups", where, args, f.Cursor, n, scanGroup,
		func(g access.Group) string { return g.ID })
	if err != nil {
		return nil, "", err
	}
	r := s.pool(ctx)
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	m, err := r.groupMembers(ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]store.GroupWithMembers, len(gs))
	for i, g := range gs {
		out[i] = store.GroupWithMembers{Group: g, Members: nonNil(m[g.ID])}
	}
	return out, next, nil
}

// PutGroup creates or renames a group; members and grants stay. An invalid
// id or a missing account is invalid.
func (s *Store) PutGroup(ctx context.Context, w store.Write, g access.Group) (bool, int64, error) {
	var created bool
	rev, err := s.write(ctx, w, func(t *wtx) (err error) {
		created, err = t.putGroup(w.Actor, g)
		return err
	})
	if err != nil {
		return false, 0, err
	}
	return created, rev, nil
}

// putGroup is PutGroup's work inside a write transaction: it reports
// whether g is new; errNoop when nothing changes.
func (t *wtx) putGroup(actor string, g access.Group) (bool, error) {
	before, err := t.reader().group(g.ID)
	if err != nil && access.ErrorCode(err) != access.CodeNotFound {
		return false, err
	}
	if before != nil && *before == g {
		return false, errNoop
	}
	if g.Account != "" {
		ok, err := t.exists(`SELECT 1 FROM accounts WHERE id = ?`, g.Account)
		if err != nil {
			return false, fmt.Errorf("put group: %w", err)
		}
		if !ok {
			return false, access.FieldErrorf(access.CodeInvalid, "account", "account %s does not exist", g.Account)
		}
	}
	if _, err := t.exec(`INSERT INTO user_groups (id, name, account, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, account = excluded.account, updated_at = excluded.updated_at`,
		g.ID, g.Name, nullString(g.Account), toMicros(t.now), toMicros(t.now)); err != nil {
		return false, fmt.Errorf("put group: %w", err)
	}
	if err := t.change("group", g.ID); err != nil {
		return false, err
	}
	var b any
	if before != nil {
		b = before
	}
	return before == nil, t.logf(actor, "group.put", "group:"+g.ID, b, g)
}

// DeleteGroup deletes a group with its grants and memberships.
func (s *Store) DeleteGroup(ctx context.Context, w store.Write, id string) (int64, error) {
	actor := w.Actor
	return s.write(ctx, w, func(t *wtx) error {
		if _, err := t.reader().group(id); err != nil {
			return err
		}
		return t.deleteGroupRows(actor, id)
	})
}

// deleteGroupRows deletes a group, its grants and its memberships, with
// their change_log rows and audit entries.
func (t *wtx) deleteGroupRows(actor, id string) error {
	r := t.reader()
	before, err := r.group(id)
	if err != nil {
		return err
	}
	gs, err := r.grantsWhere(`principal = ?`, "group:"+id)
	if err != nil {
		return err
	}
	for _, g := range gs {
		if err := t.deleteGrantRow(actor, g); err != nil {
			return err
		}
	}
	users, err := r.strings(`SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id`, id)
	if err != nil {
		return fmt.Errorf("delete group: %w", err)
	}
	for _, u := range users {
		if err := t.removeMemberRow(actor, id, u); err != nil {
			return err
		}
	}
	if _, err := t.exec(`DELETE FROM user_groups WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete group: %w", err)
	}
	if err := t.change("group", id); err != nil {
		return err
	}
	return t.logf(actor, "group.delete", "group:"+id, before, nil)
}

// AddMember adds a user to a group: a missing group is not_found, a missing
// user invalid; adding a member twice changes nothing.
func (s *Store) AddMember(ctx context.Context, w store.Write, groupID, userID string) (int64, error) {
	actor := w.Actor
	return s.write(ctx, w, func(t *wtx) error {
		r := t.reader()
		if _, err := r.group(groupID); err != nil {
			return err
		}
		if _, err := r.user(userID); err != nil {
			if access.ErrorCode(err) == access.CodeNotFound {
				return access.FieldErrorf(access.CodeInvalid, "user", "user %s does not exist", userID)
			}
			return err
		}
		ok, err := r.isMember(groupID, userID)
		if err != nil {
			return err
		}
		if ok {
			return errNoop
		}
		return t.addMemberRow(actor, groupID, userID)
	})
}

func (t *wtx) addMemberRow(actor, groupID, userID string) error {
	if _, err := t.exec(`INSERT INTO group_members (group_id, user_id) VALUES (?, ?)`, groupID, userID); err != nil {
		return fmt.Errorf("add member: %w", err)
	}
	if err := t.change("member", memberKey(groupID, userID)); err != nil {
		return err
	}
	return t.logf(actor, "member.add", "group:"+groupID, nil, map[string]string{"group": groupID, "user": userID})
}

// RemoveMember removes a user from a group: a missing group is not_found;
// removing a non-member changes nothing.
func (s *Store) RemoveMember(ctx context.Context, w store.Write, groupID, userID string) (int64, error) {
	actor := w.Actor
	return s.write(ctx, w, func(t *wtx) error {
		r := t.reader()
		if _, err := r.group(groupID); err != nil {
			return err
		}
		ok, err := r.isMember(groupID, userID)
		if err != nil {
			return err
		}
		if !ok {
			return errNoop
		}
		return t.removeMemberRow(actor, groupID, userID)
	})
}

func (t *wtx) removeMemberRow(actor, groupID, userID string) error {
	if _, err := t.exec(`DELETE FROM group_members WHERE group_id = ? AND user_id = ?`, groupID, userID); err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	if err := t.change("member", memberKey(groupID, userID)); err != nil {
		return err
	}
	return t.logf(actor, "member.remove", "group:"+groupID, map[string]string{"group": groupID, "user": userID}, t.reviewNote())
}
