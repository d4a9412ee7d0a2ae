package app

import (
	"context"
	"errors"
	"reflect"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/mail"
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
	Locale      Optional[string]                         `json:"locale"`
	// CurrentPassword is the actor's own password, required when a user
	// changes its own email (identity.md §3); never stored.
	CurrentPassword string `json:"current_password,omitempty"`
	// IP is the client address, for the throttle of CurrentPassword.
	IP string `json:"-"`
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
	in.Locale.apply(&u.Locale, "")
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
		return a.st.GetUser(ctx, id) // with last_login_at, which the engine does not keep
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
// managers not admins, customer admins within their reach, never an email
// or constraints, nobody their own status). An external user writing
// itself may change only its name, locale and email, the email with its
// current password (putSelf). Errors: CodeForbidden, CodeNotFound
// (outside a customer admin's reach, or unknown without create),
// CodeInvalid (shape, a missing home account), CodeConflict (email or id
// in use: with ExistingID for staff and for a user within a customer
// admin's reach, otherwise the neutral errNotHere).
func (a *App) PutUser(ctx context.Context, c *Actor, id string, in UserUpdate, create bool) (u access.User, created bool, rev int64, err error) {
	if id == c.ID() && (!c.Internal() || in.localeOnly()) {
		// Staff change their own language like anyone, auditors included
		// (portal.md §1); anything else of their own goes through
		// CheckUser like any user change.
		return a.putSelf(ctx, c, in)
	}
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
			// It exists but outside a customer admin's reach: the same
			// answer as for an email in use there.
			return u, false, 0, errNotHere
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
		return u, false, 0, a.userConflict(ctx, managed, u.Email, err)
	}
	if atomic(ctx) {
		return u, created, rev, nil
	}
	u, err = a.st.GetUser(ctx, id)
	return u, created, rev, err
}

// localeOnly reports whether the update sets the locale and nothing else
// (an id equal to the path aside).
func (in UserUpdate) localeOnly() bool {
	rest := in
	rest.ID, rest.Locale, rest.IP = Optional[string]{}, Optional[string]{}, ""
	return in.Locale.Set && reflect.DeepEqual(rest, UserUpdate{})
}

// errNotHere is the one answer a customer admin (or a user changing its
// own email) gets for a user id or email that belongs to a user outside
// its reach, whatever the reason, so that it learns nothing of other
// customers' people (identity.md §2).
var errNotHere = access.Errorf(access.CodeConflict, "this user id or email cannot be used here")

// userConflict rewrites a write's conflict for an external actor
// (managed non-nil): email in use by a user within its reach names that
// user (ExistingID); any other conflict is errNotHere.
func (a *App) userConflict(ctx context.Context, managed []string, email string, err error) error {
	var e *access.Error
	if managed == nil || !errors.As(err, &e) || e.Code != access.CodeConflict {
		return err
	}
	if e.Field == "email" {
		if other, err := a.st.GetUserByEmail(ctx, email); err == nil && other.Kind == access.KindExternal && contains(managed, other.HomeAccount) {
			return &access.Error{Code: access.CodeConflict, Field: "email", ExistingID: other.ID,
				Message: "user " + other.ID + " already has this email"}
		}
	}
	return errNotHere
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
	w := write(c, check)
	if old != nil && old.Email != u.Email {
		a.emailChanged(ctx, &w, *old, u)
	}
	created, rev, err := a.st.PutUser(ctx, w, u)
	if err == nil && len(w.Mail) > 0 {
		a.sent()
	}
	return created, rev, err
}

// emailChanged is the hook of identity.md §3 "the old address gets a
// notice": every write that changes a user's email calls it before the
// write, with the write to amend, so that the notice to old.Email is
// written to the outbox inside the same transaction (in old's locale).
func (a *App) emailChanged(ctx context.Context, w *store.Write, old, next access.User) {
	if old.Email == "" {
		return
	}
	locale := a.localeOf(ctx, old.ID)
	c := mail.EmailChanged(locale, mail.EmailChangeData{Name: old.Name, OldEmail: old.Email, NewEmail: next.Email, At: a.Now()})
	w.Mail = append(w.Mail, a.message("email_changed", old.Email, old.ID, locale, c, ""))
}

// putSelf is an external user's write of itself: only its name, locale
// and email may change, the email only with its current password (checked
// like a sign-in: throttled per email and client address, through the
// hashing gate). Customer admins are no exception: their role gives no
// power over emails or their own record. Errors: CodeForbidden (another
// field, a wrong current password on Field current_password), CodeInvalid
// (shape; current_password missing for an email change), CodeRateLimited,
// CodeUnavailable, CodeConflict (errNotHere: the email is taken).
func (a *App) putSelf(ctx context.Context, c *Actor, in UserUpdate) (access.User, bool, int64, error) {
	old, err := a.st.GetUser(ctx, c.ID())
	if err != nil {
		return access.User{}, false, 0, err
	}
	u := old
	if err := in.applyTo(&u); err != nil {
		return u, false, 0, err
	}
	if err := u.Validate(a.eng.Policy()); err != nil {
		return u, false, 0, err
	}
	if !selfChange(old, u) {
		return u, false, 0, access.Errorf(access.CodeForbidden, "you may change only your own name, email and locale")
	}
	if u.Email != old.Email {
		if in.CurrentPassword == "" {
			return u, false, 0, access.FieldErrorf(access.CodeInvalid, "current_password", "give current_password to change your email")
		}
		if err := a.checkCurrentPassword(ctx, c, in.CurrentPassword, in.IP); err != nil {
			return u, false, 0, err
		}
	}
	check := func() error {
		if err := u.Validate(a.eng.Policy()); err != nil {
			return err
		}
		cur, ok := a.eng.User(u.ID)
		if !ok || cur.Status != access.StatusActive {
			return access.Errorf(access.CodeForbidden, "you may not change this user")
		}
		if !selfChange(cur, u) {
			return access.Errorf(access.CodeConflict, "your user changed meanwhile; try again")
		}
		return nil
	}
	if err := check(); err != nil {
		return u, false, 0, err
	}
	w := write(c, check)
	if u.Email != old.Email {
		a.emailChanged(ctx, &w, old, u)
	}
	_, rev, err := a.st.PutUser(ctx, w, u)
	if err == nil && len(w.Mail) > 0 {
		a.sent()
	}
	if access.ErrorCode(err) == access.CodeConflict {
		return u, false, 0, errNotHere
	}
	if err != nil {
		return u, false, 0, err
	}
	u, err = a.st.GetUser(ctx, u.ID)
	return u, false, rev, err
}

// selfChange reports whether next differs from old at most in what a user
// may change of itself: name, email, locale (and the bookkeeping
// LastLoginAt).
func selfChange(old, next access.User) bool {
	old.Name, old.Email, old.Locale, old.LastLoginAt = next.Name, next.Email, next.Locale, next.LastLoginAt
	if len(old.Constraints) == 0 && len(next.Constraints) == 0 {
		old.Constraints = next.Constraints
	}
	return reflect.DeepEqual(old, next)
}

// DeleteUser removes a user with its grants, memberships, sessions and
// tokens (CodeProtected while it holds a protected grant; CodeForbidden
// for the actor itself); CheckUser decides as for PutUser.
func (a *App) DeleteUser(ctx context.Context, c *Actor, id string) (int64, error) {
	if id == c.ID() {
		// Nobody removes itself (as nobody changes its own status): the
		// last admin would lock everyone out of the console.
		return 0, access.Errorf(access.CodeForbidden, "you cannot delete yourself")
	}
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
// (access managers not an admin's). The current password is checked like
// a sign-in (checkCurrentPassword: the same throttle slots per email and
// client address, the same hashing gate), so this is no faster way to
// guess a password than signing in. The new password must meet the rules
// of auth.ValidatePassword for this user. Errors: CodeForbidden (a wrong
// current password, Field current_password; or not allowed),
// CodeRateLimited, CodeInvalid (a weak or too long password, Field
// password or current_password), CodeUnavailable, CodeNotFound.
func (a *App) SetPassword(ctx context.Context, c *Actor, id string, in PasswordChange) (int64, error) {
	if err := checkLength("password", in.Password); err != nil {
		return 0, err
	}
	var check func() error
	var u access.User
	if id == c.ID() {
		if err := a.checkCurrentPassword(ctx, c, in.CurrentPassword, in.IP); err != nil {
			return 0, err
		}
		u = c.User
	} else {
		if !c.StaffWriter() {
			return 0, access.Errorf(access.CodeForbidden, "you may not set this user's password")
		}
		var err error
		if u, err = a.st.GetUser(ctx, id); err != nil {
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
	if err := validatePassword(u, in.Password); err != nil {
		return 0, err
	}
	hash, err := a.hash(ctx, in.Password)
	if err != nil {
		return 0, err
	}
	w := write(c, check)
	if u.Email != "" {
		locale := a.localeOf(ctx, u.ID)
		w.Mail = []store.Message{a.message("password_changed", u.Email, u.ID, locale,
			mail.PasswordChanged(locale, mail.NoticeData{Name: u.Name, At: a.Now()}), "")}
	}
	rev, err := a.st.SetPassword(ctx, w, id, hash)
	if err == nil {
		a.sent()
	}
	return rev, err
}

// normalizeEmail is the form emails are looked up and throttled in.
func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
