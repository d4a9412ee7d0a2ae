package access

import (
	"sort"
	"sync"
	"time"

	"github.com/portcullis-dev/portcullis/internal/policy"
)

// Predicate describes, without reference to any database, the records of
// one type a user may act on. A record matches when it matches any clause:
//
//   - an AccountClause matches a record whose owner, or one of whose
//     "account:<id>" team entries, is in Accounts and that satisfies Cond;
//   - TeamUser, when set, matches a record with a "user:<User>" team entry
//     that satisfies it;
//   - a SharedClause matches a record whose parent has type Parent.Type and
//     matches Parent (recursively, at most MaxSharingHops levels).
//
// When TeamWrite is set, only team entries with access read_write count.
// Clauses are sorted by condition; accounts within a clause are in no
// particular order. A Predicate the engine returns is shared (cached):
// callers must not modify it (Within returns a copy).
//
// A storage backend renders it as one query: the covered accounts are
// listed explicitly (subtrees already expanded, chain breaks applied), so
// the query needs no recursion over the account tree whatever its depth.
type Predicate struct {
	// Type is the object type the predicate selects.
	Type string
	// All is set for staff: every record of the type matches.
	All bool
	// User is the user creator conditions compare with.
	User      string
	Accounts  []AccountClause
	TeamUser  *Cond
	TeamWrite bool
	Shared    []SharedClause
	// Owned, when set, makes account clauses match a record through its
	// owner only, never through its "account:<id>" team entries (see
	// OwnerPaths).
	Owned bool
}

// OwnerPaths returns a copy of the predicate that matches a record only
// through paths whose grant covers the record's owner (DESIGN.md §2 path
// 1): account clauses match the owner alone, and team user entries and
// sharing clauses are dropped. A list filtered or sorted on the owner (the
// account filter, or the type's owner_field) runs with it, so records seen
// through teams or sharing, whose owner the user's view hides, never answer
// a question about their owner (records.md §5). Staff predicates (All) are
// returned as they are.
func (p *Predicate) OwnerPaths() *Predicate {
	if p.All {
		return p
	}
	out := *p
	out.Owned, out.TeamUser, out.Shared = true, nil, nil
	return &out
}

// Cond restricts a clause: Cutoff, when set, is the first visible day
// ("YYYY-MM-DD"; undated records pass), and CreatorOnly requires the record's
// creator to be the user.
type Cond struct {
	Cutoff      string
	CreatorOnly bool
}

// covers reports whether every record c admits is admitted by a too.
func (a Cond) covers(c Cond) bool {
	return (a.Cutoff == "" || (c.Cutoff != "" && a.Cutoff <= c.Cutoff)) && (!a.CreatorOnly || c.CreatorOnly)
}

// AccountClause lists accounts sharing one condition. An account may
// appear in several clauses with different conditions.
type AccountClause struct {
	Accounts []string
	Cond
}

// SharedClause matches children of records matching Parent.
type SharedClause struct {
	Parent      *Predicate
	CreatorOnly bool
}

// Empty reports whether the predicate matches nothing.
func (p *Predicate) Empty() bool {
	return !p.All && len(p.Accounts) == 0 && p.TeamUser == nil && len(p.Shared) == 0
}

// Predicate returns the set of records of type typ the user may do action
// on. Unknown users and users that are not active get an empty predicate;
// staff get All (auditors only for read). An unknown type is CodeNotFound.
func (e *Engine) Predicate(userID, typ string, action policy.Actions) (*Predicate, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	t, u, p, err := e.predicateStart(userID, typ, action)
	if p != nil || err != nil {
		return p, err
	}
	d := e.newDecision(u, nil)
	key := predicateKey{user: userID, typ: typ, action: action}
	if p := e.preds.get(key, e.version, d.today, d.now); p != nil {
		return p, nil
	}
	p = d.predicate(t, action, action.IsWrite(), e.pol.AllRoles(), 0)
	e.preds.put(key, predicateEntry{p: p, version: e.version, day: d.today, until: d.nextValidityChange()})
	return p, nil
}

// predicateStart is the common start of Predicate and FieldPredicate,
// under the caller's read lock: the type and the external user to build
// the predicate for, or the whole answer for an unknown type (an error),
// a missing or inactive user (nothing) and staff (everything or nothing).
func (e *Engine) predicateStart(userID, typ string, action policy.Actions) (*policy.Type, *user, *Predicate, error) {
	t := e.pol.Type(typ)
	if t == nil {
		return nil, nil, nil, Errorf(CodeNotFound, "unknown object type %s", typ)
	}
	u := e.users[userID]
	if u == nil || u.Status != StatusActive {
		return t, u, &Predicate{Type: typ, User: userID}, nil
	}
	if u.Kind == KindInternal {
		return t, u, &Predicate{Type: typ, User: userID, All: staffMay(u, action)}, nil
	}
	return t, u, nil, nil
}

// nextValidityChange is the first instant after now at which one of the
// user's grants becomes valid or expires: a cached predicate is good until
// then (or the next mutation, or the next day).
func (d *decision) nextValidityChange() time.Time {
	var next time.Time
	consider := func(t *time.Time) {
		if t != nil && t.After(d.now) && (next.IsZero() || t.Before(next)) {
			next = *t
		}
	}
	for _, h := range d.u.all {
		g := h.g
		consider(g.ValidFrom)
		consider(g.ValidUntil)
	}
	return next
}

// predicateCache keeps the predicates of recent (user, type, action)
// questions: a list page asks once per page, and the answer only changes
// with a mutation of the model, a new day (days_back cutoffs) or a grant's
// validity boundary. It is bounded: when full it starts afresh.
type predicateCache struct {
	mu      sync.Mutex
	entries map[predicateKey]predicateEntry
}

type predicateKey struct {
	user, typ string
	action    policy.Actions
}

type predicateEntry struct {
	p       *Predicate
	version uint64
	day     int32
	until   time.Time // zero: no validity boundary ahead
}

const maxCachedPredicates = 20000

func newPredicateCache() *predicateCache {
	return &predicateCache{entries: map[predicateKey]predicateEntry{}}
}

func (c *predicateCache) get(k predicateKey, version uint64, day int32, now time.Time) *Predicate {
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if !ok || e.version != version || e.day != day || (!e.until.IsZero() && !now.Before(e.until)) {
		return nil
	}
	return e.p
}

func (c *predicateCache) put(k predicateKey, e predicateEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedPredicates {
		c.entries = map[predicateKey]predicateEntry{}
	}
	c.entries[k] = e
}

// predicate builds the clauses for type t: paths whose role is in roles
// and grants action on t; needWrite keeps read_write paths only.
func (d *decision) predicate(t *policy.Type, action policy.Actions, needWrite bool, roles policy.RoleSet, hops int) *Predicate {
	p := &Predicate{Type: t.Name, User: d.u.ID, TeamWrite: needWrite}
	ok := func(r *policy.CompiledRole) bool { return roles.Has(r.ID) && r.Perm(t).Actions.Has(action) }

	p.Accounts = d.accountClauses(t, needWrite, ok)

	if r := d.highestRole(); r != nil && ok(r) {
		p.TeamUser = &Cond{CreatorOnly: r.Perm(t).Own}
	}

	if hops < MaxSharingHops {
		var own, acct policy.RoleSet
		for _, r := range d.e.pol.Roles() {
			if ok(r) {
				if r.Perm(t).Own {
					own = own.With(r.ID)
				} else {
					acct = acct.With(r.ID)
				}
			}
		}
		for _, sh := range t.SharedFrom {
			if needWrite && sh.Access != AccessReadWrite {
				continue
			}
			for _, s := range []struct {
				roles policy.RoleSet
				own   bool
			}{{acct, false}, {own, true}} {
				if s.roles == 0 {
					continue
				}
				if pp := d.predicate(sh.From, policy.Read, needWrite, s.roles, hops+1); !pp.Empty() {
					p.Shared = append(p.Shared, SharedClause{Parent: pp, CreatorOnly: s.own})
				}
			}
		}
	}
	return p
}

// accountClauses groups the accounts the user's qualifying grants cover by
// condition. The usual case, every qualifying grant with the same
// condition, needs no per-account bookkeeping beyond deduplication.
func (d *decision) accountClauses(t *policy.Type, needWrite bool, ok func(*policy.CompiledRole) bool) []AccountClause {
	type qualified struct {
		g *grant
		c Cond
	}
	var buf [64]qualified
	gs := buf[:0]
	cutoffs := map[int]string{} // days_back → cutoff, formatted once
	same := true
	for _, h := range d.u.all {
		g := h.g
		if !g.active(d.u, d.now) || (needWrite && !g.readWrite) || !ok(g.role) {
			continue
		}
		c := Cond{CreatorOnly: g.role.Perm(t).Own}
		if g.daysBack >= 0 {
			cut, seen := cutoffs[g.daysBack]
			if !seen {
				cut = g.cutoff(d.today)
				cutoffs[g.daysBack] = cut
			}
			c.Cutoff = cut
		}
		same = same && (len(gs) == 0 || gs[0].c == c)
		gs = append(gs, qualified{g, c})
	}
	if len(gs) == 0 {
		return nil
	}
	// When no qualifying grant's account lies in another's subtree (the
	// usual case: one grant per customer), no account is reached twice and
	// clauses are built without any per-account bookkeeping.
	if !overlapping(gs, func(q qualified) *account { return q.g.acct }) {
		// Two passes: size each clause, then fill it with one allocation.
		var clauses []AccountClause
		var sizes []int
		clauseOf := make([]int, len(gs))
		for k, q := range gs {
			i := 0
			for i < len(clauses) && clauses[i].Cond != q.c {
				i++
			}
			if i == len(clauses) {
				clauses = append(clauses, AccountClause{Cond: q.c})
				sizes = append(sizes, 0)
			}
			clauseOf[k] = i
			sizes[i]++
			if q.g.subtree {
				sizes[i] += len(d.e.subtreeIDs(q.g.acct))
			}
		}
		for i := range clauses {
			clauses[i].Accounts = make([]string, 0, sizes[i])
		}
		for k, q := range gs {
			c := &clauses[clauseOf[k]]
			c.Accounts = append(c.Accounts, q.g.acct.ID)
			if q.g.subtree {
				c.Accounts = append(c.Accounts, d.e.subtreeIDs(q.g.acct)...)
			}
		}
		sortClauses(clauses)
		return clauses
	}
	if same {
		seen := make(map[*account]bool, 8)
		var names []string
		add := func(a *account) {
			if !seen[a] {
				seen[a] = true
				names = append(names, a.ID)
			}
		}
		for _, q := range gs {
			add(q.g.acct)
			if q.g.subtree {
				forSubtree(q.g.acct, add)
			}
		}
		return []AccountClause{{Accounts: names, Cond: gs[0].c}}
	}
	// Mixed conditions: keep, per account, the undominated ones. Most
	// accounts have one or two.
	type entry struct {
		a     *account
		conds []Cond
		inl   [2]Cond
	}
	index := map[*account]int{}
	var entries []entry
	add := func(a *account, c Cond) {
		i, seen := index[a]
		if !seen {
			i = len(entries)
			index[a] = i
			entries = append(entries, entry{a: a})
			entries[i].conds = entries[i].inl[:0]
		}
		e := &entries[i]
		for _, x := range e.conds {
			if x.covers(c) {
				return
			}
		}
		kept := e.conds[:0]
		for _, x := range e.conds {
			if !c.covers(x) {
				kept = append(kept, x)
			}
		}
		e.conds = append(kept, c)
	}
	for _, q := range gs {
		add(q.g.acct, q.c)
		if q.g.subtree {
			c := q.c
			forSubtree(q.g.acct, func(a *account) { add(a, c) })
		}
	}
	byCond := map[Cond][]string{}
	for i := range entries {
		for _, c := range entries[i].conds {
			byCond[c] = append(byCond[c], entries[i].a.ID)
		}
	}
	out := make([]AccountClause, 0, len(byCond))
	for c, accts := range byCond {
		out = append(out, AccountClause{Accounts: accts, Cond: c})
	}
	sortClauses(out)
	return out
}

// sortClauses orders clauses by condition: no cutoff first, then earlier
// cutoffs, unconditional before creator-only.
func sortClauses(cs []AccountClause) {
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Cutoff != b.Cutoff {
			return a.Cutoff < b.Cutoff
		}
		return !a.CreatorOnly && b.CreatorOnly
	})
}

// overlapping reports whether two of the items' accounts are the same or
// one is an ancestor of another (conservatively: whatever the grants'
// scope and the tree's chain breaks).
func overlapping[T any](items []T, acct func(T) *account) bool {
	set := make(map[*account]bool, len(items))
	for _, it := range items {
		a := acct(it)
		if set[a] {
			return true
		}
		set[a] = true
	}
	for _, it := range items {
		for x := acct(it).parent; x != nil; x = x.parent {
			if set[x] {
				return true
			}
		}
	}
	return false
}

// subtreeIDs returns the ids of the descendants a subtree grant on a
// reaches (see forSubtree), cached on the account until the tree changes.
// The caller must not modify the slice. Safe under the read lock: the
// cache is an atomic pointer.
func (e *Engine) subtreeIDs(a *account) []string {
	if c := a.subtree.Load(); c != nil && c.version == e.treeVersion {
		return c.ids
	}
	var ids []string
	forSubtree(a, func(x *account) { ids = append(ids, x.ID) })
	a.subtree.Store(&subtreeIDs{version: e.treeVersion, ids: ids})
	return ids
}

// forSubtree calls fn for every descendant of a that a subtree grant on a
// reaches: the walk does not enter an account with inherit false.
func forSubtree(a *account, fn func(*account)) {
	for _, c := range a.children {
		if !c.Inherit {
			continue
		}
		fn(c)
		forSubtree(c, fn)
	}
}

// Matches evaluates the predicate against one record in memory, following
// parents through src. It is the reference a storage backend's rendering
// must agree with.
func (p *Predicate) Matches(r *Record, src RecordSource) bool {
	if r.Type != p.Type {
		return false
	}
	if p.All {
		return true
	}
	day, _ := Day(r.Date)
	condOK := func(c Cond) bool {
		return (c.Cutoff == "" || day == "" || day >= c.Cutoff) && (!c.CreatorOnly || r.Creator == p.User)
	}
	for _, ac := range p.Accounts {
		if !condOK(ac.Cond) {
			continue
		}
		for _, a := range ac.Accounts {
			if r.Owner == a {
				return true
			}
			if p.Owned {
				continue
			}
			for _, te := range r.Teams {
				if te.Principal == "account:"+a && (!p.TeamWrite || te.Access == AccessReadWrite) {
					return true
				}
			}
		}
	}
	if p.TeamUser != nil && condOK(*p.TeamUser) {
		for _, te := range r.Teams {
			if te.Principal == "user:"+p.User && (!p.TeamWrite || te.Access == AccessReadWrite) {
				return true
			}
		}
	}
	if r.Parent != nil {
		for _, sc := range p.Shared {
			if sc.Parent.Type != r.Parent.Type || (sc.CreatorOnly && r.Creator != p.User) {
				continue
			}
			if pr := src.Record(*r.Parent); pr != nil && sc.Parent.Matches(pr, src) {
				return true
			}
		}
	}
	return false
}

// FilterableFields returns the restricted fields of typ the user may filter
// and sort on: those granted by every role context the user has for the
// type (DESIGN.md §2), so one customer's hidden field never leaks through
// another's filter. Staff may use every field.
func (e *Engine) FilterableFields(userID, typ string) policy.FieldSet {
	e.mu.RLock()
	defer e.mu.RUnlock()
	t := e.pol.Type(typ)
	u := e.users[userID]
	if t == nil || u == nil || u.Status != StatusActive {
		return 0
	}
	if u.Kind == KindInternal {
		return t.AllFields()
	}
	now := e.clock()
	fields, any := t.AllFields(), false
	for _, h := range u.all {
		g := h.g
		if g.active(u, now) && g.role.Perm(t).Actions.Has(policy.Read) {
			fields &= g.role.Perm(t).Fields
			any = true
		}
	}
	if !any {
		return 0
	}
	return fields
}

// Within returns a copy of the predicate restricted to paths through the
// given accounts: account clauses keep only those accounts, sharing
// clauses are restricted the same way at every level, and team user
// entries (records shared with the user personally) stay. The portal uses
// it to show what the user sees as one account of its account switcher.
func (p *Predicate) Within(accounts map[string]bool) *Predicate {
	if p.All {
		return p
	}
	out := *p
	out.Accounts = nil
	for _, ac := range p.Accounts {
		var keep []string
		for _, a := range ac.Accounts {
			if accounts[a] {
				keep = append(keep, a)
			}
		}
		if len(keep) > 0 {
			out.Accounts = append(out.Accounts, AccountClause{Accounts: keep, Cond: ac.Cond})
		}
	}
	out.Shared = nil
	for _, sc := range p.Shared {
		if pp := sc.Parent.Within(accounts); !pp.Empty() {
			out.Shared = append(out.Shared, SharedClause{Parent: pp, CreatorOnly: sc.CreatorOnly})
		}
	}
	return &out
}
