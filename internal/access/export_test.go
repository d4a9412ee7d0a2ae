package access

import "github.com/portcullis-dev/portcullis/internal/policy"

// BuildPredicate builds a predicate without the cache, for benchmarks of
// its construction.
func BuildPredicate(e *Engine, userID, typ string, action policy.Actions) *Predicate {
	e.mu.RLock()
	defer e.mu.RUnlock()
	d := e.newDecision(e.users[userID], nil)
	return d.predicate(e.pol.Type(typ), action, action.IsWrite(), e.pol.AllRoles(), 0)
}
