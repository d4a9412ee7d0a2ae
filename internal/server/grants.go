package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Grants: staff manage every grant; a customer admin the grants on
// accounts it administers, for users homed within its reach, with
// assignable roles up to its level (access.Engine.CheckGrant); a grant
// outside its reach is 404 to it; other external users get 403.

var grantFields = []string{"principal", "account", "role", "scope", "access", "days_back", "valid_from", "valid_until", "notes"}

// applyGrant sets g's fields from a body and validates their shape.
func (s *Server) applyGrant(f fields, g *access.Grant) error {
	if err := first(f.str("principal", &g.Principal), f.str("account", &g.Account), f.str("role", &g.Role),
		f.str("scope", &g.Scope), f.str("access", &g.Access), f.intPtr("days_back", &g.DaysBack),
		f.timePtr("valid_from", &g.ValidFrom), f.timePtr("valid_until", &g.ValidUntil), f.str("notes", &g.Notes)); err != nil {
		return err
	}
	if g.Scope == "" {
		g.Scope = access.ScopeSubtree
	}
	if g.Access == "" {
		g.Access = access.AccessReadWrite
	}
	kind, id, _ := strings.Cut(g.Principal, ":")
	switch {
	case (kind != "user" && kind != "group") || id == "":
		return access.Errorf(access.CodeInvalid, "principal must be user:<id> or group:<id>")
	case g.Scope != access.ScopeSubtree && g.Scope != access.ScopeAccount:
		return access.Errorf(access.CodeInvalid, "scope must be subtree or account")
	case g.Access != access.AccessRead && g.Access != access.AccessReadWrite:
		return access.Errorf(access.CodeInvalid, "access must be read or read_write")
	case g.Account == "":
		return access.Errorf(access.CodeInvalid, "account is required")
	case s.engine.Policy().Role(g.Role) == nil:
		return access.Errorf(access.CodeInvalid, "role %q is not in the policy", g.Role)
	case g.ValidFrom != nil && g.ValidUntil != nil && !g.ValidFrom.Before(*g.ValidUntil):
		return access.Errorf(access.CodeInvalid, "valid_from must be before valid_until")
	case len(g.Notes) > 4000:
		return access.Errorf(access.CodeInvalid, "notes are limited to 4000 characters")
	}
	if _, ok := s.engine.Account(g.Account); !ok {
		return access.Errorf(access.CodeInvalid, "account %s does not exist", g.Account)
	}
	if kind == "user" {
		if _, ok := s.engine.User(id); !ok {
			return access.Errorf(access.CodeInvalid, "user %s does not exist", id)
		}
	}
	return nil
}

func (s *Server) handleCreateGrant(w http.ResponseWriter, r *http.Request, c *caller) error {
	if _, err := s.userAdmin(c); err != nil {
		return err
	}
	f, err := readFields(r, grantFields...)
	if err != nil {
		return err
	}
	created, rev, err := s.createGrant(r.Context(), c, f)
	if err != nil {
		return err
	}
	setRevision(w, rev)
	writeJSON(w, http.StatusCreated, created)
	return nil
}

// createGrant applies a grant body, checks it with the engine and stores
// it: shared by the API and the console's External Access panel.
func (s *Server) createGrant(ctx context.Context, c *caller, f fields) (access.Grant, int64, error) {
	var g access.Grant
	if err := s.applyGrant(f, &g); err != nil {
		return g, 0, err
	}
	if err := s.engine.CheckGrant(c.user.ID, nil, &g); err != nil {
		return g, 0, err
	}
	g.CreatedBy = c.user.ID
	return s.store.CreateGrant(ctx, c.user.ID, g)
}

// updateGrant applies a body to an existing grant (principal and account
// cannot change), checks the change with the engine and stores it: shared
// by the API and the console.
func (s *Server) updateGrant(ctx context.Context, c *caller, old access.Grant, f fields) (access.Grant, int64, error) {
	g := old
	if err := s.applyGrant(f, &g); err != nil {
		return g, 0, err
	}
	if g.Principal != old.Principal || g.Account != old.Account {
		return g, 0, access.Errorf(access.CodeInvalid, "a grant's principal and account cannot change; create another grant")
	}
	if err := s.engine.CheckGrant(c.user.ID, &old, &g); err != nil {
		return g, 0, err
	}
	return s.store.UpdateGrant(ctx, c.user.ID, g)
}

// deleteGrant checks a removal with the engine (protected grants never go)
// and deletes the grant: shared by the API and the console.
func (s *Server) deleteGrant(ctx context.Context, c *caller, old access.Grant) (int64, error) {
	if err := s.engine.CheckGrant(c.user.ID, &old, nil); err != nil {
		return 0, err
	}
	return s.store.DeleteGrant(ctx, c.user.ID, old.ID)
}

// visibleGrant loads a grant the caller may see (404 otherwise).
func (s *Server) visibleGrant(r *http.Request, c *caller, managed []string) (access.Grant, error) {
	id := r.PathValue("id")
	g, err := s.store.GetGrant(r.Context(), id)
	if err != nil {
		return g, err
	}
	if managed != nil && !contains(managed, g.Account) {
		return access.Grant{}, access.Errorf(access.CodeNotFound, "grant %s not found", id)
	}
	return g, nil
}

func (s *Server) handleListGrants(w http.ResponseWriter, r *http.Request, c *caller) error {
	managed, err := s.userAdmin(c)
	if err != nil {
		return err
	}
	limit, cursor, err := listParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	items, next, err := s.store.ListGrants(r.Context(), store.GrantFilter{Account: q.Get("account"), Principal: q.Get("principal"),
		Accounts: managed, Limit: limit, Cursor: cursor})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(items, next))
	return nil
}

func (s *Server) handleGetGrant(w http.ResponseWriter, r *http.Request, c *caller) error {
	managed, err := s.userAdmin(c)
	if err != nil {
		return err
	}
	g, err := s.visibleGrant(r, c, managed)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (s *Server) handlePatchGrant(w http.ResponseWriter, r *http.Request, c *caller) error {
	managed, err := s.userAdmin(c)
	if err != nil {
		return err
	}
	old, err := s.visibleGrant(r, c, managed)
	if err != nil {
		return err
	}
	f, err := readFields(r, grantFields...)
	if err != nil {
		return err
	}
	updated, rev, err := s.updateGrant(r.Context(), c, old, f)
	if err != nil {
		return err
	}
	setRevision(w, rev)
	writeJSON(w, http.StatusOK, updated)
	return nil
}

func (s *Server) handleDeleteGrant(w http.ResponseWriter, r *http.Request, c *caller) error {
	managed, err := s.userAdmin(c)
	if err != nil {
		return err
	}
	old, err := s.visibleGrant(r, c, managed)
	if err != nil {
		return err
	}
	rev, err := s.deleteGrant(r.Context(), c, old)
	if err != nil {
		return err
	}
	setRevision(w, rev)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// grantLimitFields adds a grant form's days back and validity to a grant
// body, for the console's External Access panel and the portal's Company
// users alike: days_back empty means unlimited; valid_from and valid_until
// are UTC days (empty: none), and a day equal to the stored instant's keeps
// that instant, so saving a form unchanged never alters a grant (which a
// protected grant would refuse). Fields the form did not send are left out.
func grantLimitFields(form url.Values, old *access.Grant, f fields) error {
	if _, sent := form["days_back"]; sent {
		v := strings.TrimSpace(form.Get("days_back"))
		n, err := strconv.Atoi(v)
		switch {
		case v == "":
			f["days_back"] = json.RawMessage("null")
		case err != nil || n < 0:
			return access.Errorf(access.CodeInvalid, "days_back must be a whole number of days, 0 or more (empty: unlimited)")
		default:
			f["days_back"] = json.RawMessage(strconv.Itoa(n))
		}
	}
	for _, key := range []string{"valid_from", "valid_until"} {
		if _, sent := form[key]; !sent {
			continue
		}
		v := strings.TrimSpace(form.Get(key))
		var stored *time.Time
		if old != nil {
			stored = old.ValidFrom
			if key == "valid_until" {
				stored = old.ValidUntil
			}
		}
		switch day, err := time.Parse(time.DateOnly, v); {
		case v == "":
			f[key] = json.RawMessage("null")
		case err != nil:
			return access.Errorf(access.CodeInvalid, "%s must be a date (YYYY-MM-DD)", key)
		case stored != nil && stored.UTC().Format(time.DateOnly) == v:
			f[key], _ = json.Marshal(stored.UTC().Format(time.RFC3339Nano))
		default:
			f[key], _ = json.Marshal(day.UTC().Format(time.RFC3339))
		}
	}
	return nil
}
