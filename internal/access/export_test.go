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

// FullClone is the reference for Clone: a copy of the engine that shares
// no object with it (its model's snapshot loaded into a new engine).
func FullClone(e *Engine) *Engine {
	e.mu.RLock()
	s := e.snapshot()
	e.mu.RUnlock()
	n, err := build(e.pol, e.clock, s)
	if err != nil {
		panic(err)
	}
	return n
}
