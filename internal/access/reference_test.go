package access_test

// A deliberately simple reference model of DESIGN.md §2, written straight
// from the text and independent of the engine's decision code. The property
// test (property_test.go) compares the engine against it on random worlds.
//
// Everything is recomputed from scratch for every question with plain slice
// scans: it is meant to be obviously correct, not fast. It uses the policy
// package only for what the policy package owns and tests itself: role and
// type lookup and the resolution of includes (CompiledRole.Perm). It never
// calls an engine decision function.

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// refWorld is the whole state the reference decides on.
type refWorld struct {
	pol      *policy.Policy
	now      time.Time
	accounts []access.Account
	users    []access.User
	groups   []refGroup
	grants   []access.Grant
	records  []*access.Record
}

type refGroup struct {
	ID      string
	Members []string
}

// refPath is one way a user reaches a record (DESIGN §2 "Paths").
type refPath struct {
	kind      string // owner, team_account, team_user, sharing
	grant     string // the grant behind it ("" for team_user; for sharing, the parent path's)
	role      *policy.CompiledRole
	readWrite bool
	via       *access.Ref
}

// ---- lookups ----

func (w *refWorld) account(id string) (access.Account, bool) {
	for _, a := range w.accounts {
		if a.ID == id {
			return a, true
		}
	}
	return access.Account{}, false
}

func (w *refWorld) user(id string) (access.User, bool) {
	for _, u := range w.users {
		if u.ID == id {
			return u, true
		}
	}
	return access.User{}, false
}

func (w *refWorld) record(ref access.Ref) *access.Record {
	for _, r := range w.records {
		if r.Type == ref.Type && r.ID == ref.ID {
			return r
		}
	}
	return nil
}

func (w *refWorld) isMember(groupID, userID string) bool {
	for _, g := range w.groups {
		if g.ID != groupID {
			continue
		}
		for _, m := range g.Members {
			if m == userID {
				return true
			}
		}
	}
	return false
}

// ---- grants ----

// grantsOf lists every grant of the user: direct, or through a group the
// user belongs to.
func (w *refWorld) grantsOf(userID string) []access.Grant {
	var out []access.Grant
	for _, g := range w.grants {
		if g.Principal == "user:"+userID {
			out = append(out, g)
		}
		if gid, ok := strings.CutPrefix(g.Principal, "group:"); ok && w.isMember(gid, userID) {
			out = append(out, g)
		}
	}
	return out
}

// grantActive: the principal's user (for a group: the member) is active, the
// granted account's external access is on, valid_from <= now < valid_until.
func (w *refWorld) grantActive(g access.Grant, userID string) bool {
	u, ok := w.user(userID)
	if !ok || u.Status != access.StatusActive {
		return false
	}
	a, ok := w.account(g.Account)
	if !ok || !a.ExternalAccess {
		return false
	}
	if g.ValidFrom != nil && w.now.Before(*g.ValidFrom) {
		return false
	}
	if g.ValidUntil != nil && !w.now.Before(*g.ValidUntil) {
		return false
	}
	return true
}

func (w *refWorld) activeGrantsOf(userID string) []access.Grant {
	var out []access.Grant
	for _, g := range w.grantsOf(userID) {
		if w.grantActive(g, userID) {
			out = append(out, g)
		}
	}
	return out
}

// covers: a grant on X covers X; with scope subtree it also covers every
// descendant D of X such that no account from D (inclusive) up to X
// (exclusive) has inherit=false.
func (w *refWorld) covers(g access.Grant, acct string) bool {
	if _, ok := w.account(acct); !ok {
		return false
	}
	if acct == g.Account {
		return true
	}
	if g.Scope == access.ScopeAccount {
		return false
	}
	cur := acct
	for steps := 0; steps <= len(w.accounts); steps++ {
		a, ok := w.account(cur)
		if !ok || !a.Inherit || a.Parent == "" {
			return false
		}
		if a.Parent == g.Account {
			return true
		}
		cur = a.Parent
	}
	return false // a cycle: cannot happen in a valid world
}

// refUTCDay returns the UTC calendar day of a record date as midnight UTC.
func refUTCDay(date string) (time.Time, bool) {
	if d, err := time.Parse("2006-01-02", date); err == nil {
		return d, true
	}
	t, err := time.Parse(time.RFC3339, date)
	if err != nil {
		return time.Time{}, false
	}
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
}

// withinDaysBack: the record's UTC day is on or after today(UTC) - days_back;
// an undated record (or a grant without days_back) passes.
func (w *refWorld) withinDaysBack(g access.Grant, r *access.Record) bool {
	if g.DaysBack == nil || r.Date == "" {
		return true
	}
	day, ok := refUTCDay(r.Date)
	if !ok {
		return false
	}
	n := w.now.UTC()
	cutoff := time.Date(n.Year(), n.Month(), n.Day()-*g.DaysBack, 0, 0, 0, 0, time.UTC)
	return !day.Before(cutoff)
}

// highestRole is the highest-level role among the user's active grants; on
// a tie, the role listed first in the policy. nil when there is none.
func (w *refWorld) highestRole(userID string) *policy.CompiledRole {
	var best *policy.CompiledRole
	bestPos := -1
	for _, g := range w.activeGrantsOf(userID) {
		r := w.pol.Role(g.Role)
		if r == nil {
			continue
		}
		pos := w.rolePos(r.Name)
		if best == nil || r.Level > best.Level || (r.Level == best.Level && pos < bestPos) {
			best, bestPos = r, pos
		}
	}
	return best
}

func (w *refWorld) rolePos(name string) int {
	for i, r := range w.pol.Document().Roles {
		if r.Name == name {
			return i
		}
	}
	return -1
}

// ---- paths and permission ----

// paths lists every path by which the user reaches r. hops is how many
// parent hops were already taken to get to r: a sharing path is possible
// only while hops < access.MaxSharingHops (4).
func (w *refWorld) paths(userID string, r *access.Record, hops int) []refPath {
	var out []refPath
	active := w.activeGrantsOf(userID)
	// 1. owner
	if r.Owner != "" {
		for _, g := range active {
			if w.covers(g, r.Owner) && w.withinDaysBack(g, r) {
				out = append(out, refPath{kind: access.PathOwner, grant: g.ID, role: w.pol.Role(g.Role),
					readWrite: g.Access == access.AccessReadWrite})
			}
		}
	}
	for _, e := range r.Teams {
		entryRW := e.Access == access.AccessReadWrite
		// 2. team account
		if acct, ok := strings.CutPrefix(e.Principal, "account:"); ok {
			for _, g := range active {
				if w.covers(g, acct) && w.withinDaysBack(g, r) {
					out = append(out, refPath{kind: access.PathTeamAccount, grant: g.ID, role: w.pol.Role(g.Role),
						readWrite: g.Access == access.AccessReadWrite && entryRW})
				}
			}
		}
		// 3. team user
		if e.Principal == "user:"+userID {
			if best := w.highestRole(userID); best != nil {
				out = append(out, refPath{kind: access.PathTeamUser, role: best, readWrite: entryRW})
			}
		}
	}
	// 4. sharing
	if r.Parent != nil && hops < access.MaxSharingHops {
		if p := w.record(*r.Parent); p != nil {
			for _, rule := range w.pol.Document().SharingRules {
				if rule.From != p.Type || rule.To != r.Type {
					continue
				}
				for _, pp := range w.paths(userID, p, hops+1) {
					if !w.pathAllows(pp, userID, p, policy.Read) {
						continue
					}
					via := access.Ref{Type: p.Type, ID: p.ID}
					out = append(out, refPath{kind: access.PathSharing, grant: pp.grant, role: pp.role,
						readWrite: pp.readWrite && rule.Access == policy.AccessReadWrite, via: &via})
				}
			}
		}
	}
	return out
}

// pathAllows: the path's role context (with everything it includes) grants
// the action on r's type, scope own also needs r.creator == user, and update
// and delete need read_write access.
func (w *refWorld) pathAllows(p refPath, userID string, r *access.Record, action policy.Actions) bool {
	t := w.pol.Type(r.Type)
	if t == nil || p.role == nil {
		return false
	}
	perm := p.role.Perm(t)
	if !perm.Actions.Has(action) {
		return false
	}
	if perm.Own && r.Creator != userID {
		return false
	}
	if (action == policy.Update || action == policy.Delete) && !p.readWrite {
		return false
	}
	return true
}

// decide answers whether the user may do action on r and, when it may, the
// restricted fields of r's type it sees (sorted names).
func (w *refWorld) decide(userID string, r *access.Record, action policy.Actions) (bool, []string) {
	u, ok := w.user(userID)
	if !ok || u.Status != access.StatusActive {
		return false, nil
	}
	t := w.pol.Type(r.Type)
	if t == nil {
		return false, nil
	}
	if u.Kind == access.KindInternal {
		allowed := false
		switch u.StaffRole {
		case access.StaffAdmin, access.StaffAccessManager:
			allowed = true
		case access.StaffAuditor:
			allowed = action == policy.Read
		}
		if !allowed {
			return false, nil
		}
		var all []string
		for _, f := range t.Restricted {
			all = append(all, f.Path)
		}
		sort.Strings(all)
		return true, all
	}
	ps := w.paths(userID, r, 0)
	allowed := false
	for _, p := range ps {
		if w.pathAllows(p, userID, r, action) {
			allowed = true
		}
	}
	if !allowed {
		return false, nil
	}
	return true, w.visibleFields(userID, r, ps)
}

// visibleFields: a restricted field is visible when the role context of
// some path that allows read grants it.
func (w *refWorld) visibleFields(userID string, r *access.Record, ps []refPath) []string {
	t := w.pol.Type(r.Type)
	seen := map[string]bool{}
	for _, p := range ps {
		if !w.pathAllows(p, userID, r, policy.Read) {
			continue
		}
		fs := p.role.Perm(t).Fields
		for i, f := range t.Restricted {
			if fs.Has(i) {
				seen[f.Path] = true
			}
		}
	}
	var out []string
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// readers lists the active external users who can read r, sorted.
func (w *refWorld) readers(r *access.Record) []string {
	var out []string
	for _, u := range w.users {
		if u.Kind != access.KindExternal || u.Status != access.StatusActive {
			continue
		}
		if ok, _ := w.decide(u.ID, r, policy.Read); ok {
			out = append(out, u.ID)
		}
	}
	sort.Strings(out)
	return out
}

// ---- mutations, mirrored on the engine by the property test ----

func (w *refWorld) putAccount(a access.Account) {
	for i := range w.accounts {
		if w.accounts[i].ID == a.ID {
			w.accounts[i] = a
			return
		}
	}
	w.accounts = append(w.accounts, a)
}

func (w *refWorld) putUser(u access.User) {
	for i := range w.users {
		if w.users[i].ID == u.ID {
			w.users[i] = u
			return
		}
	}
	w.users = append(w.users, u)
}

func (w *refWorld) putGrant(g access.Grant) {
	for i := range w.grants {
		if w.grants[i].ID == g.ID {
			w.grants[i] = g
			return
		}
	}
	w.grants = append(w.grants, g)
}

func (w *refWorld) deleteGrant(id string) {
	for i := range w.grants {
		if w.grants[i].ID == id {
			w.grants = append(w.grants[:i:i], w.grants[i+1:]...)
			return
		}
	}
}

func (w *refWorld) addMember(groupID, userID string) {
	if w.isMember(groupID, userID) {
		return
	}
	for i := range w.groups {
		if w.groups[i].ID == groupID {
			w.groups[i].Members = append(w.groups[i].Members[:len(w.groups[i].Members):len(w.groups[i].Members)], userID)
		}
	}
}

func (w *refWorld) removeMember(groupID, userID string) {
	for i := range w.groups {
		if w.groups[i].ID != groupID {
			continue
		}
		var keep []string
		for _, m := range w.groups[i].Members {
			if m != userID {
				keep = append(keep, m)
			}
		}
		w.groups[i].Members = keep
	}
}

// inSubtree reports whether acct is root or one of its descendants
// (ignoring inherit: this is the plain tree).
func (w *refWorld) inSubtree(acct, root string) bool {
	cur := acct
	for steps := 0; steps <= len(w.accounts) && cur != ""; steps++ {
		if cur == root {
			return true
		}
		a, ok := w.account(cur)
		if !ok {
			return false
		}
		cur = a.Parent
	}
	return false
}

// clone deep-copies the mutable parts of the world (records are shared).
func (w *refWorld) clone() *refWorld {
	c := *w
	c.accounts = append([]access.Account(nil), w.accounts...)
	c.users = append([]access.User(nil), w.users...)
	c.grants = append([]access.Grant(nil), w.grants...)
	c.groups = nil
	for _, g := range w.groups {
		c.groups = append(c.groups, refGroup{ID: g.ID, Members: append([]string(nil), g.Members...)})
	}
	return &c
}

// ---- description, for failure messages ----

func (w *refWorld) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "now: %s (UTC %s)\n", w.now.Format(time.RFC3339), w.now.UTC().Format(time.RFC3339))
	b.WriteString("accounts:\n")
	for _, a := range w.accounts {
		parent := a.Parent
		if parent == "" {
			parent = "-"
		}
		fmt.Fprintf(&b, "  %s parent=%s external_access=%v inherit=%v\n", a.ID, parent, a.ExternalAccess, a.Inherit)
	}
	b.WriteString("users:\n")
	for _, u := range w.users {
		if u.Kind == access.KindInternal {
			fmt.Fprintf(&b, "  %s internal staff_role=%s status=%s\n", u.ID, u.StaffRole, u.Status)
		} else {
			fmt.Fprintf(&b, "  %s external home=%s status=%s\n", u.ID, u.HomeAccount, u.Status)
		}
	}
	if len(w.groups) > 0 {
		b.WriteString("groups:\n")
		for _, g := range w.groups {
			fmt.Fprintf(&b, "  %s members=%v\n", g.ID, g.Members)
		}
	}
	b.WriteString("grants:\n")
	for _, g := range w.grants {
		fmt.Fprintf(&b, "  %s\n", refGrantString(g))
	}
	b.WriteString("records:\n")
	for _, r := range w.records {
		fmt.Fprintf(&b, "  %s\n", refRecordString(r))
	}
	return b.String()
}

func refGrantString(g access.Grant) string {
	s := fmt.Sprintf("%s: %s -> %s role=%s scope=%s access=%s", g.ID, g.Principal, g.Account, g.Role, g.Scope, g.Access)
	if g.DaysBack != nil {
		s += fmt.Sprintf(" days_back=%d", *g.DaysBack)
	}
	if g.ValidFrom != nil {
		s += " valid_from=" + g.ValidFrom.Format(time.RFC3339)
	}
	if g.ValidUntil != nil {
		s += " valid_until=" + g.ValidUntil.Format(time.RFC3339)
	}
	return s
}

func refRecordString(r *access.Record) string {
	s := fmt.Sprintf("%s/%s owner=%q", r.Type, r.ID, r.Owner)
	if r.Date != "" {
		s += " date=" + r.Date
	}
	if r.Creator != "" {
		s += " creator=" + r.Creator
	}
	if r.Parent != nil {
		s += fmt.Sprintf(" parent=%s/%s", r.Parent.Type, r.Parent.ID)
	}
	for _, e := range r.Teams {
		s += fmt.Sprintf(" team[%s %s]", e.Principal, e.Access)
	}
	return s
}

func (p refPath) String() string {
	s := fmt.Sprintf("%s(grant=%s role=%s rw=%v", p.kind, p.grant, p.role.Name, p.readWrite)
	if p.via != nil {
		s += fmt.Sprintf(" via=%s/%s", p.via.Type, p.via.ID)
	}
	return s + ")"
}
