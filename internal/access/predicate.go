package access

import (
	"sort"

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
// All lists are sorted so equal predicates compare equal.
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
	t := e.pol.Type(typ)
	if t == nil {
		return nil, Errorf(CodeNotFound, "unknown object type %s", typ)
	}
	u := e.users[userID]
	if u == nil || u.Status != StatusActive {
		return &Predicate{Type: typ, User: userID}, nil
	}
	if u.Kind == KindInternal {
		return &Predicate{Type: typ, User: userID, All: staffMay(u, action)}, nil
	}
	d := e.newDecision(u, nil)
	return d.predicate(t, action, action.IsWrite(), e.pol.AllRoles(), 0), nil
}

// predicate builds the clauses for type t: paths whose role is in roles
// and grants action on t; needWrite keeps read_write paths only.
func (d *decision) predicate(t *policy.Type, action policy.Actions, needWrite bool, roles policy.RoleSet, hops int) *Predicate {
	p := &Predicate{Type: t.Name, User: d.u.ID, TeamWrite: needWrite}
	ok := func(r *policy.CompiledRole) bool { return roles.Has(r.ID) && r.Perm(t).Actions.Has(action) }

	// conds holds, per covered account, the undominated conditions.
	conds := map[string][]Cond{}
	add := func(acct string, c Cond) {
		list := conds[acct]
		for _, x := range list {
			if x.covers(c) {
				return
			}
		}
		kept := list[:0]
		for _, x := range list {
			if !c.covers(x) {
				kept = append(kept, x)
			}
		}
		conds[acct] = append(kept, c)
	}
	for _, list := range d.u.byAccount {
		for _, g := range list {
			if !g.active(d.u, d.now) || (needWrite && !g.readWrite) || !ok(g.role) {
				continue
			}
			c := Cond{Cutoff: g.cutoff(d.today), CreatorOnly: g.role.Perm(t).Own}
			add(g.acct.ID, c)
			if g.subtree {
				forSubtree(g.acct, func(a *account) { add(a.ID, c) })
			}
		}
	}
	byCond := map[Cond][]string{}
	for acct, list := range conds {
		for _, c := range list {
			byCond[c] = append(byCond[c], acct)
		}
	}
	for c, accts := range byCond {
		sort.Strings(accts)
		p.Accounts = append(p.Accounts, AccountClause{Accounts: accts, Cond: c})
	}
	sort.Slice(p.Accounts, func(i, j int) bool {
		a, b := p.Accounts[i], p.Accounts[j]
		if a.Cutoff != b.Cutoff {
			return a.Cutoff < b.Cutoff
		}
		return !a.CreatorOnly && b.CreatorOnly
	})

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
	for _, list := range u.byAccount {
		for _, g := range list {
			if g.active(u, now) && g.role.Perm(t).Actions.Has(policy.Read) {
				fields &= g.role.Perm(t).Fields
				any = true
			}
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
