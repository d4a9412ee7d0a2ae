package access

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/policy"
)

// This file holds the write rules: who may create records and write which
// fields, user constraints, delegated administration of users and grants,
// and the protected-role (Owner) rules.

// CanCreate reports, with a CodeForbidden error, whether the user may create
// a record of type typ under account acct: an active read_write grant
// covering acct has a role granting create on the type. It returns what
// the user may write on such a record (records.md §1): for staff
// everything, for an external user the writable and restricted fields of
// the roles of those grants.
func (e *Engine) CanCreate(userID, typ, acct string) (Writer, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	u := e.users[userID]
	t := e.pol.Type(typ)
	if t == nil {
		return Writer{}, Errorf(CodeNotFound, "unknown object type %s", typ)
	}
	if u == nil || u.Status != StatusActive {
		return Writer{}, Errorf(CodeForbidden, "user %s may not create records", userID)
	}
	if u.Kind == KindInternal {
		if !staffMay(u, policy.Create) {
			return Writer{}, Errorf(CodeForbidden, "staff role %s is read-only", u.StaffRole)
		}
		return Writer{All: true, Paths: t.AllWritable(), Fields: t.AllFields()}, nil
	}
	a := e.accounts[acct]
	if a == nil {
		return Writer{}, Errorf(CodeForbidden, "you may not create %s records under account %s", typ, acct)
	}
	d := e.newDecision(u, nil)
	var w Writer
	ok := false
	d.covering(a, nil, func(g *grant) bool {
		if p := g.role.Perm(t); g.readWrite && p.Actions.Has(policy.Create) {
			ok = true
			w.Fields |= p.Fields
			w.Paths |= p.Writable
		}
		return false
	})
	if !ok {
		return Writer{}, Errorf(CodeForbidden, "you may not create %s records under account %s", typ, acct)
	}
	return w, nil
}

// CreateAccounts lists the accounts under which the user may create records
// of type typ, sorted: what a "new ticket" form offers.
func (e *Engine) CreateAccounts(userID, typ string) []string {
	e.mu.RLock()
	u, t := e.users[userID], e.pol.Type(typ)
	if u == nil || t == nil || u.Kind != KindExternal || u.Status != StatusActive {
		e.mu.RUnlock()
		return nil
	}
	d := e.newDecision(u, nil)
	p := d.predicate(t, policy.Create, true, e.pol.AllRoles(), MaxSharingHops)
	e.mu.RUnlock()
	var out []string
	seen := map[string]bool{}
	for _, ac := range p.Accounts {
		for _, a := range ac.Accounts {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

// WritableFields returns what the user may write on r on update (the
// writable and restricted fields of the roles of every path that allows
// update; everything for staff), and whether any path allows update at
// all.
func (e *Engine) WritableFields(userID string, r *Record, src RecordSource) (Writer, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	u := e.users[userID]
	t := e.pol.Type(r.Type)
	if u == nil || u.Status != StatusActive || t == nil {
		return Writer{}, false
	}
	if u.Kind == KindInternal {
		return Writer{All: true, Paths: t.AllWritable(), Fields: t.AllFields()}, staffMay(u, policy.Update)
	}
	d := e.newDecision(u, src)
	var w Writer
	ok := false
	d.walk(r, t, func(p path) bool {
		if d.allows(&p, r, t, policy.Update) {
			ok = true
			w.Fields |= p.role.Perm(t).Fields
			w.Paths |= p.role.Perm(t).Writable
		}
		return false
	})
	return w, ok
}

// CheckFieldWrites rejects, with CodeInvalidField, attributes that set a
// restricted field of t outside writable.
func CheckFieldWrites(t *policy.Type, writable policy.FieldSet, attrs map[string]any) error {
	for i, f := range t.Restricted {
		if !writable.Has(i) && f.Present(attrs) {
			return FieldErrorf(CodeInvalidField, f.Segments[0].Name, "field %s cannot be written", f.Path)
		}
	}
	return nil
}

// CheckPatchWrites is CheckFieldWrites for a merge patch onto a stored
// record: besides setting a restricted field outside writable, a patch may
// not replace an attribute that holds such a field deeper down (replacing
// "lines" would wipe the hidden "lines[].price"), so hidden values survive
// every write of a user who cannot see them.
func CheckPatchWrites(t *policy.Type, writable policy.FieldSet, patch map[string]any) error {
	if err := CheckFieldWrites(t, writable, patch); err != nil {
		return err
	}
	for i, f := range t.Restricted {
		if top := f.Segments[0].Name; !writable.Has(i) && len(f.Segments) > 1 {
			if _, ok := patch[top]; ok {
				return FieldErrorf(CodeInvalidField, top, "field %s cannot be written", top)
			}
		}
	}
	return nil
}

// CheckConstraints checks the attributes a write sets against the user's
// constraints for the type: every constrained attribute must hold one of
// the allowed values, else CodeConstraintViolation naming the attribute.
// Numbers and booleans are compared in their JSON text form; null (a
// deletion) is not checked.
func CheckConstraints(u User, typ string, set map[string]any) error {
	for attr, allowed := range u.Constraints[typ] {
		v, ok := set[attr]
		if !ok || v == nil {
			continue
		}
		s, ok := scalarString(v)
		if ok {
			for _, a := range allowed {
				if a == s {
					ok = true
					goto next
				}
			}
		}
		return FieldErrorf(CodeConstraintViolation, attr, "attribute %s may only be one of: %s", attr, strings.Join(allowed, ", "))
	next:
	}
	return nil
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool, float64, int, int64:
		return fmt.Sprint(x), true
	}
	return "", false
}

// manageLevel returns the user's delegated administration level at account
// a: the highest level among its active read_write grants covering a whose
// role has manage_users (DESIGN.md §5.6), or -1.
func (d *decision) manageLevel(a *account) int {
	level := -1
	if a == nil {
		return level
	}
	d.covering(a, nil, func(g *grant) bool {
		if g.readWrite && g.role.ManageUsers && g.role.Level > level {
			level = g.role.Level
		}
		return false
	})
	return level
}

// ManageLevel is manageLevel for callers outside the engine (the portal's
// "Company users" page); -1 means the user may not administer account.
func (e *Engine) ManageLevel(userID, acct string) int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	u := e.users[userID]
	if u == nil || u.Status != StatusActive || u.Kind != KindExternal {
		return -1
	}
	d := e.newDecision(u, nil)
	return d.manageLevel(e.accounts[acct])
}

// actor resolves who asks for an administrative change.
func (e *Engine) actor(id string) (*user, error) {
	u := e.users[id]
	if u == nil || u.Status != StatusActive {
		return nil, Errorf(CodeForbidden, "user %s may not administer access", id)
	}
	if u.Kind == KindInternal && u.StaffRole == StaffAuditor {
		return nil, Errorf(CodeForbidden, "auditors have read-only access")
	}
	return u, nil
}

// CheckGrant decides whether actorID may create (old nil), change, or
// delete (next nil) a grant. It enforces the protected-role rules for
// everyone, staff included (CodeProtected, or CodeInvalid for a protected
// grant that is not created whole), and for external actors the delegation
// rules of DESIGN.md §2 and §5.6 (CodeForbidden). Existence of principal,
// account and role is PutGrant's check.
func (e *Engine) CheckGrant(actorID string, old, next *Grant) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	a, err := e.actor(actorID)
	if err != nil {
		return err
	}
	d := e.newDecision(a, nil)
	givesProtected, err := e.checkProtected(old, next)
	if err != nil {
		return err
	}
	if givesProtected && a.Kind == KindExternal && !d.holdsDirect(e.pol.Role(next.Role), next.Account) {
		r := e.pol.Role(next.Role)
		return FieldErrorf(CodeForbidden, "role", "only staff or a holder of %s on %s may give the role %s", r.Name, next.Account, r.Name)
	}
	if a.Kind == KindInternal {
		return nil
	}
	if old != nil {
		if err := d.inReach(old, false); err != nil {
			return err
		}
		if next != nil && old.Principal == "user:"+a.ID {
			return FieldErrorf(CodeForbidden, "principal", "you cannot change your own access")
		}
	}
	if next != nil {
		if next.Principal == "user:"+a.ID {
			return FieldErrorf(CodeForbidden, "principal", "you cannot change your own access")
		}
		if err := d.inReach(next, givesProtected); err != nil {
			return err
		}
	}
	return nil
}

// CheckProtected enforces the protected-role rules alone, which bind
// everyone (CheckGrant applies them too): the change a system actor (the
// command line, first-run setup) makes with the trust of the database.
func (e *Engine) CheckProtected(old, next *Grant) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	_, err := e.checkProtected(old, next)
	return err
}

// checkProtected applies the protected-role rules to a grant change and
// reports whether it gives a protected role. e.mu must be held.
func (e *Engine) checkProtected(old, next *Grant) (givesProtected bool, err error) {
	if old != nil {
		if r := e.pol.Role(old.Role); r != nil && r.Protected {
			if next == nil {
				return false, Errorf(CodeProtected, "grant %s has the protected role %s and can never be removed", old.ID, old.Role)
			}
			if next.Principal != old.Principal || next.Account != old.Account || next.Role != old.Role ||
				next.Scope != old.Scope || next.Access != old.Access || !sameInt(next.DaysBack, old.DaysBack) ||
				!sameTime(next.ValidFrom, old.ValidFrom) || !sameTime(next.ValidUntil, old.ValidUntil) {
				return false, FieldErrorf(CodeProtected, "role", "grant %s has the protected role %s: only its notes may change", old.ID, old.Role)
			}
		}
	}
	if next == nil {
		return false, nil
	}
	r := e.pol.Role(next.Role)
	if r == nil {
		return false, FieldErrorf(CodeInvalid, "role", "role %s is not in the policy", next.Role)
	}
	if r.Protected && (old == nil || old.Role != next.Role) {
		if !strings.HasPrefix(next.Principal, "user:") || next.Scope == ScopeAccount || next.Access == AccessRead ||
			next.DaysBack != nil || next.ValidUntil != nil {
			return false, FieldErrorf(CodeInvalid, "role", "a grant of the protected role %s is created whole: a user principal, scope subtree, access read_write, no days_back and no valid_until", r.Name)
		}
		return true, nil
	}
	return false, nil
}

// inReach checks a grant against an external admin's reach: a user
// principal whose home account it administers, an account it administers,
// and a role that is assignable with a level at most its own there
// (protected roles are checked by the caller: skipRole).
func (d *decision) inReach(g *Grant, skipRole bool) error {
	kind, id, _ := strings.Cut(g.Principal, ":")
	if kind != "user" {
		return FieldErrorf(CodeForbidden, "principal", "group grants are for staff only")
	}
	p := d.e.users[id]
	if p == nil || p.Kind != KindExternal || d.manageLevel(d.e.accounts[p.HomeAccount]) < 0 {
		return FieldErrorf(CodeForbidden, "principal", "user %s is outside your reach", id)
	}
	level := d.manageLevel(d.e.accounts[g.Account])
	if level < 0 {
		return FieldErrorf(CodeForbidden, "account", "account %s is outside your reach", g.Account)
	}
	if skipRole {
		return nil
	}
	r := d.e.pol.Role(g.Role)
	if r == nil || !r.Protected && !r.Assignable {
		return FieldErrorf(CodeForbidden, "role", "role %s cannot be assigned by customer administrators", g.Role)
	}
	if r.Level > level {
		return FieldErrorf(CodeForbidden, "role", "role %s is above your own level on %s", g.Role, g.Account)
	}
	return nil
}

// holdsDirect reports whether the user holds, directly (not through a
// group), an active grant with role r on exactly account acct.
func (d *decision) holdsDirect(r *policy.CompiledRole, acct string) bool {
	for _, g := range d.u.direct {
		if g.role == r && g.Account == acct && g.active(d.u, d.now) {
			return true
		}
	}
	return false
}

// CheckUser decides whether actorID may create (old nil), change, or delete
// (next nil) a user. Staff admins may do anything; access managers may not
// create or change admins or change a staff role; auditors nothing.
// External admins (manage_users) may administer external users whose home
// account lies within their reach, never changing an email or constraints
// (nor setting constraints on a new user), and change a user's status or delete it
// only when every grant of that user, direct or through a group, lies
// within their reach at a level at most their own. Nobody may delete a user holding a protected grant
// (CodeProtected).
func (e *Engine) CheckUser(actorID string, old, next *User) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	a, err := e.actor(actorID)
	if err != nil {
		return err
	}
	if err := e.checkUserProtected(old, next); err != nil {
		return err
	}
	if a.Kind == KindInternal {
		if a.StaffRole == StaffAdmin {
			return nil
		}
		if a.StaffRole != StaffAccessManager {
			return Errorf(CodeForbidden, "staff role %s may not administer users", a.StaffRole)
		}
		if (next != nil && next.StaffRole == StaffAdmin) || (old != nil && old.StaffRole == StaffAdmin) {
			return FieldErrorf(CodeForbidden, "staff_role", "access managers cannot create or change admins")
		}
		if old != nil && next != nil && old.StaffRole != next.StaffRole {
			return FieldErrorf(CodeForbidden, "staff_role", "access managers cannot change a staff role")
		}
		return nil
	}
	d := e.newDecision(a, nil)
	for _, x := range []*User{old, next} {
		if x == nil {
			continue
		}
		if x.Kind != KindExternal || x.StaffRole != "" {
			return Errorf(CodeForbidden, "customer administrators manage external users only")
		}
		if d.manageLevel(e.accounts[x.HomeAccount]) < 0 {
			return FieldErrorf(CodeForbidden, "home_account", "user %s is outside your reach", x.ID)
		}
	}
	// identity.md §3: the email is the login and constraints limit what
	// the supplier accepts, so a customer administrator sets neither, not
	// even its own (a user changes its own email with its current
	// password: app.PutUser).
	if old != nil && next != nil && old.Email != next.Email {
		return FieldErrorf(CodeForbidden, "email", "customer administrators cannot change a user's email")
	}
	if next != nil && !sameConstraints(old, next) {
		return FieldErrorf(CodeForbidden, "constraints", "constraints are set by the supplier's staff only")
	}
	if old != nil && (next == nil || next.Status != old.Status) {
		if old.ID == a.ID {
			return FieldErrorf(CodeForbidden, "status", "you cannot change your own status")
		}
		if u := e.users[old.ID]; u != nil {
			for _, h := range u.all {
				g := h.g
				if lvl := d.manageLevel(g.acct); lvl < 0 || g.role.Level > lvl {
					return FieldErrorf(CodeForbidden, "status", "user %s has grant %s outside your reach", old.ID, g.ID)
				}
			}
		}
	}
	return nil
}

// CheckUserProtected enforces the rule on users that binds everyone
// (CheckUser applies it too): nobody deletes a user holding a protected
// grant. It is what a system actor's user change is checked with.
func (e *Engine) CheckUserProtected(old, next *User) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.checkUserProtected(old, next)
}

func (e *Engine) checkUserProtected(old, next *User) error {
	if old != nil && next == nil {
		if u := e.users[old.ID]; u != nil {
			for _, g := range u.direct {
				if g.role.Protected {
					return Errorf(CodeProtected, "user %s holds the protected grant %s and cannot be deleted", old.ID, g.ID)
				}
			}
		}
	}
	return nil
}

// sameConstraints reports whether next keeps old's constraints (none for a
// new user); nil and empty are the same.
func sameConstraints(old, next *User) bool {
	var was map[string]map[string][]string
	if old != nil {
		was = old.Constraints
	}
	if len(was) == 0 && len(next.Constraints) == 0 {
		return true
	}
	return reflect.DeepEqual(was, next.Constraints)
}

func sameInt(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func sameTime(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
