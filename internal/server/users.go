package server

import (
	"context"
	"net/http"
	"net/mail"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Staff manage users (access managers not admins); a customer admin sees
// and manages the external users homed within its reach; other external
// users get 403 (DESIGN.md §3).

// managedAccounts returns the accounts an external caller administers, or
// nil when it administers none.
func (s *Server) managedAccounts(c *caller) []string {
	var out []string
	for _, aa := range s.engine.Reach(c.user.ID) {
		if aa.ManageUsers {
			out = append(out, aa.ID)
		}
	}
	return out
}

// userAdmin lets staff and customer admins through, with the accounts a
// customer admin administers (nil for staff).
func (s *Server) userAdmin(c *caller) ([]string, error) {
	if c.internal() {
		return nil, nil
	}
	m := s.managedAccounts(c)
	if len(m) == 0 {
		return nil, access.Errorf(access.CodeForbidden, "you may not manage users")
	}
	return m, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// visibleUser loads a user the caller may see: staff see all, a customer
// admin those homed within its reach (others are 404).
func (s *Server) visibleUser(r *http.Request, c *caller, managed []string, id string) (access.User, error) {
	u, err := s.store.GetUser(r.Context(), id)
	if err != nil {
		return u, err
	}
	if managed != nil && !contains(managed, u.HomeAccount) {
		return access.User{}, access.Errorf(access.CodeNotFound, "user %s not found", id)
	}
	return u, nil
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request, c *caller) error {
	managed, err := s.userAdmin(c)
	if err != nil {
		return err
	}
	limit, cursor, err := listParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.UserFilter{HomeAccounts: managed, Kind: q.Get("kind"), Query: q.Get("q"), Limit: limit, Cursor: cursor}
	if home := q.Get("home_account"); home != "" {
		if managed != nil && !contains(managed, home) {
			writeJSON(w, http.StatusOK, newList[access.User](nil, ""))
			return nil
		}
		f.HomeAccounts = []string{home}
	}
	items, next, err := s.store.ListUsers(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(items, next))
	return nil
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	if !c.internal() && id == c.user.ID {
		writeJSON(w, http.StatusOK, c.user)
		return nil
	}
	managed, err := s.userAdmin(c)
	if err != nil {
		return err
	}
	u, err := s.visibleUser(r, c, managed, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

var userFields = []string{"id", "kind", "name", "email", "home_account", "status", "staff_role", "constraints"}

func (s *Server) writeUser(w http.ResponseWriter, r *http.Request, c *caller, create bool) error {
	managed, err := s.userAdmin(c)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := checkID("user", id); err != nil {
		return err
	}
	f, err := readFields(r, userFields...)
	if err != nil {
		return err
	}
	var old *access.User
	u, err := s.visibleUser(r, c, managed, id)
	switch {
	case access.ErrorCode(err) == access.CodeNotFound && create:
		u = access.User{ID: id, Kind: access.KindExternal, Status: access.StatusActive}
		if _, err := s.store.GetUser(r.Context(), id); err == nil {
			// It exists but outside a customer admin's reach.
			return access.Errorf(access.CodeForbidden, "user %s is outside your reach", id)
		}
	case err != nil:
		return err
	default:
		cp := u
		old = &cp
	}
	var bodyID string
	if err := first(f.str("id", &bodyID), f.str("kind", &u.Kind), f.str("name", &u.Name), f.str("email", &u.Email),
		f.str("home_account", &u.HomeAccount), f.str("status", &u.Status), f.str("staff_role", &u.StaffRole)); err != nil {
		return err
	}
	if f.has("constraints") {
		u.Constraints = nil
		if err := f.into("constraints", &u.Constraints); err != nil {
			return err
		}
	}
	if bodyID != "" && bodyID != id {
		return access.Errorf(access.CodeInvalid, "body id %s does not match the path", bodyID)
	}
	created, rev, err := s.saveUser(r.Context(), c, old, u)
	if err != nil {
		return err
	}
	setRevision(w, rev)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	got, err := s.store.GetUser(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, status, got)
	return nil
}

// saveUser validates u, checks the change from old (nil: a new user) with
// the engine and stores it: shared by the API and the console.
func (s *Server) saveUser(ctx context.Context, c *caller, old *access.User, u access.User) (bool, int64, error) {
	if err := s.validateUser(&u); err != nil {
		return false, 0, err
	}
	if err := s.engine.CheckUser(c.user.ID, old, &u); err != nil {
		return false, 0, err
	}
	return s.store.PutUser(ctx, c.user.ID, u)
}

// validateUser checks a user's fields and normalizes them.
func (s *Server) validateUser(u *access.User) error {
	u.Email = strings.TrimSpace(u.Email)
	u.Name = strings.TrimSpace(u.Name)
	if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email {
		return access.Errorf(access.CodeInvalid, "email %q is not a valid address", u.Email)
	}
	if u.Name == "" {
		u.Name = u.Email
	}
	switch u.Status {
	case access.StatusActive, access.StatusInvited, access.StatusDisabled:
	default:
		return access.Errorf(access.CodeInvalid, "status must be active, invited or disabled")
	}
	switch u.Kind {
	case access.KindExternal:
		if u.HomeAccount == "" {
			return access.Errorf(access.CodeInvalid, "an external user needs a home_account")
		}
		if _, ok := s.engine.Account(u.HomeAccount); !ok {
			return access.Errorf(access.CodeInvalid, "home_account %s does not exist", u.HomeAccount)
		}
		if u.StaffRole != "" {
			return access.Errorf(access.CodeInvalid, "staff_role is for internal users")
		}
		pol := s.engine.Policy()
		for typ, attrs := range u.Constraints {
			if pol.Type(typ) == nil {
				return access.Errorf(access.CodeInvalid, "constraints: unknown object type %s", typ)
			}
			for attr, vals := range attrs {
				if attr == "" || len(vals) == 0 {
					return access.Errorf(access.CodeInvalid, "constraints.%s.%s must list at least one value", typ, attr)
				}
			}
		}
	case access.KindInternal:
		switch u.StaffRole {
		case access.StaffAdmin, access.StaffAccessManager, access.StaffAuditor:
		default:
			return access.Errorf(access.CodeInvalid, "an internal user needs staff_role admin, access_manager or auditor")
		}
		if u.HomeAccount != "" || len(u.Constraints) > 0 {
			return access.Errorf(access.CodeInvalid, "home_account and constraints are for external users")
		}
	default:
		return access.Errorf(access.CodeInvalid, "kind must be internal or external")
	}
	return nil
}

func (s *Server) handlePutUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.writeUser(w, r, c, true)
}

func (s *Server) handlePatchUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.writeUser(w, r, c, false)
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	managed, err := s.userAdmin(c)
	if err != nil {
		return err
	}
	u, err := s.visibleUser(r, c, managed, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.engine.CheckUser(c.user.ID, &u, nil); err != nil {
		return err
	}
	rev, err := s.store.DeleteUser(r.Context(), c.user.ID, u.ID)
	if err != nil {
		return err
	}
	setRevision(w, rev)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type passwordRequest struct {
	Password        string `json:"password"`
	CurrentPassword string `json:"current_password"`
}

// handleSetPassword sets a password: staff writers for others (subject to
// CheckUser: access managers not for admins), or the user itself with its
// current password (DESIGN.md §3). Every session of the user ends.
func (s *Server) handleSetPassword(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	var req passwordRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if id == c.user.ID {
		hash, err := s.store.PasswordHash(r.Context(), id)
		if err != nil {
			return err
		}
		if ok, _ := auth.VerifyPassword(hash, req.CurrentPassword); !ok {
			return access.Errorf(access.CodeForbidden, "current_password is wrong")
		}
	} else if err := s.mayResetPassword(r.Context(), c, id); err != nil {
		return err
	}
	rev, err := s.storePassword(r.Context(), c.user.ID, id, req.Password)
	if err != nil {
		return err
	}
	setRevision(w, rev)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// mayResetPassword decides whether a staff writer may set another user's
// password (CheckUser: access managers not an admin's): shared by the API
// and the console.
func (s *Server) mayResetPassword(ctx context.Context, c *caller, id string) error {
	if !c.staffWriter() {
		return access.Errorf(access.CodeForbidden, "you may not set this user's password")
	}
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return err
	}
	return s.engine.CheckUser(c.user.ID, &u, &u)
}

// storePassword validates a new password, hashes it and stores the hash
// (ending the user's sessions): shared by the API and the console.
func (s *Server) storePassword(ctx context.Context, actor, id, password string) (int64, error) {
	if err := auth.ValidatePassword(password); err != nil {
		return 0, access.Errorf(access.CodeInvalid, "%s", err.Error())
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return 0, err
	}
	return s.store.SetPassword(ctx, actor, id, hash)
}
