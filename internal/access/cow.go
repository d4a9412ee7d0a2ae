package access

import (
	"maps"
	"slices"
	"sync/atomic"
)

// This file is the copy on write behind Clone. A clone starts with copies
// of the engine's four id maps and shares every object with its original.
// Users and groups carry the generation of the engine that may change
// them in place; Clone gives the original a new generation too, so that
// either side copies a user or group (ownUser, ownGroup) before changing
// it and the other keeps the old one. The grants on an account are copied
// into the engine's acctGrants the same way (ownGrantsOn). Grants are
// never changed in place (PutGrant makes a new one) except their role by
// SetPolicy, and accounts not at all while shared: a policy or account
// change on an engine that shares objects (a clone, or an original with
// live clones) first rebuilds its whole model from its own maps (detach),
// the cost of the former full Clone.
//
// A grant's user and group, a group's members and a user's groups may
// therefore point to older copies: code reads them for their ids and
// resolves the objects through the engine's maps.

var generations atomic.Uint64

func newGen() uint64 { return generations.Add(1) }

// shareToken counts the live (not released) clones of one family of
// engines that share objects.
type shareToken struct{ n atomic.Int64 }

// grantSet is an account's grants as one engine sees them.
type grantSet struct {
	gen uint64
	m   map[string]*grant
}

// Clone returns an independent copy of the engine's model, with the same
// policy and clock and a cache of its own: mutations of one never show in
// the other. The copy shares the engine's objects until either side
// changes them; call Release when done with it, so that the original
// changes its accounts in place again.
func (e *Engine) Clone() (*Engine, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := &Engine{clock: e.clock, pol: e.pol, preds: newPredicateCache(),
		version: e.version, treeVersion: e.treeVersion,
		accounts: maps.Clone(e.accounts), users: maps.Clone(e.users),
		groups: maps.Clone(e.groups), grants: maps.Clone(e.grants),
		acctGrants: maps.Clone(e.acctGrants),
		gen:        newGen(), share: e.share, clone: true}
	e.share.n.Add(1)
	e.gen = newGen()
	return n, nil
}

// Release tells a clone's family that the clone is no longer used; it
// must not be used afterwards. It is a no-op on an engine that is not a
// clone and on a second call.
func (e *Engine) Release() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.clone && !e.released {
		e.released = true
		e.share.n.Add(-1)
	}
}

// shared reports, under the caller's lock, whether other engines may hold
// this engine's accounts and grants.
func (e *Engine) shared() bool { return e.clone || e.share.n.Load() > 0 }

// detach rebuilds the model from the engine's own maps into objects no
// other engine holds (under the write lock).
func (e *Engine) detach() error {
	n, err := build(e.pol, e.clock, e.snapshot())
	if err != nil {
		return err
	}
	e.adopt(n)
	return nil
}

// adopt takes n's model, which no other engine holds (under the write
// lock).
func (e *Engine) adopt(n *Engine) {
	if e.clone && !e.released {
		e.share.n.Add(-1)
	}
	e.accounts, e.users, e.groups, e.grants = n.accounts, n.users, n.groups, n.grants
	e.gen, e.acctGrants, e.share, e.clone, e.released = n.gen, nil, n.share, false, false
}

// snapshot returns the engine's model (under the caller's lock).
func (e *Engine) snapshot() Snapshot {
	s := Snapshot{
		Accounts: make([]Account, 0, len(e.accounts)),
		Users:    make([]User, 0, len(e.users)),
		Groups:   make([]Group, 0, len(e.groups)),
		Grants:   make([]Grant, 0, len(e.grants)),
	}
	for _, a := range e.accounts {
		s.Accounts = append(s.Accounts, a.Account)
	}
	for _, u := range e.users {
		s.Users = append(s.Users, u.User)
	}
	for _, g := range e.groups {
		s.Groups = append(s.Groups, g.Group)
		for uid := range g.members {
			s.Members = append(s.Members, [2]string{g.ID, uid})
		}
	}
	for _, g := range e.grants {
		s.Grants = append(s.Grants, g.Grant)
	}
	return s
}

// ownUser returns the engine's changeable copy of u, which must be the
// engine's current user of its id (under the write lock).
func (e *Engine) ownUser(u *user) *user {
	if u.gen == e.gen {
		return u
	}
	n := &user{active: u.active, internal: u.internal, User: u.User, gen: e.gen, direct: slices.Clip(u.direct), groups: slices.Clip(u.groups),
		all: slices.Clip(u.all)}
	if u.byAccount != nil {
		n.byAccount = make(map[*account][]held, len(u.byAccount))
		for k, v := range u.byAccount {
			n.byAccount[k] = slices.Clip(v) // an append must not write into u's array
		}
	}
	e.users[u.ID] = n
	return n
}

// ownGroup is ownUser for groups.
func (e *Engine) ownGroup(g *group) *group {
	if g.gen == e.gen {
		return g
	}
	n := &group{Group: g.Group, gen: e.gen, members: maps.Clone(g.members), grants: slices.Clip(g.grants)}
	e.groups[g.ID] = n
	return n
}

// grantsOn returns the grants on a, by id (under the caller's lock).
func (e *Engine) grantsOn(a *account) map[string]*grant {
	if s := e.acctGrants[a]; s != nil {
		return s.m
	}
	return a.grants
}

// ownGrantsOn returns the grants on a for changing (under the write lock).
func (e *Engine) ownGrantsOn(a *account) map[string]*grant {
	s := e.acctGrants[a]
	switch {
	case s != nil && s.gen == e.gen:
		return s.m
	case s != nil:
		s = &grantSet{gen: e.gen, m: maps.Clone(s.m)}
	case !e.shared():
		return a.grants
	default:
		s = &grantSet{gen: e.gen, m: maps.Clone(a.grants)}
	}
	if e.acctGrants == nil {
		e.acctGrants = map[*account]*grantSet{}
	}
	e.acctGrants[a] = s
	return s.m
}
