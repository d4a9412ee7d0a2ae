package app

import (
	"context"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Users: staff manage users (access managers not admins, auditors read); a
// customer admin (a grant whose role has manage_users) sees and manages the
// external users homed within its reach, and a user outside it is
// CodeNotFound to it; other external users get CodeForbidden (DESIGN.md
// §3, §5.6).

// UserUpdate is a partial write of a user (PUT and PATCH); absent fields
// keep their stored value, null clears them.
type UserUpdate struct {
	ID          Optional[string]                         `json:"id"`
	Kind        Optional[string]                         `json:"kind"`
	Name        Optional[string]                         `json:"name"`
	Email       Optional[string]                         `json:"email"`
	HomeAccount Optional[string]                         `json:"home_account"`
	Status      Optional[string]                         `json:"status"`
	StaffRole   Optional[string]                         `json:"staff_role"`
	Constraints Optional[map[string]map[string][]string] `json:"constraints"`
}

func (in UserUpdate) applyTo(u *access.User) error {
	if in.ID.Set && !in.ID.Null && in.ID.Value != "" && in.ID.Value != u.ID {
		return access.FieldErrorf(access.CodeInvalid, "id", "body id %s does not match the path", in.ID.Value)
	}
	in.Kind.apply(&u.Kind, "")
	in.Name.apply(&u.Name, "")
	in.Email.apply(&u.Email, "")
	in.HomeAccount.apply(&u.HomeAccount, "")
	in.Status.apply(&u.Status, "")
	in.StaffRole.apply(&u.StaffRole, "")
	in.Constraints.apply(&u.Constraints, nil)
	return nil
}

// ManagedAccounts returns the accounts an external actor administers
// (reached through a grant whose role has manage_users), or nil.
func (a *App) ManagedAccounts(c *Actor) []string {
	var out []string
	for _, aa := range a.eng.Reach(c.ID()) {
		if aa.ManageUsers {
			out = append(out, aa.ID)
		}
	}
	return out
}

// userAdmin lets staff and customer admins through, with the accounts a
// customer admin administers (nil for staff).
func (a *App) userAdmin(c *Actor) ([]string, error) {
	if c.Internal() {
		return nil, nil
	}
	m := a.ManagedAccounts(c)
	if len(m) == 0 {
		return nil, access.Errorf(access.CodeForbidden, "you may not manage users")
	}
	return m, nil
}

// visibleUser loads a user the actor may see: staff see all, a customer
// admin those homed within its reach (others are CodeNotFound).
func (a *App) visibleUser(ctx context.Context, managed []string, id string) (access.User, error) {
	u, err := a.st.GetUser(ctx, id)
	if err != nil {
		return u, err
	}
	if managed != nil && !contains(managed, u.HomeAccount) {
		return access.User{}, access.Errorf(access.CodeNotFound, "user %s not found", id)
	}
	return u, nil
}

// UserFilter selects users: Kind, Query (substring of id, name or email)
// and HomeAccount.
type UserFilter struct {
	Kind, Query, HomeAccount string
	ListParams
}

// ListUsers lists users: all for staff, those homed within its reach for a
// customer admin (a home account outside it lists nothing).
func (a *App) ListUsers(ctx context.Context, c *Actor, f UserFilter) (Page[access.User], error) {
	managed, err := a.userAdmin(c)
	if err != nil {
		return Page[access.User]{}, err
	}
	sf := store.UserFilter{HomeAccounts: managed, Kind: f.Kind, Query: f.Query, Limit: f.limit(), Cursor: f.Cursor}
	if f.HomeAccount != "" {
		if managed != nil && !contains(managed, f.HomeAccount) {
			return Page[access.User]{}, nil
		}
		sf.HomeAccounts = []string{f.HomeAccount}
	}
	items, next, err := a.st.ListUsers(ctx, sf)
	return Page[access.User]{Items: items, Next: next}, err
}

// GetUser returns a user: an external user may read itself; otherwise as
// ListUsers (a user outside a customer admin's reach is CodeNotFound).
func (a *App) GetUser(ctx context.Context, c *Actor, id string) (access.User, error) {
	if !c.Internal() && id == c.ID() {
		return c.User, nil
	}
	managed, err := a.userAdmin(c)
	if err != nil {
		return access.User{}, err
	}
	return a.visibleUser(ctx, managed, id)
}

// PutUser creates (when create is true and the user does not exist; a new
// user defaults to an active external user) or updates the user id with
// the fields in sets, and returns it as stored. The engine's CheckUser
// decides, inside the write transaction, whether the actor may (access
// managers not admins, customer admins within their reach, nobody their
// own status). Errors: CodeForbidden, CodeNotFound (outside a customer
// admin's reach, or unknown without create), CodeInvalid (shape, a missing
// home account), CodeConflict (email in use).
func (a *App) PutUser(ctx context.Context, c *Actor, id string, in UserUpdate, create bool) (u access.User, created bool, rev int64, err error) {
	managed, err := a.userAdmin(c)
	if err != nil {
		return u, false, 0, err
	}
	if !access.ValidID(id) {
		return u, false, 0, access.FieldErrorf(access.CodeInvalid, "id", "user id %q must be 1-64 characters of A-Za-z0-9._:-", id)
	}
	var old *access.User
	u, err = a.visibleUser(ctx, managed, id)
	switch {
	case access.ErrorCode(err) == access.CodeNotFound && create:
		if _, err := a.st.GetUser(ctx, id); err == nil {
			// It exists but outside a customer admin's reach.
			return u, false, 0, access.Errorf(access.CodeForbidden, "user %s is outside your reach", id)
		}
		u = access.User{ID: id, Kind: access.KindExternal, Status: access.StatusActive}
	case err != nil:
		return u, false, 0, err
	default:
		cp := u
		old = &cp
	}
	if err := in.applyTo(&u); err != nil {
		return u, false, 0, err
	}
	created, rev, err = a.saveUser(ctx, c, old, u)
	if err != nil {
		return u, false, 0, err
	}
	u, err = a.st.GetUser(ctx, id)
	return u, created, rev, err
}

// saveUser validates u and stores it, the change from old (nil: a new
// user) checked with the engine inside the write transaction.
func (a *App) saveUser(ctx context.Context, c *Actor, old *access.User, u access.User) (bool, int64, error) {
	if err := u.Validate(a.eng.Policy()); err != nil {
		return false, 0, err
	}
	check := func() error {
		if err := u.Validate(a.eng.Policy()); err != nil {
			return err
		}
		if u.HomeAccount != "" {
			if _, ok := a.eng.Account(u.HomeAccount); !ok {
				return access.FieldErrorf(access.CodeInvalid, "home_account", "home_account %s does not exist", u.HomeAccount)
			}
		}
		cur, exists := a.eng.User(u.ID)
		switch {
		case old == nil && exists:
			return access.FieldErrorf(access.CodeConflict, "id", "user %s was created meanwhile", u.ID)
		case old != nil && !exists:
			return access.Errorf(access.CodeNotFound, "user %s not found", u.ID)
		case old != nil:
			old = &cur // decide on the user as it is now
		}
		return a.checkUser(c, old, &u)
	}
	if err := check(); err != nil {
		return false, 0, err
	}
	return a.st.PutUser(ctx, write(c, check), u)
}

// DeleteUser removes a user with its grants, memberships, sessions and
// tokens (CodeProtected while it holds a protected grant); CheckUser
// decides as for PutUser.
func (a *App) DeleteUser(ctx context.Context, c *Actor, id string) (int64, error) {
	managed, err := a.userAdmin(c)
	if err != nil {
		return 0, err
	}
	u, err := a.visibleUser(ctx, managed, id)
	if err != nil {
		return 0, err
	}
	check := func() error {
		cur, ok := a.eng.User(u.ID)
		if !ok {
			return access.Errorf(access.CodeNotFound, "user %s not found", u.ID)
		}
		return a.checkUser(c, &cur, nil)
	}
	if err := check(); err != nil {
		return 0, err
	}
	return a.st.DeleteUser(ctx, write(c, check), u.ID)
}

// PasswordChange sets a password: Password is the new one; a user changing
// its own gives CurrentPassword too, from client address IP (for the
// sign-in throttle).
type PasswordChange struct {
	Password        string `json:"password"`
	CurrentPassword string `json:"current_password"`
	IP              string `json:"-"`
}

// SetPassword sets user id's password and ends its sessions: the user
// itself with its current password, or a staff writer subject to CheckUser
// (access managers not an admin's). A wrong current password counts as a
// failed sign-in for the throttle (per email and client address), so this
// is no faster way to guess a password than signing in. Errors:
// CodeForbidden (a wrong current password, Field current_password; or not
// allowed), CodeRateLimited, CodeInvalid (a weak password, Field password),
// CodeNotFound.
func (a *App) SetPassword(ctx context.Context, c *Actor, id string, in PasswordChange) (int64, error) {
	var check func() error
	var email string
	if id == c.ID() {
		email = normalizeEmail(c.User.Email)
		now := a.Now()
		if ok, retry := a.throttle.Allow(email, in.IP, now); !ok {
			return 0, access.FieldErrorf(access.CodeRateLimited, "current_password", "too many wrong passwords; try again in %d seconds", int(retry.Seconds())+1)
		}
		hash, err := a.st.PasswordHash(ctx, id)
		if err != nil {
			return 0, err
		}
		ok := false
		if hash != "" {
			ok, _ = a.verify(hash, in.CurrentPassword)
		}
		if !ok {
			a.throttle.Failure(email, in.IP, now)
			return 0, access.FieldErrorf(access.CodeForbidden, "current_password", "current_password is wrong")
		}
	} else {
		if !c.StaffWriter() {
			return 0, access.Errorf(access.CodeForbidden, "you may not set this user's password")
		}
		if _, err := a.st.GetUser(ctx, id); err != nil {
			return 0, err
		}
		check = func() error {
			u, ok := a.eng.User(id)
			if !ok {
				return access.Errorf(access.CodeNotFound, "user %s not found", id)
			}
			return a.checkUser(c, &u, &u)
		}
		if err := check(); err != nil {
			return 0, err
		}
	}
	if err := auth.ValidatePassword(in.Password); err != nil {
		return 0, access.FieldErrorf(access.CodeInvalid, "password", "%s", err.Error())
	}
	hash, err := a.hash(in.Password)
	if err != nil {
		return 0, err
	}
	rev, err := a.st.SetPassword(ctx, write(c, check), id, hash)
	if err == nil && email != "" {
		a.throttle.Success(email, in.IP)
	}
	return rev, err
}

// hash hashes a password, bounded like verification.
func (a *App) hash(pw string) (string, error) {
	a.hashing <- struct{}{}
	defer func() { <-a.hashing }()
	return auth.HashPassword(pw)
}

// verify checks a password against its hash, bounded to the CPUs.
func (a *App) verify(hash, pw string) (bool, error) {
	a.hashing <- struct{}{}
	defer func() { <-a.hashing }()
	return auth.VerifyPassword(hash, pw)
}

// normalizeEmail is the form emails are looked up and throttled in.
func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
