package access

import "strings"

// CheckInvitation decides whether actorID may invite the new user u (not
// yet in the engine) with the grants gs (their principal is u): staff
// admins and access managers may (CheckUser's staff rules and the
// protected-role rules apply); a customer administrator (manage_users)
// only under the delegation rules that bind CheckUser and CheckGrant: u is
// an external user homed within its reach, and every grant is on an
// account it administers with an assignable role at most its level there.
// Protected roles are never given by invitation from a customer
// administrator.
func (e *Engine) CheckInvitation(actorID string, u *User, gs []Grant) error {
	if err := e.CheckUser(actorID, nil, u); err != nil {
		return err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	a, err := e.actor(actorID)
	if err != nil {
		return err
	}
	d := e.newDecision(a, nil)
	for i := range gs {
		g := &gs[i]
		givesProtected, err := e.checkProtected(nil, g)
		if err != nil {
			return err
		}
		if a.Kind == KindInternal {
			continue
		}
		if id, _ := strings.CutPrefix(g.Principal, "user:"); id != u.ID {
			return FieldErrorf(CodeForbidden, "principal", "an invitation's grants are for the invited user")
		}
		if givesProtected {
			return FieldErrorf(CodeForbidden, "role", "role %s cannot be given by invitation", g.Role)
		}
		level := d.manageLevel(e.accounts[g.Account])
		if level < 0 {
			return FieldErrorf(CodeForbidden, "account", "account %s is outside your reach", g.Account)
		}
		r := e.pol.Role(g.Role)
		if r == nil || !r.Assignable {
			return FieldErrorf(CodeForbidden, "role", "role %s cannot be assigned by customer administrators", g.Role)
		}
		if r.Level > level {
			return FieldErrorf(CodeForbidden, "role", "role %s is above your own level on %s", g.Role, g.Account)
		}
	}
	return nil
}
