package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// SCIM provisioning (identity.md §8, migration 0010). Tokens are read from
// the database at every request (no cache), so a revocation holds on every
// node at once; a SCIM client's user and group writes reuse the rows,
// change-log entries and audit entries of PutUser, AddMember, CreateGrant
// and their kin, prefixed by the write's AuditPrefix.

const scimTokenColumns = `id, name, account, max_role, group_roles, hash, created_by, created_at`

func scanSCIMToken(sc rowScanner) (store.SCIMToken, error) {
	var t store.SCIMToken
	var roles string
	var created int64
	if err := sc.Scan(&t.ID, &t.Name, &t.Account, &t.MaxRole, &roles, &t.Hash, &t.CreatedBy, &created); err != nil {
		return t, err
	}
	t.CreatedAt = fromMicros(created)
	if err := json.Unmarshal([]byte(roles), &t.GroupRoles); err != nil {
		return t, fmt.Errorf("scim token %s: group_roles: %w", t.ID, err)
	}
	if t.GroupRoles == nil {
		t.GroupRoles = map[string]string{}
	}
	return t, nil
}

// CreateSCIMToken stores a new SCIM token.
func (s *Store) CreateSCIMToken(ctx context.Context, w store.Write, tok store.SCIMToken) (store.SCIMToken, int64, error) {
	if tok.Hash == "" {
		return store.SCIMToken{}, 0, invalid("token hash is required")
	}
	tok.ID = "st_" + randomID(12)
	if tok.GroupRoles == nil {
		tok.GroupRoles = map[string]string{}
	}
	roles, err := json.Marshal(tok.GroupRoles)
	if err != nil {
		return store.SCIMToken{}, 0, invalid("group_roles: %v", err)
	}
	rev, err := s.write(ctx, w, func(t *wtx) error {
		if ok, err := t.exists(`SELECT 1 FROM accounts WHERE id = ?`, tok.Account); err != nil {
			return fmt.Errorf("create scim token: %w", err)
		} else if !ok {
			return access.FieldErrorf(access.CodeInvalid, "account", "account %s does not exist", tok.Account)
		}
		tok.CreatedBy, tok.CreatedAt = w.Creator(), t.now
		if _, err := t.exec(`INSERT INTO scim_tokens (`+scimTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			tok.ID, tok.Name, tok.Account, tok.MaxRole, string(roles), tok.Hash, tok.CreatedBy, toMicros(tok.CreatedAt)); err != nil {
			return fmt.Errorf("create scim token: %w", err)
		}
		return t.logf(w.Actor, "scim.token.create", "scim_token:"+tok.ID, nil, tok)
	})
	if err != nil {
		return store.SCIMToken{}, 0, err
	}
	return tok, rev, nil
}

// ListSCIMTokens lists every SCIM token in id order.
func (s *Store) ListSCIMTokens(ctx context.Context) ([]store.SCIMToken, error) {
	rows, err := s.query(ctx, `SELECT `+scimTokenColumns+` FROM scim_tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list scim tokens: %w", err)
	}
	defer rows.Close()
	out := []store.SCIMToken{}
	for rows.Next() {
		t, err := scanSCIMToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list scim tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// GetSCIMToken returns one SCIM token, or not_found.
func (s *Store) GetSCIMToken(ctx context.Context, id string) (store.SCIMToken, error) {
	return s.scimToken(ctx, `id`, id)
}

// SCIMTokenByHash returns the SCIM token with the hash (its unique index
// serves it), or not_found.
func (s *Store) SCIMTokenByHash(ctx context.Context, hash string) (store.SCIMToken, error) {
	return s.scimToken(ctx, `hash`, hash)
}

func (s *Store) scimToken(ctx context.Context, col, v string) (store.SCIMToken, error) {
	t, err := scanSCIMToken(s.readRow(ctx, `SELECT `+scimTokenColumns+` FROM scim_tokens WHERE `+col+` = $1`, v))
	if errors.Is(err, sql.ErrNoRows) {
		return store.SCIMToken{}, notFound("scim token not found")
	}
	if err != nil {
		return store.SCIMToken{}, fmt.Errorf("read scim token: %w", err)
	}
	return t, nil
}

// DeleteSCIMToken revokes a SCIM token.
func (s *Store) DeleteSCIMToken(ctx context.Context, w store.Write, id string) (int64, error) {
	return s.write(ctx, w, func(t *wtx) error {
		tok, err := scanSCIMToken(t.queryRow(`SELECT `+scimTokenColumns+` FROM scim_tokens WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("scim token %s not found", id)
		}
		if err != nil {
			return fmt.Errorf("delete scim token: %w", err)
		}
		if _, err := t.exec(`DELETE FROM scim_tokens WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete scim token: %w", err)
		}
		return t.logf(w.Actor, "scim.token.delete", "scim_token:"+id, tok, nil)
	})
}

// PutSCIMUser stores a user and its externalId in one transaction.
func (s *Store) PutSCIMUser(ctx context.Context, w store.Write, u access.User, externalID string) (bool, int64, error) {
	if u.Status != access.StatusActive {
		// As PutUser: its sessions end here at once, elsewhere on catch-up.
		defer s.auth.dropUser(u.ID)
	}
	var created bool
	rev, err := s.write(ctx, w, func(t *wtx) error {
		var err error
		created, err = t.putUser(w.Actor, u)
		if err != nil && !errors.Is(err, errNoop) {
			return err
		}
		changed := err == nil
		var cur string
		err = t.queryRow(`SELECT external_id FROM scim_users WHERE user_id = ?`, u.ID).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("put scim user: %w", err)
		case cur == externalID:
			if !changed {
				return errNoop
			}
			return nil
		}
		if _, err := t.exec(`INSERT INTO scim_users (user_id, external_id) VALUES (?, ?)
			ON CONFLICT (user_id) DO UPDATE SET external_id = excluded.external_id`, u.ID, externalID); err != nil {
			return fmt.Errorf("put scim user: %w", err)
		}
		return t.logf(w.Actor, "user.external_id", "user:"+u.ID, map[string]string{"external_id": cur}, map[string]string{"external_id": externalID})
	})
	if err != nil {
		return false, 0, err
	}
	return created, rev, nil
}

// SCIMExternalIDs returns the externalIds of the users among ids that have
// one (the primary key serves it).
func (s *Store) SCIMExternalIDs(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for chunk := range slices.Chunk(ids, 500) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.query(ctx, `SELECT user_id, external_id FROM scim_users WHERE user_id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("read external ids: %w", err)
		}
		for rows.Next() {
			var id, ext string
			if err := rows.Scan(&id, &ext); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read external ids: %w", err)
			}
			if ext != "" {
				out[id] = ext
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read external ids: %w", err)
		}
	}
	return out, nil
}

// PutSCIMGroup stores a SCIM group, its members, externalId and grant.
func (s *Store) PutSCIMGroup(ctx context.Context, w store.Write, g store.SCIMGroup) (bool, int64, error) {
	var created bool
	changed := false
	rev, err := s.write(ctx, w, func(t *wtx) error {
		var owner, ext string
		err := t.queryRow(`SELECT token_id, external_id FROM scim_groups WHERE group_id = ?`, g.ID).Scan(&owner, &ext)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := t.reader().group(g.ID); err == nil {
				return notFound("group %s not found", g.ID)
			}
			created = true
		case err != nil:
			return fmt.Errorf("put scim group: %w", err)
		case owner != g.TokenID:
			return notFound("group %s not found", g.ID)
		}
		switch _, err := t.putGroup(w.Actor, g.Group); {
		case err == nil:
			changed = true
		case !errors.Is(err, errNoop):
			return err
		}
		changed = changed || created || ext != g.ExternalID
		if _, err := t.exec(`INSERT INTO scim_groups (group_id, token_id, external_id) VALUES (?, ?, ?)
			ON CONFLICT (group_id) DO UPDATE SET external_id = excluded.external_id`, g.ID, g.TokenID, g.ExternalID); err != nil {
			return fmt.Errorf("put scim group: %w", err)
		}
		if err := t.syncMembers(w.Actor, g.ID, g.Members, &changed); err != nil {
			return err
		}
		if err := t.syncGroupGrant(w, g, &changed); err != nil {
			return err
		}
		if !changed {
			return errNoop
		}
		return nil
	})
	if err != nil {
		return false, 0, err
	}
	return created, rev, nil
}

// syncMembers makes the group's members exactly want.
func (t *wtx) syncMembers(actor, groupID string, want []string, changed *bool) error {
	cur, err := t.reader().groupMembers([]string{groupID})
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, m := range cur[groupID] {
		have[m] = true
		if !slices.Contains(want, m) {
			if err := t.removeMemberRow(actor, groupID, m); err != nil {
				return err
			}
			*changed = true
		}
	}
	for _, m := range want {
		if have[m] {
			continue
		}
		have[m] = true
		if _, err := t.reader().user(m); err != nil {
			if access.ErrorCode(err) == access.CodeNotFound {
				return access.FieldErrorf(access.CodeInvalid, "members", "user %s does not exist", m)
			}
			return err
		}
		if err := t.addMemberRow(actor, groupID, m); err != nil {
			return err
		}
		*changed = true
	}
	return nil
}

// syncGroupGrant gives group g exactly one grant of g.Role on g.Account,
// or none when g.Role is "".
func (t *wtx) syncGroupGrant(w store.Write, g store.SCIMGroup, changed *bool) error {
	gs, err := t.reader().grantsWhere(`principal = ? AND account = ?`, "group:"+g.ID, g.Account)
	if err != nil {
		return err
	}
	switch {
	case len(gs) == 0 && g.Role == "":
		return nil
	case len(gs) == 0:
		ng := access.Grant{ID: newGrantID(), Principal: "group:" + g.ID, Account: g.Account, Role: g.Role,
			Scope: access.ScopeSubtree, Access: access.AccessReadWrite, CreatedBy: w.Creator(), CreatedAt: t.now, UpdatedAt: t.now}
		if err := t.checkGrant(&ng); err != nil {
			return err
		}
		*changed = true
		return t.insertGrant(w.Actor, ng)
	case g.Role == "":
		*changed = true
		return t.deleteGrantRow(w.Actor, gs[0])
	case gs[0].Role != g.Role:
		before, ng := gs[0], gs[0]
		ng.Role, ng.UpdatedAt = g.Role, t.now
		if err := t.checkGrant(&ng); err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE grants SET role = ?, updated_at = ? WHERE id = ?`, ng.Role, toMicros(ng.UpdatedAt), ng.ID); err != nil {
			return fmt.Errorf("update grant: %w", err)
		}
		if err := t.change("grant", ng.ID); err != nil {
			return err
		}
		*changed = true
		return t.logf(w.Actor, "grant.update", "grant:"+ng.ID, before, ng)
	}
	return nil
}

const scimGroupQuery = `SELECT g.id, g.name, g.account, s.token_id, s.external_id,
	COALESCE((SELECT gr.role FROM grants gr WHERE gr.principal = 'group:' || g.id AND gr.account = g.account), '')
	FROM scim_groups s JOIN user_groups g ON g.id = s.group_id WHERE s.token_id = ?`

// SCIMGroups lists the groups a token created (scim_groups_token serves it).
func (s *Store) SCIMGroups(ctx context.Context, tokenID string) ([]store.SCIMGroup, error) {
	return s.scimGroups(ctx, scimGroupQuery+` ORDER BY g.id`, tokenID)
}

// GetSCIMGroup returns a group the token created, or not_found.
func (s *Store) GetSCIMGroup(ctx context.Context, tokenID, id string) (store.SCIMGroup, error) {
	gs, err := s.scimGroups(ctx, scimGroupQuery+` AND g.id = ?`, tokenID, id)
	if err != nil {
		return store.SCIMGroup{}, err
	}
	if len(gs) == 0 {
		return store.SCIMGroup{}, notFound("group %s not found", id)
	}
	return gs[0], nil
}

func (s *Store) scimGroups(ctx context.Context, q string, args ...any) ([]store.SCIMGroup, error) {
	r := s.pool(ctx)
	rows, err := r.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("read scim groups: %w", err)
	}
	out := []store.SCIMGroup{}
	var ids []string
	for rows.Next() {
		var g store.SCIMGroup
		var account sql.NullString
		if err := rows.Scan(&g.ID, &g.Name, &account, &g.TokenID, &g.ExternalID, &g.Role); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read scim groups: %w", err)
		}
		g.Account = account.String
		out = append(out, g)
		ids = append(ids, g.ID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read scim groups: %w", err)
	}
	members, err := r.groupMembers(ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Members = nonNil(members[out[i].ID])
	}
	return out, nil
}
