package access

// RequiresMFA reports whether the account id or one of its ancestors has
// RequireMFA set: users homed there must sign in with a second factor.
// The requirement flows down the whole subtree; an account with Inherit
// false still inherits it, since it protects sign-in, not access. An
// unknown account requires nothing.
func (e *Engine) RequiresMFA(id string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for a, steps := e.accounts[id], 0; a != nil && steps <= len(e.accounts); a, steps = a.parent, steps+1 {
		if a.RequireMFA {
			return true
		}
	}
	return false
}
