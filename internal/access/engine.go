package access

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis-dev/portcullis/internal/policy"
)

// Engine holds the access model in memory and answers decisions. Its methods
// are safe for concurrent use: mutations take the write lock, questions the
// read lock. The storage layer applies every committed change to the engine
// (or reloads it) so that the next request sees it.
type Engine struct {
	clock func() time.Time
	preds *predicateCache

	mu sync.RWMutex // guards everything below
	// version counts mutations; cached predicates of an older version are
	// stale.
	version uint64
	// treeVersion counts changes to the account tree; it dates the
	// accounts' cached subtrees.
	treeVersion uint64
	pol         *policy.Policy
	accounts    map[string]*account
	users       map[string]*user
	groups      map[string]*group
	grants      map[string]*grant
}

// account is an Account node of the tree.
type account struct {
	Account
	parent   *account
	children []*account
	// grants are the grants on this account, by id.
	grants map[string]*grant
	// subtree caches the ids of the descendants a subtree grant on this
	// account reaches, for the tree version it was computed at.
	subtree atomic.Pointer[subtreeIDs]
}

type subtreeIDs struct {
	version uint64
	ids     []string
}

// removeChild drops c from a's children.
func (a *account) removeChild(c *account) {
	for i, x := range a.children {
		if x == c {
			a.children = append(a.children[:i:i], a.children[i+1:]...)
			return
		}
	}
}

// user is a User with its derived index.
type user struct {
	User
	direct map[string]*grant // grants whose principal is this user
	groups map[string]*group // groups the user is a member of
	// all lists every grant of the user, direct or through a group (the
	// same grants as byAccount): decisions scan it when it is short.
	all []*grant
	// byAccount is the per-user index: every grant of the user, direct or
	// through a group, by granted account id. It is maintained
	// incrementally by grant and membership changes; tree and switch
	// changes need no maintenance because coverage walks the tree and
	// activity is evaluated at decision time.
	byAccount map[string][]*grant
}

type group struct {
	Group
	members map[string]*user
	grants  map[string]*grant
}

// grant is a Grant with its references resolved.
type grant struct {
	Grant
	role      *policy.CompiledRole
	acct      *account
	user      *user  // principal user, or nil
	group     *group // principal group, or nil
	readWrite bool
	subtree   bool
	daysBack  int // -1: unlimited
}

// NewEngine returns an empty engine using pol. clock, when nil, is
// time.Now; tests inject a fixed one.
func NewEngine(pol *policy.Policy, clock func() time.Time) *Engine {
	if clock == nil {
		clock = time.Now
	}
	return &Engine{clock: clock, pol: pol, preds: newPredicateCache(),
		accounts: map[string]*account{}, users: map[string]*user{},
		groups: map[string]*group{}, grants: map[string]*grant{}}
}

// Policy returns the current policy.
func (e *Engine) Policy() *policy.Policy {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.pol
}

// Now returns the engine's clock reading.
func (e *Engine) Now() time.Time { return e.clock() }

// SetPolicy replaces the policy. It fails with CodeConflict when a grant
// names a role the new policy lacks.
func (e *Engine) SetPolicy(pol *policy.Policy) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version++
	for _, g := range e.grants {
		if pol.Role(g.Role) == nil {
			return Errorf(CodeConflict, "role %s is used by grant %s", g.Role, g.ID)
		}
	}
	e.pol = pol
	for _, g := range e.grants {
		g.role = pol.Role(g.Role)
	}
	return nil
}

// Snapshot is a whole model, for loading an engine at once.
type Snapshot struct {
	Accounts []Account
	Users    []User
	Groups   []Group
	// Members are (group id, user id) pairs.
	Members [][2]string
	Grants  []Grant
}

// Load replaces the engine's whole state with s. It validates references
// like the individual mutations do.
func (e *Engine) Load(s Snapshot) error {
	n := NewEngine(e.pol, e.clock)
	for _, a := range s.Accounts {
		n.accounts[a.ID] = &account{Account: a, grants: map[string]*grant{}}
	}
	for _, a := range n.accounts {
		if a.Parent == "" {
			continue
		}
		p := n.accounts[a.Parent]
		if p == nil {
			return Errorf(CodeInvalid, "account %s: parent %s does not exist", a.ID, a.Parent)
		}
		a.parent = p
		p.children = append(p.children, a)
	}
	for _, a := range n.accounts {
		for x, steps := a.parent, 0; x != nil; x, steps = x.parent, steps+1 {
			if x == a || steps > len(n.accounts) {
				return Errorf(CodeInvalid, "account %s: parent chain has a cycle", a.ID)
			}
		}
	}
	for _, u := range s.Users {
		n.users[u.ID] = newUser(u)
	}
	for _, g := range s.Groups {
		n.groups[g.ID] = &group{Group: g, members: map[string]*user{}, grants: map[string]*grant{}}
	}
	for _, m := range s.Members {
		if err := n.addMember(m[0], m[1]); err != nil {
			return err
		}
	}
	for _, g := range s.Grants {
		if err := n.putGrant(g); err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version++
	e.treeVersion++
	e.accounts, e.users, e.groups, e.grants = n.accounts, n.users, n.groups, n.grants
	return nil
}

func newUser(u User) *user {
	u.LastLoginAt = nil // bookkeeping, not the model (see User)
	return &user{User: u, direct: map[string]*grant{}, groups: map[string]*group{}, byAccount: map[string][]*grant{}}
}

// PutAccount creates or replaces an account. The parent must exist and the
// change must not create a cycle. Access follows the new tree at once.
func (e *Engine) PutAccount(a Account) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version++
	e.treeVersion++
	var p *account
	if a.Parent != "" {
		p = e.accounts[a.Parent]
		if p == nil {
			return Errorf(CodeInvalid, "parent account %s does not exist", a.Parent)
		}
		for x := p; x != nil; x = x.parent {
			if x.ID == a.ID {
				return Errorf(CodeInvalid, "parent %s would create a cycle", a.Parent)
			}
		}
	}
	n := e.accounts[a.ID]
	if n == nil {
		n = &account{grants: map[string]*grant{}}
		e.accounts[a.ID] = n
	} else if n.parent != nil {
		n.parent.removeChild(n)
	}
	n.Account = a
	n.parent = p
	if p != nil {
		p.children = append(p.children, n)
	}
	return nil
}

// DeleteAccount removes an account that has no children and no grants
// (home users and records are the store's to check).
func (e *Engine) DeleteAccount(id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version++
	e.treeVersion++
	a := e.accounts[id]
	if a == nil {
		return Errorf(CodeNotFound, "account %s not found", id)
	}
	if len(a.children) > 0 || len(a.grants) > 0 {
		return Errorf(CodeConflict, "account %s has children or grants", id)
	}
	if a.parent != nil {
		a.parent.removeChild(a)
	}
	delete(e.accounts, id)
	return nil
}

// PutUser creates or replaces a user; its grants and memberships stay.
func (e *Engine) PutUser(u User) error {
	u.LastLoginAt = nil
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version++
	if x := e.users[u.ID]; x != nil {
		x.User = u
		return nil
	}
	e.users[u.ID] = newUser(u)
	return nil
}

// DeleteUser removes a user with its grants and memberships.
func (e *Engine) DeleteUser(id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version++
	u := e.users[id]
	if u == nil {
		return Errorf(CodeNotFound, "user %s not found", id)
	}
	for gid := range u.direct {
		e.removeGrant(gid)
	}
	for _, g := range u.groups {
		delete(g.members, id)
	}
	delete(e.users, id)
	return nil
}

// PutGroup creates or renames a group; members and grants stay.
func (e *Engine) PutGroup(g Group) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version++
	if x := e.groups[g.ID]; x != nil {
		x.Group = g
		return nil
	}
	e.groups[g.ID] = &group{Group: g, members: map[string]*user{}, grants: map[string]*grant{}}
	return nil
}

// DeleteGroup removes a group with its grants and memberships.
func (e *Engine) DeleteGroup(id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version++
	g := e.groups[id]
	if g == nil {
		return Errorf(CodeNotFound, "group %s not found", id)
	}
	for gid := range g.grants {
		e.removeGrant(gid)
	}
	for uid := range g.members {
		e.removeMember(id, uid)
	}
	delete(e.groups, id)
	return nil
}

// AddMember adds a user to a group; adding a member twice is a no-op.
func (e *Engine) AddMember(groupID, userID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version++
	return e.addMember(groupID, userID)
}

func (e *Engine) addMember(groupID, userID string) error {
	g, u := e.groups[groupID], e.users[userID]
	if g == nil {
		return Errorf(CodeNotFound, "group %s not found", groupID)
	}
	if u == nil {
		return Errorf(CodeInvalid, "user %s does not exist", userID)
	}
	if g.members[userID] != nil {
		return nil
	}
	g.members[userID] = u
	u.groups[groupID] = g
	for _, gr := range g.grants {
		u.index(gr)
	}
	return nil
}

// RemoveMember removes a user from a group; a non-member is a no-op.
func (e *Engine) RemoveMember(groupID, userID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version++
	if e.groups[groupID] == nil {
		return Errorf(CodeNotFound, "group %s not found", groupID)
	}
	e.removeMember(groupID, userID)
	return nil
}

func (e *Engine) removeMember(groupID, userID string) {
	g, u := e.groups[groupID], e.users[userID]
	if g == nil || u == nil || g.members[userID] == nil {
		return
	}
	delete(g.members, userID)
	delete(u.groups, groupID)
	for _, gr := range g.grants {
		u.unindex(gr)
	}
}

// PutGrant creates or replaces a grant (by id). The principal, account and
// role must exist; a second grant for the same (principal, account) is a
// conflict naming the existing id. Policy rules about who may do this are
// CheckGrant's, not PutGrant's.
func (e *Engine) PutGrant(g Grant) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version++
	return e.putGrant(g)
}

func (e *Engine) putGrant(g Grant) error {
	ng := &grant{Grant: g}
	ng.role = e.pol.Role(g.Role)
	if ng.role == nil {
		return Errorf(CodeInvalid, "role %s is not in the policy", g.Role)
	}
	ng.acct = e.accounts[g.Account]
	if ng.acct == nil {
		return Errorf(CodeInvalid, "account %s does not exist", g.Account)
	}
	kind, id, _ := strings.Cut(g.Principal, ":")
	switch kind {
	case "user":
		ng.user = e.users[id]
	case "group":
		ng.group = e.groups[id]
	}
	if ng.user == nil && ng.group == nil {
		return Errorf(CodeInvalid, "principal %s does not exist", g.Principal)
	}
	for _, other := range ng.acct.grants {
		if other.Principal == g.Principal && other.ID != g.ID {
			return &Error{Code: CodeConflict, ExistingID: other.ID,
				Message: "principal " + g.Principal + " already has grant " + other.ID + " on account " + g.Account}
		}
	}
	ng.readWrite = g.Access != AccessRead
	ng.subtree = g.Scope != ScopeAccount
	ng.daysBack = -1
	if g.DaysBack != nil {
		ng.daysBack = *g.DaysBack
	}
	if _, ok := e.grants[g.ID]; ok {
		e.removeGrant(g.ID)
	}
	e.grants[g.ID] = ng
	ng.acct.grants[g.ID] = ng
	if ng.user != nil {
		ng.user.direct[g.ID] = ng
		ng.user.index(ng)
	} else {
		ng.group.grants[g.ID] = ng
		for _, m := range ng.group.members {
			m.index(ng)
		}
	}
	return nil
}

// DeleteGrant removes a grant. Whether it may be removed (protected roles)
// is CheckGrant's question.
func (e *Engine) DeleteGrant(id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version++
	if e.grants[id] == nil {
		return Errorf(CodeNotFound, "grant %s not found", id)
	}
	e.removeGrant(id)
	return nil
}

func (e *Engine) removeGrant(id string) {
	g := e.grants[id]
	delete(e.grants, id)
	delete(g.acct.grants, id)
	if g.user != nil {
		delete(g.user.direct, id)
		g.user.unindex(g)
	} else {
		delete(g.group.grants, id)
		for _, m := range g.group.members {
			m.unindex(g)
		}
	}
}

func (u *user) index(g *grant) {
	u.byAccount[g.Account] = append(u.byAccount[g.Account], g)
	u.all = append(u.all, g)
}

func (u *user) unindex(g *grant) {
	for i, x := range u.all {
		if x == g {
			u.all = append(u.all[:i:i], u.all[i+1:]...)
			break
		}
	}
	list := u.byAccount[g.Account]
	for i, x := range list {
		if x == g {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(u.byAccount, g.Account)
	} else {
		u.byAccount[g.Account] = list
	}
}

// Account returns an account by id.
func (e *Engine) Account(id string) (Account, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	a := e.accounts[id]
	if a == nil {
		return Account{}, false
	}
	return a.Account, true
}

// User returns a user by id.
func (e *Engine) User(id string) (User, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	u := e.users[id]
	if u == nil {
		return User{}, false
	}
	return u.User, true
}

// Grant returns a grant by id.
func (e *Engine) Grant(id string) (Grant, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	g := e.grants[id]
	if g == nil {
		return Grant{}, false
	}
	return g.Grant, true
}

// UserGrants returns every grant of a user, direct or through a group,
// sorted by id.
func (e *Engine) UserGrants(userID string) []Grant {
	e.mu.RLock()
	defer e.mu.RUnlock()
	u := e.users[userID]
	if u == nil {
		return nil
	}
	var out []Grant
	for _, list := range u.byAccount {
		for _, g := range list {
			out = append(out, g.Grant)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// active reports whether g is active for member u at now: the user is
// active, the granted account's switch is on and now is within validity.
func (g *grant) active(u *user, now time.Time) bool {
	return u.Status == StatusActive && g.acct.ExternalAccess && g.valid(now)
}

func (g *grant) valid(now time.Time) bool {
	return (g.ValidFrom == nil || !now.Before(*g.ValidFrom)) && (g.ValidUntil == nil || now.Before(*g.ValidUntil))
}

// cutoff returns the first visible day ("YYYY-MM-DD") for g at the given
// day number, "" when unlimited.
func (g *grant) cutoff(today int32) string {
	if g.daysBack < 0 {
		return ""
	}
	return dayString(today - int32(g.daysBack))
}
