package access

import (
	"slices"
	"sort"
	"strings"
)

// Group returns a group by id.
func (e *Engine) Group(id string) (Group, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	g := e.groups[id]
	if g == nil {
		return Group{}, false
	}
	return g.Group, true
}

// GroupGrants returns the grants whose principal is group id, sorted by id.
func (e *Engine) GroupGrants(id string) []Grant {
	e.mu.RLock()
	defer e.mu.RUnlock()
	g := e.groups[id]
	if g == nil {
		return nil
	}
	out := make([]Grant, 0, len(g.grants))
	for _, gr := range g.grants {
		out = append(out, gr.Grant)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// UserGroups returns the ids of the groups user id is a member of, sorted.
func (e *Engine) UserGroups(id string) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	u := e.users[id]
	if u == nil {
		return nil
	}
	out := slices.Clone(u.groups)
	if out == nil {
		out = []string{}
	}
	sort.Strings(out)
	return out
}

// CheckMembership decides whether actorID may add userID to group groupID
// or remove it from there (the same rule both ways: a membership gives or
// takes every grant of the group). Staff writers may change any
// membership (auditors none: CodeForbidden). A customer administrator
// (identity.md §5) may change memberships only of the account group
// acct:<A> of an account A it administers, only of an external user homed
// within its reach other than itself, and only when every grant of the
// group lies on an account it administers with an assignable role at most
// its own level there (the group's grant on A, with the default group
// role, and any other grant staff gave the group). A missing group or user
// is answered like one outside its reach (CodeForbidden, the same words),
// so that it learns nothing of other customers' people (identity.md §2).
func (e *Engine) CheckMembership(actorID, groupID, userID string) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	a, err := e.actor(actorID)
	if err != nil {
		return err
	}
	if a.Kind == KindInternal {
		return nil
	}
	d := e.newDecision(a, nil)
	g := e.groups[groupID]
	if g == nil || g.Account == "" || g.ID != AccountGroupID(g.Account) || d.manageLevel(e.accounts[g.Account]) < 0 {
		return FieldErrorf(CodeForbidden, "group", "group %s is not an account group within your reach", groupID)
	}
	u := e.users[userID]
	if u == nil || u.Kind != KindExternal || d.manageLevel(e.accounts[u.HomeAccount]) < 0 {
		return FieldErrorf(CodeForbidden, "user", "user %s is outside your reach", userID)
	}
	if u.ID == a.ID {
		return FieldErrorf(CodeForbidden, "user", "you cannot change your own access")
	}
	grants := slices.Clone(g.grants)
	slices.SortFunc(grants, func(a, b *grant) int { return strings.Compare(a.ID, b.ID) }) // the same grant named every time
	for _, gr := range grants {
		level := d.manageLevel(gr.acct)
		switch {
		case level < 0:
			return FieldErrorf(CodeForbidden, "group", "group %s has access outside your reach", groupID)
		case gr.role.Protected || !gr.role.Assignable:
			return FieldErrorf(CodeForbidden, "group", "group %s has the role %s, which customer administrators cannot assign", groupID, gr.Role)
		case gr.role.Level > level:
			return FieldErrorf(CodeForbidden, "group", "the role %s of group %s is above your own level on %s", gr.Role, groupID, gr.Account)
		}
	}
	return nil
}
