package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Staff list and read every account; an external user reads only the
// accounts its grants reach (others are 404) and changes none.

func (s *Server) handleListAccounts(w http.ResponseWriter, r *http.Request, c *caller) error {
	limit, cursor, err := listParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if !c.internal() {
		var out []access.Account
		for _, aa := range s.engine.Reach(c.user.ID) {
			if a, ok := s.engine.Account(aa.ID); ok {
				out = append(out, a)
			}
		}
		writeJSON(w, http.StatusOK, newList(out, ""))
		return nil
	}
	f := store.AccountFilter{Query: q.Get("q"), Limit: limit, Cursor: cursor}
	if q.Has("parent") {
		p := q.Get("parent")
		f.Parent = &p
	}
	items, next, err := s.store.ListAccounts(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(items, next))
	return nil
}

// reachable reports whether an external user's grants reach the account.
func (s *Server) reachable(c *caller, id string) bool {
	for _, aa := range s.engine.Reach(c.user.ID) {
		if aa.ID == id {
			return true
		}
	}
	return false
}

func (s *Server) handleGetAccount(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	if !c.internal() && !s.reachable(c, id) {
		return access.Errorf(access.CodeNotFound, "account %s not found", id)
	}
	a, err := s.store.GetAccount(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

var accountFields = []string{"id", "name", "kind", "parent", "external_access", "inherit"}

// writeAccount applies a PUT (create allowed) or PATCH body.
func (s *Server) writeAccount(w http.ResponseWriter, r *http.Request, c *caller, create bool) error {
	if err := requireStaffWriter(c); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := checkID("account", id); err != nil {
		return err
	}
	f, err := readFields(r, accountFields...)
	if err != nil {
		return err
	}
	a, err := s.store.GetAccount(r.Context(), id)
	switch {
	case access.ErrorCode(err) == access.CodeNotFound && create:
		a = access.Account{ID: id, Inherit: true}
	case err != nil:
		return err
	}
	var bodyID string
	if err := first(f.str("id", &bodyID), f.str("name", &a.Name), f.str("kind", &a.Kind), f.str("parent", &a.Parent),
		f.boolean("external_access", &a.ExternalAccess, false), f.boolean("inherit", &a.Inherit, true)); err != nil {
		return err
	}
	if bodyID != "" && bodyID != id {
		return access.Errorf(access.CodeInvalid, "body id %s does not match the path", bodyID)
	}
	created, rev, err := s.saveAccount(r.Context(), c.user.ID, a)
	if err != nil {
		return err
	}
	setRevision(w, rev)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	got, err := s.store.GetAccount(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, status, got)
	return nil
}

// saveAccount normalizes an account (a blank name becomes the id) and
// stores it; the store creates the account group and its grant when
// external access becomes true. Shared by the API and the console.
func (s *Server) saveAccount(ctx context.Context, actor string, a access.Account) (bool, int64, error) {
	a.Name = strings.TrimSpace(a.Name)
	if a.Name == "" {
		a.Name = a.ID
	}
	return s.store.PutAccount(ctx, actor, a)
}

func (s *Server) handlePutAccount(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.writeAccount(w, r, c, true)
}

func (s *Server) handlePatchAccount(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.writeAccount(w, r, c, false)
}

func (s *Server) handleDeleteAccount(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriter(c); err != nil {
		return err
	}
	rev, err := s.store.DeleteAccount(r.Context(), c.user.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	setRevision(w, rev)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
