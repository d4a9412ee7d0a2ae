package access

import (
	"slices"
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
	// The copy on write of Clone (cow.go): objects of another generation
	// than gen may be shared with a clone or an original and are copied
	// before a change; acctGrants overrides an account's grants set.
	gen        uint64
	acctGrants map[*account]*grantSet
	share      *shareToken // counts the live clones of this engine's objects
	clone      bool        // this engine shares objects with its original
	released   bool        // the clone was released (Release)
}

// account is an Account node of the tree.
type account struct {
	// parent, ext and inherit come first, in the cache line a decision's
	// walk up the tree reads; ext and inherit are Account's
	// ExternalAccess and Inherit (set with setAccount).
	parent  *account
	ext     bool
	inherit bool
	Account
	children []*account
	// grants are the grants on this account, by id, unless the engine's
	// acctGrants overrides them (read them with Engine.grantsOn).
	grants map[string]*grant
	// subtree caches the ids of the descendants a subtree grant on this
	// account reaches, for the tree version it was computed at.
	subtree atomic.Pointer[subtreeIDs]
}

type subtreeIDs struct {
	version uint64
	ids     []string
}

// setAccount sets a's Account and the flags derived from it.
func (a *account) setAccount(x Account) {
	a.Account = x
	a.ext, a.inherit = x.ExternalAccess, x.Inherit
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
	// The fields a decision reads come first, in one cache line: active
	// and internal are User's Status == StatusActive and Kind ==
	// KindInternal (set with setUser).
	active, internal bool
	// all lists every grant of the user, direct or through a group, in
	// the order they were indexed, each with its account: decisions scan
	// it when it is short, comparing the accounts without reading the
	// grants.
	all []held
	// byAccount is the per-user index of a user with more than
	// smallGrantList grants (nil before: most users have a few, and at
	// 100,000 users the maps cost ~35 MB): the same grants as all, by
	// granted account. It is maintained incrementally by grant and
	// membership changes; tree and switch changes need no maintenance
	// because coverage walks the tree and activity is evaluated at
	// decision time. (An account changed while shared is rebuilt by
	// detach with every user, so the keys are the engine's accounts.)
	byAccount map[*account][]held
	User
	gen    uint64   // the generation of the engine that may change it
	direct []*grant // grants whose principal is this user, in the order they were put
	// groups are the ids of the groups the user is a member of, in the
	// order they were added (a slice: most users are in one group, and a
	// map each cost ~250 bytes).
	groups []string
}

// held is one of a user's grants, with its account.
type held struct {
	acct *account
	g    *grant
}

// setUser sets u's User and the flags derived from it.
func (u *user) setUser(x User) {
	u.User = x
	u.active, u.internal = x.Status == StatusActive, x.Kind == KindInternal
}

type group struct {
	Group
	gen     uint64
	members map[string]*user
	grants  []*grant // in the order they were put (a slice: most groups hold one or two)
}

// grant is a Grant with its references resolved.
type grant struct {
	// The fields a decision reads come first, in one cache line.
	acct      *account
	role      *policy.CompiledRole
	daysBack  int // -1: unlimited
	readWrite bool
	subtree   bool
	timed     bool   // ValidFrom or ValidUntil is set
	user      *user  // principal user, or nil
	group     *group // principal group, or nil
	Grant
}

// NewEngine returns an empty engine using pol. clock, when nil, is
// time.Now; tests inject a fixed one.
func NewEngine(pol *policy.Policy, clock func() time.Time) *Engine {
	if clock == nil {
		clock = time.Now
	}
	return &Engine{clock: clock, pol: pol, preds: newPredicateCache(),
		accounts: map[string]*account{}, users: map[string]*user{},
		groups: map[string]*group{}, grants: map[string]*grant{},
		gen: newGen(), share: &shareToken{}}
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
	if e.shared() {
		return e.detach() // the grants are shared: rebuild them with pol
	}
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
	n, err := build(e.pol, e.clock, s)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version++
	e.treeVersion++
	e.adopt(n)
	return nil
}

// build returns a new engine holding s.
func build(pol *policy.Policy, clock func() time.Time, s Snapshot) (*Engine, error) {
	n := NewEngine(pol, clock)
	n.accounts = make(map[string]*account, len(s.Accounts))
	n.users = make(map[string]*user, len(s.Users))
	n.groups = make(map[string]*group, len(s.Groups))
	n.grants = make(map[string]*grant, len(s.Grants))
	for _, a := range s.Accounts {
		n.accounts[a.ID] = &account{grants: map[string]*grant{}}
		n.accounts[a.ID].setAccount(a)
	}
	for _, a := range n.accounts {
		if a.Parent == "" {
			continue
		}
		p := n.accounts[a.Parent]
		if p == nil {
			return nil, Errorf(CodeInvalid, "account %s: parent %s does not exist", a.ID, a.Parent)
		}
		a.parent = p
		p.children = append(p.children, a)
	}
	for _, a := range n.accounts {
		for x, steps := a.parent, 0; x != nil; x, steps = x.parent, steps+1 {
			if x == a || steps > len(n.accounts) {
				return nil, Errorf(CodeInvalid, "account %s: parent chain has a cycle", a.ID)
			}
		}
	}
	for _, u := range s.Users {
		n.users[u.ID] = n.newUser(u)
	}
	for _, g := range s.Groups {
		n.groups[g.ID] = n.newGroup(g)
	}
	for _, m := range s.Members {
		if err := n.addMember(m[0], m[1]); err != nil {
			return nil, err
		}
	}
	for _, g := range s.Grants {
		if err := n.putGrant(g); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (e *Engine) newUser(u User) *user {
	u.LastLoginAt = nil // bookkeeping, not the model (see User)
	n := &user{gen: e.gen}
	n.setUser(u)
	return n
}

func (e *Engine) newGroup(g Group) *group {
	return &group{Group: g, gen: e.gen, members: map[string]*user{}}
}

// PutAccount creates or replaces an account. The parent must exist and the
// change must not create a cycle. Access follows the new tree at once.
func (e *Engine) PutAccount(a Account) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version++
	e.treeVersion++
	if e.shared() {
		if err := e.detach(); err != nil {
			return err
		}
	}
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
	n.setAccount(a)
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
	if len(a.children) > 0 || len(e.grantsOn(a)) > 0 {
		return Errorf(CodeConflict, "account %s has children or grants", id)
	}
	if e.shared() {
		if err := e.detach(); err != nil {
			return err
		}
		a = e.accounts[id]
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
		e.ownUser(x).setUser(u)
		return nil
	}
	e.users[u.ID] = e.newUser(u)
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
	for _, g := range slices.Clone(u.direct) { // removeGrant changes u.direct
		e.removeGrant(g.ID)
	}
	for _, gid := range u.groups {
		delete(e.ownGroup(e.groups[gid]).members, id)
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
		e.ownGroup(x).Group = g
		return nil
	}
	e.groups[g.ID] = e.newGroup(g)
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
	for _, gr := range slices.Clone(g.grants) { // removeGrant changes g.grants
		e.removeGrant(gr.ID)
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
	g, u = e.ownGroup(g), e.ownUser(u)
	g.members[userID] = u
	u.groups = append(u.groups, g.ID)
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
	g, u = e.ownGroup(g), e.ownUser(u)
	delete(g.members, userID)
	if i := slices.Index(u.groups, groupID); i >= 0 {
		u.groups = append(u.groups[:i:i], u.groups[i+1:]...) // a copy: a clone may share the array
	}
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
	for _, other := range e.grantsOn(ng.acct) {
		if other.Principal == g.Principal && other.ID != g.ID {
			return &Error{Code: CodeConflict, ExistingID: other.ID,
				Message: "principal " + g.Principal + " already has grant " + other.ID + " on account " + g.Account}
		}
	}
	ng.readWrite = g.Access != AccessRead
	ng.subtree = g.Scope != ScopeAccount
	ng.intern()
	ng.daysBack = -1
	if g.DaysBack != nil {
		ng.daysBack = *g.DaysBack
	}
	ng.timed = g.ValidFrom != nil || g.ValidUntil != nil
	if _, ok := e.grants[g.ID]; ok {
		e.removeGrant(g.ID)
	}
	if ng.user != nil {
		ng.user = e.ownUser(e.users[id]) // removeGrant may have copied it
	} else {
		ng.group = e.ownGroup(e.groups[id])
	}
	e.grants[g.ID] = ng
	e.ownGrantsOn(ng.acct)[g.ID] = ng
	if ng.user != nil {
		ng.user.direct = append(ng.user.direct, ng)
		ng.user.index(ng)
	} else {
		ng.group.grants = append(ng.group.grants, ng)
		for uid := range ng.group.members {
			e.ownUser(e.users[uid]).index(ng)
		}
	}
	return nil
}

// intern points g's repeated strings at one copy each (the account's id,
// the role's name, the constants, another grant's principal): the strings
// the store read for each row become garbage, and at 10M records and
// 375,000 grants the engine holds about 20 MB less.
func (g *grant) intern() {
	g.Account = g.acct.ID
	if g.Role == g.role.Name {
		g.Role = g.role.Name
	}
	for _, c := range []string{ScopeAccount, ScopeSubtree, AccessRead, AccessReadWrite} {
		if g.Scope == c {
			g.Scope = c
		}
		if g.Access == c {
			g.Access = c
		}
	}
	var other *grant
	switch {
	case g.user != nil && len(g.user.direct) > 0:
		other = g.user.direct[0]
	case g.group != nil && len(g.group.grants) > 0:
		other = g.group.grants[0]
	}
	if other != nil && other.Principal == g.Principal {
		g.Principal = other.Principal
	}
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
	delete(e.ownGrantsOn(g.acct), id)
	// g.user and g.group may be older copies: change the engine's own.
	if g.user != nil {
		u := e.ownUser(e.users[g.user.ID])
		if i := slices.IndexFunc(u.direct, func(x *grant) bool { return x.ID == id }); i >= 0 {
			u.direct = append(u.direct[:i:i], u.direct[i+1:]...) // a copy: a clone may share the array
		}
		u.unindex(g)
	} else {
		gr := e.ownGroup(e.groups[g.group.ID])
		if i := slices.IndexFunc(gr.grants, func(x *grant) bool { return x.ID == id }); i >= 0 {
			gr.grants = append(gr.grants[:i:i], gr.grants[i+1:]...) // a copy: a clone may share the array
		}
		for uid := range gr.members {
			e.ownUser(e.users[uid]).unindex(g)
		}
	}
}

func (u *user) index(g *grant) {
	u.all = append(u.all, held{g.acct, g})
	switch {
	case u.byAccount != nil:
		u.byAccount[g.acct] = append(u.byAccount[g.acct], held{g.acct, g})
	case len(u.all) > smallGrantList:
		u.byAccount = map[*account][]held{}
		for _, x := range u.all {
			u.byAccount[x.acct] = append(u.byAccount[x.acct], x)
		}
	}
}

func (u *user) unindex(g *grant) {
	for i, x := range u.all {
		if x.g == g {
			u.all = append(u.all[:i:i], u.all[i+1:]...)
			break
		}
	}
	if u.byAccount == nil {
		return
	}
	list := u.byAccount[g.acct]
	for i, x := range list {
		if x.g == g {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(u.byAccount, g.acct)
	} else {
		u.byAccount[g.acct] = list
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
	for _, h := range u.all {
		g := h.g
		out = append(out, g.Grant)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// active reports whether g is active for member u at now: the user is
// active, the granted account's switch is on and now is within validity.
func (g *grant) active(u *user, now time.Time) bool {
	return u.active && g.acct.ext && g.valid(now)
}

func (g *grant) valid(now time.Time) bool {
	return !g.timed || ((g.ValidFrom == nil || !now.Before(*g.ValidFrom)) && (g.ValidUntil == nil || now.Before(*g.ValidUntil)))
}

// cutoff returns the first visible day ("YYYY-MM-DD") for g at the given
// day number, "" when unlimited.
func (g *grant) cutoff(today int32) string {
	if g.daysBack < 0 {
		return ""
	}
	return dayString(today - int32(g.daysBack))
}
