package access

import (
	"slices"
	"sort"

	"github.com/portcullis-dev/portcullis/internal/policy"
)

// This file serves the impact preview (governance.md §1): an independent
// copy of the engine to apply changes to, the predicates of the records on
// which a user sees one restricted field, and the users a change can
// affect.

// FieldPredicate returns the records of type typ on which the user sees
// the restricted field with index field of the type: those with a read
// path whose role context grants the field (Check's field rule). Staff see
// every field of what they read; an unknown type is CodeNotFound.
func (e *Engine) FieldPredicate(userID, typ string, field int) (*Predicate, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	t, u, p, err := e.predicateStart(userID, typ, policy.Read)
	if p != nil || err != nil {
		return p, err
	}
	var roles policy.RoleSet
	for _, r := range e.pol.Roles() {
		if r.Perm(t).Fields.Has(field) {
			roles = roles.With(r.ID)
		}
	}
	d := e.newDecision(u, nil)
	return d.predicate(t, policy.Read, false, roles, 0), nil
}

// SamePredicate reports whether a and b are the same predicate up to the
// order of the accounts within a clause: when it is true they select the
// same records (false says nothing).
func SamePredicate(a, b *Predicate) bool {
	if a.Type != b.Type || a.All != b.All || a.User != b.User || a.TeamWrite != b.TeamWrite || a.Owned != b.Owned ||
		(a.TeamUser == nil) != (b.TeamUser == nil) || (a.TeamUser != nil && *a.TeamUser != *b.TeamUser) ||
		len(a.Accounts) != len(b.Accounts) || len(a.Shared) != len(b.Shared) {
		return false
	}
	if a.All {
		return true
	}
	for i := range a.Accounts {
		x, y := a.Accounts[i], b.Accounts[i]
		if x.Cond != y.Cond || len(x.Accounts) != len(y.Accounts) {
			return false
		}
		if !slices.Equal(x.Accounts, y.Accounts) {
			xs, ys := slices.Clone(x.Accounts), slices.Clone(y.Accounts)
			slices.Sort(xs)
			slices.Sort(ys)
			if !slices.Equal(xs, ys) {
				return false
			}
		}
	}
	for i := range a.Shared {
		if a.Shared[i].CreatorOnly != b.Shared[i].CreatorOnly || !SamePredicate(a.Shared[i].Parent, b.Shared[i].Parent) {
			return false
		}
	}
	return true
}

// GrantUsers returns the users grant id applies to: its principal user, or
// its group's members (none for an unknown grant).
func (e *Engine) GrantUsers(id string) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	g := e.grants[id]
	if g == nil {
		return nil
	}
	return e.grantUsers(g)
}

// grantUsers returns the users g applies to. g's group may be an older
// copy (cow.go): its members are read from the engine's own group.
func (e *Engine) grantUsers(g *grant) []string {
	if g.user != nil {
		return []string{g.user.ID}
	}
	grp := e.groups[g.group.ID]
	if grp == nil {
		return nil
	}
	out := make([]string, 0, len(grp.members))
	for uid := range grp.members {
		out = append(out, uid)
	}
	return out
}

// AccountUsers returns the users holding a grant, directly or through a
// group, on acct or one of its ancestors: the only users whose access a
// change of acct's switch, inherit or parent can change.
func (e *Engine) AccountUsers(acct string) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	for x := e.accounts[acct]; x != nil; x = x.parent {
		for _, g := range e.grantsOn(x) {
			for _, uid := range e.grantUsers(g) {
				if !seen[uid] {
					seen[uid] = true
					out = append(out, uid)
				}
			}
		}
	}
	return out
}

// UserIDs returns every user's id, sorted.
func (e *Engine) UserIDs() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]string, 0, len(e.users))
	for id := range e.users {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// groupExists reports, under the caller's lock, whether group id exists.
func (e *Engine) groupExists(id string) bool { return e.groups[id] != nil }

// GroupGrantOn returns the id of the grant group gid holds on account
// acct, if any.
func (e *Engine) GroupGrantOn(gid, acct string) (string, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	a := e.accounts[acct]
	if a == nil {
		return "", false
	}
	for _, g := range e.grantsOn(a) {
		if g.group != nil && g.group.ID == gid {
			return g.ID, true
		}
	}
	return "", false
}

// EnsureAccountGroup does to the engine what switching an account's
// external access on does to the store: it creates the account group
// acct:<id> when missing and, when the group holds no grant on the
// account, its grant with the policy's default group role (scope subtree,
// read_write) under the given id.
func (e *Engine) EnsureAccountGroup(a Account, grantID string) error {
	gid := AccountGroupID(a.ID)
	e.mu.RLock()
	exists := e.groupExists(gid)
	pol := e.pol
	e.mu.RUnlock()
	if !exists {
		if err := e.PutGroup(Group{ID: gid, Name: a.Name + " external users", Account: a.ID}); err != nil {
			return err
		}
	}
	if _, ok := e.GroupGrantOn(gid, a.ID); ok || pol.DefaultGroupRole == nil {
		return nil
	}
	return e.PutGrant(Grant{ID: grantID, Principal: "group:" + gid, Account: a.ID, Role: pol.DefaultGroupRole.Name,
		Scope: ScopeSubtree, Access: AccessReadWrite})
}

// MinusPart returns the part of a that can hold records b does not
// select: a predicate a' with a' ⊆ a and a \ b ⊆ a', so that a \ b equals
// a' \ b. It drops a's branches that a branch of b covers (an account of
// a clause whose condition a clause of b on the same account covers, when
// b's team branch also covers a's for that account; the personal team
// branch likewise) and narrows each sharing clause of a to the parents
// its covering clause of b (CoveringShared) does not select, recursively.
// What is left is the changed region of a change, which the preview
// counts instead of the whole sets. a is returned as it is when a is All
// or the two predicates are of different users or types; nothing matches
// when b is All.
func MinusPart(a, b *Predicate) *Predicate {
	if b.All && b.Type == a.Type {
		return &Predicate{Type: a.Type, User: a.User}
	}
	if a.All || a.Empty() || b.Empty() || a.Type != b.Type || a.User != b.User {
		return a
	}
	// teamCovered: b's team branch matches every team entry a's matches,
	// for the same principal under a covering condition.
	teamCovered := !b.Owned && (!b.TeamWrite || a.TeamWrite)
	conds := map[string][]Cond{}
	for _, ac := range b.Accounts {
		for _, acct := range ac.Accounts {
			conds[acct] = append(conds[acct], ac.Cond)
		}
	}
	covered := func(acct string, c Cond) bool {
		if !a.Owned && !teamCovered {
			return false
		}
		return slices.ContainsFunc(conds[acct], func(bc Cond) bool { return bc.covers(c) })
	}
	out := *a
	out.Accounts = nil
	for _, ac := range a.Accounts {
		var keep []string
		for _, acct := range ac.Accounts {
			if !covered(acct, ac.Cond) {
				keep = append(keep, acct)
			}
		}
		if len(keep) > 0 {
			out.Accounts = append(out.Accounts, AccountClause{Accounts: keep, Cond: ac.Cond})
		}
	}
	if a.TeamUser != nil && b.TeamUser != nil && teamCovered && b.TeamUser.covers(*a.TeamUser) {
		out.TeamUser = nil
	}
	out.Shared = nil
	for _, sc := range a.Shared {
		if j := CoveringShared(sc, b); j >= 0 {
			sc.Parent = MinusPart(sc.Parent, b.Shared[j].Parent)
		}
		if !sc.Parent.Empty() {
			out.Shared = append(out.Shared, sc)
		}
	}
	return &out
}

// CoveringShared returns the index of the sharing clause of b that
// matches every child sc matches whose parent it selects (the same parent
// type, no creator condition sc lacks), -1 for none: a child of sc whose
// parent that clause's parent predicate does not select is not selected
// by that clause either.
func CoveringShared(sc SharedClause, b *Predicate) int {
	return slices.IndexFunc(b.Shared, func(x SharedClause) bool {
		return x.Parent.Type == sc.Parent.Type && x.Parent.User == sc.Parent.User && (!x.CreatorOnly || sc.CreatorOnly)
	})
}
