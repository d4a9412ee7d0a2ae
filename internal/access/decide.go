package access

import (
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/policy"
)

// MaxSharingHops is how many parent hops a sharing path may take.
const MaxSharingHops = 4

// Path kinds, as in DESIGN.md §2.
const (
	PathOwner       = "owner"
	PathTeamAccount = "team_account"
	PathTeamUser    = "team_user"
	PathSharing     = "sharing"
)

// path is one way a user reaches a record: a role context and an access.
type path struct {
	kind    string
	g       *grant // the grant behind an owner or team_account path (or its root for sharing)
	account string // the covered account (owner or team account), for sharing the root's
	role    *policy.CompiledRole
	rw      bool
	via     *Ref  // sharing: the parent followed
	inner   *path // sharing: the parent's path
}

// decision is the state of one question; it keeps per-call caches.
type decision struct {
	e   *Engine
	u   *user
	src RecordSource
	// now and today (now's UTC day number) are read from the clock once,
	// by newDecision or, for a lazy decision, at first use (clock): most
	// decisions need neither. Code that reads the fields directly uses a
	// decision of newDecision.
	now    time.Time
	today  int32
	nowSet bool
	// teamRole caches the highest-level role among u's active grants;
	// teamRoleDone says whether it was computed.
	teamRole     *policy.CompiledRole
	teamRoleDone bool
}

func (e *Engine) newDecision(u *user, src RecordSource) decision {
	now := e.clock()
	return decision{e: e, u: u, src: src, now: now, today: dayNumber(now), nowSet: true}
}

// lazyDecision is newDecision reading the clock only when the decision
// needs it (clock).
func (e *Engine) lazyDecision(u *user, src RecordSource) decision {
	return decision{e: e, u: u, src: src}
}

// clock returns the decision's now and today, reading the clock at the
// first call of a lazy decision.
func (d *decision) clock() (time.Time, int32) {
	if !d.nowSet {
		d.now = d.e.clock()
		d.today, d.nowSet = dayNumber(d.now), true
	}
	return d.now, d.today
}

// Allowed reports whether the user may do action (read, update or delete)
// on r. Records of an unknown type, unknown users and users that are not
// active are denied. Internal users are not subject to data rules: admins
// and access managers may do everything, auditors read.
func (e *Engine) Allowed(userID string, r *Record, action policy.Actions, src RecordSource) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	u := e.users[userID]
	if u == nil || !u.active {
		return false
	}
	if u.internal {
		return staffMay(u, action)
	}
	t := e.pol.Type(r.Type)
	if t == nil {
		return false
	}
	d := e.lazyDecision(u, src)
	return d.walk(r, t, func(p path) bool { return d.allows(&p, r, t, action) })
}

// Check answers Allowed and, when allowed, the restricted fields of r's
// type the user may see (for staff: all of them).
func (e *Engine) Check(userID string, r *Record, action policy.Actions, src RecordSource) (bool, []string) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	u := e.users[userID]
	t := e.pol.Type(r.Type)
	if u == nil || !u.active || t == nil {
		return false, nil
	}
	if u.internal {
		if !staffMay(u, action) {
			return false, nil
		}
		return true, t.FieldNames(t.AllFields())
	}
	d := e.lazyDecision(u, src)
	allowed := false
	var fields policy.FieldSet
	d.walk(r, t, func(p path) bool {
		if d.allows(&p, r, t, action) {
			allowed = true
		}
		if d.allows(&p, r, t, policy.Read) {
			fields |= p.role.Perm(t).Fields
		}
		return false
	})
	if !allowed {
		return false, nil
	}
	return true, t.FieldNames(fields)
}

// VisibleFields returns the restricted fields of r the user may see (the
// union over the role contexts of every path that allows read), and
// whether the user may read r at all.
func (e *Engine) VisibleFields(userID string, r *Record, src RecordSource) (policy.FieldSet, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.visibleFields(userID, r, src)
}

// visibleFields is VisibleFields under the caller's read lock.
func (e *Engine) visibleFields(userID string, r *Record, src RecordSource) (policy.FieldSet, bool) {
	u := e.users[userID]
	if u == nil {
		return 0, false
	}
	d := e.newDecision(u, src)
	return d.visibleFields(r)
}

// visibleFields is Engine.visibleFields for d's user, with d's caches.
func (d *decision) visibleFields(r *Record) (policy.FieldSet, bool) {
	u := d.u
	t := d.e.pol.Type(r.Type)
	if u.Status != StatusActive || t == nil {
		return 0, false
	}
	if u.Kind == KindInternal {
		return t.AllFields(), true
	}
	var fields policy.FieldSet
	readable := false
	d.walk(r, t, func(p path) bool {
		if d.allows(&p, r, t, policy.Read) {
			readable = true
			fields |= p.role.Perm(t).Fields
		}
		return readable && fields == t.AllFields()
	})
	return fields, readable
}

func staffMay(u *user, action policy.Actions) bool {
	return u.StaffRole == StaffAdmin || u.StaffRole == StaffAccessManager ||
		(u.StaffRole == StaffAuditor && action == policy.Read)
}

// allows reports whether path p lets the user do action on r: the role
// context grants the action on the type (scope own also needs the user to
// be the creator) and, for update and delete, the path is read_write.
func (d *decision) allows(p *path, r *Record, t *policy.Type, action policy.Actions) bool {
	perm := p.role.Perm(t)
	return perm.Actions.Has(action) && (!perm.Own || r.Creator == d.u.ID) && (!action.IsWrite() || p.rw)
}

// walk calls fn for every path from the user to r until fn returns true,
// and reports whether it did: the direct paths to r, then, up r's parent
// chain (at most MaxSharingHops hops, each allowed by a sharing rule), the
// direct paths to each ancestor whose role context reads every record on
// the way down. It is iterative so that callers' callbacks stay on the
// stack: the decision path allocates nothing.
func (d *decision) walk(r *Record, t *policy.Type, fn func(path) bool) bool {
	if d.direct(r, fn) {
		return true
	}
	var chain [MaxSharingHops + 1]*Record
	var types [MaxSharingHops + 1]*policy.Type
	var ruleRW [MaxSharingHops + 1]bool // the rule from chain[k] to chain[k-1]
	chain[0], types[0] = r, t
	for k := 1; k <= MaxSharingHops; k++ {
		child := chain[k-1]
		if child.Parent == nil {
			return false
		}
		sh, ok := sharedFrom(types[k-1], child.Parent.Type)
		if !ok {
			return false
		}
		pr := d.src.Record(*child.Parent)
		if pr == nil || pr.Type != child.Parent.Type {
			return false
		}
		chain[k], types[k], ruleRW[k] = pr, sh.From, sh.Access == AccessReadWrite
		if d.direct(pr, func(q path) bool {
			rw := q.rw
			for j := k; j >= 1; j-- {
				if !d.allows(&q, chain[j], types[j], policy.Read) {
					return false
				}
				rw = rw && ruleRW[j]
			}
			return fn(path{kind: PathSharing, g: q.g, account: q.account, role: q.role, rw: rw, via: r.Parent})
		}) {
			return true
		}
	}
	return false
}

// sharedFrom returns the sharing rule from parent type name to t.
func sharedFrom(t *policy.Type, parent string) (policy.Share, bool) {
	for _, sh := range t.SharedFrom {
		if sh.From.Name == parent {
			return sh, true
		}
	}
	return policy.Share{}, false
}

// direct calls fn for the owner, team account and team user paths to r.
func (d *decision) direct(r *Record, fn func(path) bool) bool {
	u := d.u
	if r.Owner != "" {
		if a := d.e.accounts[r.Owner]; a != nil {
			if d.covering(a, r, func(g *grant) bool {
				return fn(path{kind: PathOwner, g: g, account: a.ID, role: g.role, rw: g.readWrite})
			}) {
				return true
			}
		}
	}
	for _, te := range r.Teams {
		kind, id, _ := strings.Cut(te.Principal, ":")
		entryRW := te.Access == AccessReadWrite
		switch kind {
		case "account":
			a := d.e.accounts[id]
			if a == nil {
				continue
			}
			if d.covering(a, r, func(g *grant) bool {
				return fn(path{kind: PathTeamAccount, g: g, account: a.ID, role: g.role, rw: g.readWrite && entryRW})
			}) {
				return true
			}
		case "user":
			if id != u.ID {
				continue
			}
			if role := d.highestRole(); role != nil {
				if fn(path{kind: PathTeamUser, role: role, rw: entryRW}) {
					return true
				}
			}
		}
	}
	return false
}

// covering calls fn for every active grant of the user that covers account
// a and admits r's date (r nil: any date), until fn returns true. It walks from a up the
// tree: a grant on a itself always covers it, a grant on an ancestor only
// with scope subtree, and the walk stops after an account with inherit
// false.
//
// A user with few grants (the usual case) has them scanned per ancestor,
// comparing pointers; one with many uses its per-account index (see
// user.byAccount).
func (d *decision) covering(a *account, r *Record, fn func(*grant) bool) bool {
	var day int32
	dated, dayDone := false, false
	u := d.u
	if !u.active {
		return false
	}
	for x := a; x != nil; x = x.parent {
		list := u.all
		if u.byAccount != nil {
			list = u.byAccount[x]
		}
		// ext and the tree walk are x's, the scan compares accounts
		// without reading the grants; a matching grant's own fields are
		// its first cache line (see grant), its validity times are read
		// only when it has some.
		if x.ext {
			for _, h := range list {
				if h.acct != x {
					continue
				}
				g := h.g
				if x != a && !g.subtree {
					continue
				}
				if g.timed {
					if now, _ := d.clock(); !g.valid(now) {
						continue
					}
				}
				if g.daysBack >= 0 && r != nil {
					if !dayDone {
						day, dated = dayOf(r.Date)
						dayDone = true
					}
					if _, today := d.clock(); dated && day < today-int32(g.daysBack) {
						continue
					}
				}
				if fn(g) {
					return true
				}
			}
		}
		if !x.inherit {
			break
		}
	}
	return false
}

// smallGrantList is the number of grants up to which a linear scan of a
// user's grants beats its per-account map.
const smallGrantList = 8

// highestRole returns the highest-level role among the user's active grants
// (ties: the role listed first in the policy), the role context of a team
// user path, or nil.
func (d *decision) highestRole() *policy.CompiledRole {
	if d.teamRoleDone {
		return d.teamRole
	}
	d.teamRoleDone = true
	for _, h := range d.u.all {
		g := h.g
		if g.timed {
			d.clock()
		}
		if !g.active(d.u, d.now) {
			continue
		}
		if best := d.teamRole; best == nil || g.role.Level > best.Level ||
			(g.role.Level == best.Level && g.role.ID < best.ID) {
			d.teamRole = g.role
		}
	}
	return d.teamRole
}
