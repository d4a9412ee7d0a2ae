package access

import (
	"sort"

	"github.com/portcullis-dev/portcullis/internal/policy"
)

// AccountAccess is one account an external user can act on: what the
// account switcher shows (DESIGN.md §5.13 /me).
type AccountAccess struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Role is the highest-level role among the active grants covering the
	// account, with its grant's access.
	Role   string `json:"role"`
	Access string `json:"access"`
	// ManageUsers says whether the user may administer this account's users.
	ManageUsers bool `json:"manage_users"`
	// Types lists, per object type, the actions some covering grant allows.
	Types map[string][]string `json:"types"`
}

// Reach returns every account the user's active grants cover (subtrees
// expanded, chain breaks applied), sorted by id. Internal and inactive
// users reach nothing here: staff work in the console.
func (e *Engine) Reach(userID string) []AccountAccess {
	e.mu.RLock()
	defer e.mu.RUnlock()
	u := e.users[userID]
	if u == nil || u.Status != StatusActive || u.Kind != KindExternal {
		return nil
	}
	d := e.newDecision(u, nil)
	type acc struct {
		best    *grant
		manage  bool
		actions []policy.Actions
	}
	reach := map[*account]*acc{}
	types := e.pol.Types()
	add := func(a *account, g *grant) {
		x := reach[a]
		if x == nil {
			x = &acc{actions: make([]policy.Actions, len(types))}
			reach[a] = x
		}
		if x.best == nil || g.role.Level > x.best.role.Level || (g.role.Level == x.best.role.Level && g.readWrite && !x.best.readWrite) {
			x.best = g
		}
		x.manage = x.manage || (g.readWrite && g.role.ManageUsers)
		for i, t := range types {
			acts := g.role.Perm(t).Actions
			if !g.readWrite {
				acts &= policy.Read
			}
			x.actions[i] |= acts
		}
	}
	for _, h := range u.all {
		g := h.g
		if !g.active(u, d.now) {
			continue
		}
		add(g.acct, g)
		if g.subtree {
			forSubtree(g.acct, func(a *account) { add(a, g) })
		}
	}
	out := make([]AccountAccess, 0, len(reach))
	for a, x := range reach {
		aa := AccountAccess{ID: a.ID, Name: a.Name, Role: x.best.role.Name, Access: x.best.Access,
			ManageUsers: x.manage, Types: map[string][]string{}}
		if aa.Access == "" {
			aa.Access = AccessReadWrite
		}
		for i, t := range types {
			if names := x.actions[i].Names(); len(names) > 0 {
				aa.Types[t.Name] = names
			}
		}
		out = append(out, aa)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Subtree returns acct and every descendant, sorted: what the list filter
// "account" selects (DESIGN.md §5.9). It ignores inherit: the filter is
// about the tree, access is the predicate's business.
func (e *Engine) Subtree(acct string) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	a := e.accounts[acct]
	if a == nil {
		return nil
	}
	out := []string{a.ID}
	var walk func(*account)
	walk = func(x *account) {
		for _, c := range x.children {
			out = append(out, c.ID)
			walk(c)
		}
	}
	walk(a)
	sort.Strings(out)
	return out
}

// CoveringGrants returns the user's active grants (direct or through a
// group) that cover account acct, by the same walk decisions take: the
// grant's own account, or an ancestor's subtree grant as far as inherit
// lets it reach. Nil for an unknown user or account.
func (e *Engine) CoveringGrants(userID, acct string) []Grant {
	e.mu.RLock()
	defer e.mu.RUnlock()
	u, a := e.users[userID], e.accounts[acct]
	if u == nil || a == nil {
		return nil
	}
	d := e.newDecision(u, nil)
	var out []Grant
	d.covering(a, nil, func(g *grant) bool {
		out = append(out, g.Grant)
		return false
	})
	return out
}
