package app

import (
	"context"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Groups are for staff: staff read them, staff writers change them, and
// external users get CodeForbidden (DESIGN.md §3).

// GroupUpdate is a partial write of a group (PUT): absent fields keep their
// stored value; Members, when set, replaces the member list.
type GroupUpdate struct {
	ID      Optional[string]   `json:"id"`
	Name    Optional[string]   `json:"name"`
	Account Optional[string]   `json:"account"`
	Members Optional[[]string] `json:"members"`
}

// GroupFilter selects groups: Account, when set, the account's groups.
type GroupFilter struct {
	Account string
	ListParams
}

// ListGroups lists groups with their members (staff).
func (a *App) ListGroups(ctx context.Context, c *Actor, f GroupFilter) (Page[store.GroupWithMembers], error) {
	if err := requireStaff(c); err != nil {
		return Page[store.GroupWithMembers]{}, err
	}
	items, next, err := a.st.ListGroups(ctx, store.GroupFilter{Account: f.Account, Limit: f.limit(), Cursor: f.Cursor})
	return Page[store.GroupWithMembers]{Items: items, Next: next}, err
}

// GetGroup returns a group with its members (staff).
func (a *App) GetGroup(ctx context.Context, c *Actor, id string) (store.GroupWithMembers, error) {
	if err := requireStaff(c); err != nil {
		return store.GroupWithMembers{}, err
	}
	return a.st.GetGroup(ctx, id)
}

// PutGroup creates or renames a group; Members, when set, replaces the
// member list, each change its own audited membership change. Staff
// writers only; a missing account or member is CodeInvalid.
func (a *App) PutGroup(ctx context.Context, c *Actor, id string, in GroupUpdate) (g store.GroupWithMembers, created bool, rev int64, err error) {
	if err := requireStaffWriter(c); err != nil {
		return g, false, 0, err
	}
	if !access.ValidID(id) {
		return g, false, 0, access.FieldErrorf(access.CodeInvalid, "id", "group id %q must be 1-64 characters of A-Za-z0-9._:-", id)
	}
	cur, err := a.st.GetGroup(ctx, id)
	switch {
	case access.ErrorCode(err) == access.CodeNotFound:
		cur = store.GroupWithMembers{Group: access.Group{ID: id}}
	case err != nil:
		return g, false, 0, err
	}
	grp := cur.Group
	if in.ID.Set && !in.ID.Null && in.ID.Value != "" && in.ID.Value != id {
		return g, false, 0, access.FieldErrorf(access.CodeInvalid, "id", "body id %s does not match the path", in.ID.Value)
	}
	in.Name.apply(&grp.Name, "")
	in.Account.apply(&grp.Account, "")
	for _, m := range in.Members.Value {
		if _, ok := a.eng.User(m); !ok {
			return g, false, 0, access.FieldErrorf(access.CodeInvalid, "members", "member %s does not exist", m)
		}
	}
	created, rev, err = a.saveGroup(ctx, c, grp)
	if err != nil {
		return g, false, 0, err
	}
	if in.Members.Set {
		want := map[string]bool{}
		for _, m := range in.Members.Value {
			want[m] = true
		}
		for _, m := range cur.Members {
			if !want[m] {
				if rev, err = a.st.RemoveMember(ctx, write(c, a.staffWriterStill(c)), id, m); err != nil {
					return g, false, 0, err
				}
			}
			delete(want, m)
		}
		for _, m := range in.Members.Value {
			if want[m] {
				delete(want, m)
				if rev, err = a.addMember(ctx, c, id, m); err != nil {
					return g, false, 0, err
				}
			}
		}
	}
	g, err = a.st.GetGroup(ctx, id)
	return g, created, rev, err
}

// saveGroup validates a group (its account must exist) and stores it.
func (a *App) saveGroup(ctx context.Context, c *Actor, g access.Group) (bool, int64, error) {
	if err := g.Validate(); err != nil {
		return false, 0, err
	}
	staff := a.staffWriterStill(c)
	check := func() error {
		if g.Account != "" {
			if _, ok := a.eng.Account(g.Account); !ok {
				return access.FieldErrorf(access.CodeInvalid, "account", "account %s does not exist", g.Account)
			}
		}
		return staff()
	}
	if err := check(); err != nil {
		return false, 0, err
	}
	return a.st.PutGroup(ctx, write(c, check), g)
}

// DeleteGroup deletes a group with its grants and memberships (staff
// writers).
func (a *App) DeleteGroup(ctx context.Context, c *Actor, id string) (int64, error) {
	if err := requireStaffWriter(c); err != nil {
		return 0, err
	}
	return a.st.DeleteGroup(ctx, write(c, a.staffWriterStill(c)), id)
}

// AddMember adds an existing user to a group and returns the group (staff
// writers); an unknown user is CodeNotFound.
func (a *App) AddMember(ctx context.Context, c *Actor, groupID, userID string) (store.GroupWithMembers, int64, error) {
	if err := requireStaffWriter(c); err != nil {
		return store.GroupWithMembers{}, 0, err
	}
	rev, err := a.addMember(ctx, c, groupID, userID)
	if err != nil {
		return store.GroupWithMembers{}, 0, err
	}
	g, err := a.st.GetGroup(ctx, groupID)
	return g, rev, err
}

func (a *App) addMember(ctx context.Context, c *Actor, groupID, userID string) (int64, error) {
	staff := a.staffWriterStill(c)
	check := func() error {
		if _, ok := a.eng.User(userID); !ok {
			return access.FieldErrorf(access.CodeNotFound, "user", "user %s not found", userID)
		}
		return staff()
	}
	if err := check(); err != nil {
		return 0, err
	}
	return a.st.AddMember(ctx, write(c, check), groupID, userID)
}

// RemoveMember removes a user from a group (staff writers).
func (a *App) RemoveMember(ctx context.Context, c *Actor, groupID, userID string) (int64, error) {
	if err := requireStaffWriter(c); err != nil {
		return 0, err
	}
	return a.st.RemoveMember(ctx, write(c, a.staffWriterStill(c)), groupID, userID)
}
