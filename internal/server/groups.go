package server

import (
	"context"
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Groups are staff-only: external users get 403 (DESIGN.md §3); auditors
// read.

func (s *Server) handleListGroups(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	limit, cursor, err := listParams(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.ListGroups(r.Context(), store.GroupFilter{Account: r.URL.Query().Get("account"), Limit: limit, Cursor: cursor})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(items, next))
	return nil
}

func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	g, err := s.store.GetGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

// handlePutGroup creates or renames a group; "members", when given,
// replaces the member list (each change audited as a membership change).
func (s *Server) handlePutGroup(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriter(c); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := checkID("group", id); err != nil {
		return err
	}
	f, err := readFields(r, "id", "name", "account", "members")
	if err != nil {
		return err
	}
	cur, err := s.store.GetGroup(r.Context(), id)
	switch {
	case access.ErrorCode(err) == access.CodeNotFound:
		cur = store.GroupWithMembers{Group: access.Group{ID: id}}
	case err != nil:
		return err
	}
	g := cur.Group
	var bodyID string
	var members []string
	if err := first(f.str("id", &bodyID), f.str("name", &g.Name), f.str("account", &g.Account), f.into("members", &members)); err != nil {
		return err
	}
	if bodyID != "" && bodyID != id {
		return access.Errorf(access.CodeInvalid, "body id %s does not match the path", bodyID)
	}
	for _, m := range members {
		if _, ok := s.engine.User(m); !ok {
			return access.Errorf(access.CodeInvalid, "member %s does not exist", m)
		}
	}
	created, rev, err := s.saveGroup(r.Context(), c.user.ID, g)
	if err != nil {
		return err
	}
	if f.has("members") {
		want := map[string]bool{}
		for _, m := range members {
			want[m] = true
		}
		for _, m := range cur.Members {
			if !want[m] {
				if rev, err = s.store.RemoveMember(r.Context(), c.user.ID, id, m); err != nil {
					return err
				}
			}
			delete(want, m)
		}
		for _, m := range members {
			if want[m] {
				delete(want, m)
				if rev, err = s.store.AddMember(r.Context(), c.user.ID, id, m); err != nil {
					return err
				}
			}
		}
	}
	setRevision(w, rev)
	got, err := s.store.GetGroup(r.Context(), id)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, got)
	return nil
}

// saveGroup validates a group (its account must exist; a blank name
// becomes the id) and stores it: shared by the API and the console.
func (s *Server) saveGroup(ctx context.Context, actor string, g access.Group) (bool, int64, error) {
	if err := checkID("group", g.ID); err != nil {
		return false, 0, err
	}
	if g.Account != "" {
		if _, ok := s.engine.Account(g.Account); !ok {
			return false, 0, access.Errorf(access.CodeInvalid, "account %s does not exist", g.Account)
		}
	}
	if g.Name == "" {
		g.Name = g.ID
	}
	return s.store.PutGroup(ctx, actor, g)
}

// addMember adds an existing user to a group: shared by the API and the
// console.
func (s *Server) addMember(ctx context.Context, actor, groupID, userID string) (int64, error) {
	if _, ok := s.engine.User(userID); !ok {
		return 0, access.Errorf(access.CodeNotFound, "user %s not found", userID)
	}
	return s.store.AddMember(ctx, actor, groupID, userID)
}

func (s *Server) handleDeleteGroup(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriter(c); err != nil {
		return err
	}
	rev, err := s.store.DeleteGroup(r.Context(), c.user.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	setRevision(w, rev)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleAddMember(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriter(c); err != nil {
		return err
	}
	rev, err := s.addMember(r.Context(), c.user.ID, r.PathValue("id"), r.PathValue("user"))
	if err != nil {
		return err
	}
	setRevision(w, rev)
	g, err := s.store.GetGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriter(c); err != nil {
		return err
	}
	rev, err := s.store.RemoveMember(r.Context(), c.user.ID, r.PathValue("id"), r.PathValue("user"))
	if err != nil {
		return err
	}
	setRevision(w, rev)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
