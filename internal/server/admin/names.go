package admin

import "strings"

// Names, not codes (portal.md §2): the console shows accounts, users and
// groups by name with their id in small type beside it. The names come
// from the engine's memory, never from an extra query per row, except
// for groups (GetGroup), which pages name only a few of.

// accountName is the name of account id, "" when unknown.
func (s *Surface) accountName(id string) string {
	if a, ok := s.app.Engine().Account(id); ok {
		return a.Name
	}
	return ""
}

// refName names what an audit entry's actor or target refers to: a user
// ("user:<id>", or a bare user id as actors are written) or an account
// ("account:<id>"); "" for anything else.
func (s *Surface) refName(ref string) string {
	kind, id, ok := strings.Cut(ref, ":")
	if !ok {
		kind, id = "user", ref
	}
	switch kind {
	case "user":
		if u, ok := s.app.Engine().User(id); ok {
			return u.Name
		}
	case "account":
		return s.accountName(id)
	}
	return ""
}

// auditNamed is an audit entry with the names of its actor and target.
func (s *Surface) auditNamed(e auditRow) auditRow {
	e.ActorName, e.TargetName = s.refName(e.Actor), s.refName(e.Target)
	return e
}
