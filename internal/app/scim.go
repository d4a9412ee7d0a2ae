package app

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"slices"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// SCIM 2.0 provisioning per customer (identity.md §8).
//
// Staff writers (admin, access_manager) create SCIM tokens, each scoped to
// one account's subtree with a highest role (max_role) and a map from SCIM
// group displayName to role (group_roles). A SCIM client authenticated with
// a token (AuthenticateSCIM) is an Actor with SCIM set, audited as
// "scim:<token id>"; every change it makes is audited with the actions of
// the staff writes prefixed "scim." (scim.user.put, scim.member.add,
// scim.grant.create, ...).
//
// What a token reaches:
//   - users: the external users homed in its account's subtree; anyone else
//     is CodeNotFound, and an email in use by anyone else is CodeConflict
//     with the neutral errSCIMEmailInUse. A new user is homed at the
//     token's account, or at the account of the enterprise extension's
//     "organization" attribute when that names an account of the subtree.
//   - groups: the groups it created. Each is a Portcullis group with
//     Account set to the token's account; a group whose displayName is in
//     group_roles carries one grant group:<id> → the token's account with
//     that role, when the role is still assignable and not above max_role
//     in the current policy (scimGroupRole), so membership is the grant:
//     no per-user grants are kept. Members must be users the token reaches.
//
// A user set inactive becomes disabled: its sessions end at once (the
// store), and every node refuses it once its engine has caught up, within
// a second (the follower's LISTEN/NOTIFY and polling).

// errSCIMEmailInUse is the one answer for an email (userName) in use by a
// user the token may or may not see: it never says where.
var errSCIMEmailInUse = &access.Error{Code: access.CodeConflict, Field: "userName", Message: "userName is already in use"}

// SCIMTokenRequest asks for a SCIM token.
type SCIMTokenRequest struct {
	Name       string            `json:"name"`
	Account    string            `json:"account"`
	MaxRole    string            `json:"max_role"`
	GroupRoles map[string]string `json:"group_roles"`
}

// CreateSCIMToken creates a SCIM token and returns it with its secret
// (shown once). Staff writers only (CodeForbidden). CodeInvalid: a missing
// name (at most 200 characters), an unknown account, a max_role that is
// not an assignable role of the policy, a group_roles role that is not
// assignable or above max_role, an empty displayName.
func (a *App) CreateSCIMToken(ctx context.Context, c *Actor, in SCIMTokenRequest) (store.SCIMToken, string, int64, error) {
	if err := requireStaffWriter(c); err != nil {
		return store.SCIMToken{}, "", 0, err
	}
	staff := a.staffWriterStill(c)
	check := func() error {
		if err := staff(); err != nil {
			return err
		}
		return a.validateSCIMToken(in)
	}
	if err := check(); err != nil {
		return store.SCIMToken{}, "", 0, err
	}
	secret, hash := auth.NewSecret(auth.SCIMPrefix)
	tok, rev, err := a.st.CreateSCIMToken(ctx, write(c, check), store.SCIMToken{Name: in.Name, Account: in.Account,
		MaxRole: in.MaxRole, GroupRoles: in.GroupRoles, Hash: hash})
	return tok, secret, rev, err
}

func (a *App) validateSCIMToken(in SCIMTokenRequest) error {
	if in.Name == "" || len(in.Name) > 200 {
		return access.FieldErrorf(access.CodeInvalid, "name", "name is required (at most 200 characters)")
	}
	if _, ok := a.eng.Account(in.Account); !ok {
		return access.FieldErrorf(access.CodeInvalid, "account", "account %q does not exist", in.Account)
	}
	pol := a.eng.Policy()
	max := pol.Role(in.MaxRole)
	if max == nil || !max.Assignable {
		return access.FieldErrorf(access.CodeInvalid, "max_role", "max_role must be an assignable role of the policy")
	}
	for name, role := range in.GroupRoles {
		r := pol.Role(role)
		switch {
		case strings.TrimSpace(name) == "":
			return access.FieldErrorf(access.CodeInvalid, "group_roles", "group_roles keys are group displayNames and cannot be empty")
		case r == nil || !r.Assignable:
			return access.FieldErrorf(access.CodeInvalid, "group_roles", "group %q: role %q is not an assignable role of the policy", name, role)
		case r.Level > max.Level:
			return access.FieldErrorf(access.CodeInvalid, "group_roles", "group %q: role %s is above max_role %s", name, role, in.MaxRole)
		}
	}
	return nil
}

// ListSCIMTokens lists every SCIM token, without secrets (staff writers).
func (a *App) ListSCIMTokens(ctx context.Context, c *Actor) ([]store.SCIMToken, error) {
	if err := requireStaffWriter(c); err != nil {
		return nil, err
	}
	return a.st.ListSCIMTokens(ctx)
}

// GetSCIMToken returns one SCIM token (staff writers; CodeNotFound).
func (a *App) GetSCIMToken(ctx context.Context, c *Actor, id string) (store.SCIMToken, error) {
	if err := requireStaffWriter(c); err != nil {
		return store.SCIMToken{}, err
	}
	return a.st.GetSCIMToken(ctx, id)
}

// DeleteSCIMToken revokes a SCIM token: its next request is refused on
// every node (staff writers; CodeNotFound). What it provisioned stays.
func (a *App) DeleteSCIMToken(ctx context.Context, c *Actor, id string) (int64, error) {
	if err := requireStaffWriter(c); err != nil {
		return 0, err
	}
	return a.st.DeleteSCIMToken(ctx, write(c, a.staffWriterStill(c)), id)
}

// AuthenticateSCIM returns the actor of a SCIM token secret, or
// CodeUnauthenticated.
func (a *App) AuthenticateSCIM(ctx context.Context, secret string) (*Actor, error) {
	if !strings.HasPrefix(secret, auth.SCIMPrefix) {
		return nil, errUnauthenticated
	}
	tok, err := a.st.SCIMTokenByHash(ctx, auth.HashSecret(secret))
	if err != nil {
		return nil, authError(err)
	}
	return &Actor{SCIM: &tok, User: access.User{ID: "scim:" + tok.ID, Name: tok.Name}}, nil
}

// scimWrite is the store.Write of a SCIM client's change.
func scimWrite(c *Actor, check func() error) store.Write {
	w := write(c, check)
	w.AuditPrefix = "scim."
	return w
}

func requireSCIM(c *Actor) (*store.SCIMToken, error) {
	if c == nil || c.SCIM == nil {
		return nil, access.Errorf(access.CodeForbidden, "this endpoint is for SCIM tokens")
	}
	return c.SCIM, nil
}

// SCIMUser is a user as a SCIM client sees it.
type SCIMUser struct {
	ID          string
	UserName    string // the email
	DisplayName string
	ExternalID  string
	Active      bool
	HomeAccount string
	Locale      string
	// Groups are the token's groups the user is a member of.
	Groups []SCIMGroupRef
}

// SCIMGroupRef names a group.
type SCIMGroupRef struct{ ID, DisplayName string }

// SCIMUserInput is a whole user from a SCIM client (POST, PUT; PATCH is
// applied by the surface to the current user and sent as a PUT).
// HomeAccount "" means the token's account for a new user and the
// current one otherwise; Active nil means active for a new user and
// unchanged otherwise (a PUT that omits active never re-enables anyone).
type SCIMUserInput struct {
	UserName    string
	DisplayName string
	ExternalID  string
	Active      *bool
	HomeAccount string
	Locale      string
}

// inSubtree reports whether account acct lies in the token's subtree.
func (a *App) inSubtree(tok *store.SCIMToken, acct string) bool {
	return acct != "" && slices.Contains(a.eng.Subtree(tok.Account), acct)
}

// scimVisible reports whether the engine's user id is one the token may
// see: an external user homed in its subtree.
func (a *App) scimVisible(tok *store.SCIMToken, id string) (access.User, bool) {
	u, ok := a.eng.User(id)
	if !ok || u.Kind != access.KindExternal || !a.inSubtree(tok, u.HomeAccount) {
		return access.User{}, false
	}
	return u, true
}

// ListSCIMUsers returns every user the token sees, in id order, for the
// surface to filter and page (a customer's users fit in memory); with
// email set, only the user with that email when the token sees it (the
// lookup identity providers make before every create: one indexed read).
func (a *App) ListSCIMUsers(ctx context.Context, c *Actor, email string) ([]SCIMUser, error) {
	tok, err := requireSCIM(c)
	if err != nil {
		return nil, err
	}
	if email != "" {
		u, err := a.st.GetUserByEmail(ctx, email)
		if access.ErrorCode(err) == access.CodeNotFound {
			return []SCIMUser{}, nil
		}
		if err != nil {
			return nil, err
		}
		if _, ok := a.scimVisible(tok, u.ID); !ok {
			return []SCIMUser{}, nil
		}
		return a.scimUsers(ctx, tok, []access.User{u})
	}
	var users []access.User
	f := store.UserFilter{HomeAccounts: a.eng.Subtree(tok.Account), Kind: access.KindExternal, Limit: store.MaxListLimit}
	for {
		page, next, err := a.st.ListUsers(ctx, f)
		if err != nil {
			return nil, err
		}
		users = append(users, page...)
		if next == "" {
			break
		}
		f.Cursor = next
	}
	return a.scimUsers(ctx, tok, users)
}

func (a *App) scimUsers(ctx context.Context, tok *store.SCIMToken, users []access.User) ([]SCIMUser, error) {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	ext, err := a.st.SCIMExternalIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	groups, err := a.st.SCIMGroups(ctx, tok.ID)
	if err != nil {
		return nil, err
	}
	member := map[string][]SCIMGroupRef{}
	for _, g := range groups {
		for _, m := range g.Members {
			member[m] = append(member[m], SCIMGroupRef{ID: g.ID, DisplayName: g.Name})
		}
	}
	out := make([]SCIMUser, len(users))
	for i, u := range users {
		out[i] = SCIMUser{ID: u.ID, UserName: u.Email, DisplayName: u.Name, ExternalID: ext[u.ID],
			Active: u.Status == access.StatusActive, HomeAccount: u.HomeAccount, Locale: u.Locale, Groups: member[u.ID]}
	}
	return out, nil
}

// GetSCIMUser returns a user the token sees (else CodeNotFound).
func (a *App) GetSCIMUser(ctx context.Context, c *Actor, id string) (SCIMUser, error) {
	tok, err := requireSCIM(c)
	if err != nil {
		return SCIMUser{}, err
	}
	if _, ok := a.scimVisible(tok, id); !ok {
		return SCIMUser{}, access.Errorf(access.CodeNotFound, "user %s not found", id)
	}
	u, err := a.st.GetUser(ctx, id)
	if err != nil {
		return SCIMUser{}, err
	}
	us, err := a.scimUsers(ctx, tok, []access.User{u})
	if err != nil {
		return SCIMUser{}, err
	}
	return us[0], nil
}

// CreateSCIMUser creates an external user homed at in.HomeAccount (the
// token's account when empty; it must lie in the subtree) with a new
// server-assigned id. CodeInvalid: a bad userName or locale, a home
// account outside the subtree; CodeConflict (errSCIMEmailInUse).
func (a *App) CreateSCIMUser(ctx context.Context, c *Actor, in SCIMUserInput) (SCIMUser, int64, error) {
	return a.putSCIMUser(ctx, c, "", in)
}

// ReplaceSCIMUser replaces the user id the token sees with in (CodeNotFound
// for any other; errors as CreateSCIMUser). An inactive user is disabled
// and loses its sessions; an invited user made active becomes active.
func (a *App) ReplaceSCIMUser(ctx context.Context, c *Actor, id string, in SCIMUserInput) (SCIMUser, int64, error) {
	if id == "" {
		return SCIMUser{}, 0, access.Errorf(access.CodeNotFound, "user not found")
	}
	return a.putSCIMUser(ctx, c, id, in)
}

func (a *App) putSCIMUser(ctx context.Context, c *Actor, id string, in SCIMUserInput) (SCIMUser, int64, error) {
	tok, err := requireSCIM(c)
	if err != nil {
		return SCIMUser{}, 0, err
	}
	var old *access.User
	u := access.User{Kind: access.KindExternal, HomeAccount: tok.Account}
	if id == "" {
		u.ID = newSCIMID()
	} else {
		cur, err := a.st.GetUser(ctx, id)
		if _, ok := a.scimVisible(tok, id); !ok || err != nil {
			return SCIMUser{}, 0, access.Errorf(access.CodeNotFound, "user %s not found", id)
		}
		u, old = cur, &cur
	}
	u.Email, u.Name = strings.TrimSpace(in.UserName), strings.TrimSpace(in.DisplayName)
	if in.HomeAccount != "" {
		u.HomeAccount = in.HomeAccount
	}
	if in.Locale != "" {
		u.Locale = in.Locale
	}
	switch {
	case in.Active != nil && !*in.Active:
		u.Status = access.StatusDisabled
	case in.Active != nil || old == nil:
		u.Status = access.StatusActive
	}
	if err := u.Validate(a.eng.Policy()); err != nil {
		return SCIMUser{}, 0, scimField(err)
	}
	check := func() error {
		if !a.inSubtree(tok, u.HomeAccount) {
			return access.FieldErrorf(access.CodeInvalid, "home_account", "the home account must lie in the token's account subtree")
		}
		cur, exists := a.eng.User(u.ID)
		switch {
		case old == nil && exists:
			return access.Errorf(access.CodeConflict, "user %s was created meanwhile", u.ID)
		case old != nil:
			if _, ok := a.scimVisible(tok, u.ID); !ok {
				return access.Errorf(access.CodeNotFound, "user %s not found", u.ID)
			}
			return a.eng.CheckUserProtected(&cur, &u)
		}
		return nil
	}
	if err := check(); err != nil {
		return SCIMUser{}, 0, err
	}
	w := scimWrite(c, check)
	if old != nil && old.Email != u.Email {
		a.emailChanged(ctx, &w, *old, u)
	}
	_, rev, err := a.st.PutSCIMUser(ctx, w, u, in.ExternalID)
	if access.ErrorCode(err) == access.CodeConflict {
		return SCIMUser{}, 0, errSCIMEmailInUse
	}
	if err != nil {
		return SCIMUser{}, 0, err
	}
	if len(w.Mail) > 0 {
		a.sent()
	}
	su, err := a.GetSCIMUser(ctx, c, u.ID)
	return su, rev, err
}

// scimField names the SCIM attribute of a user validation error.
func scimField(err error) error {
	var e *access.Error
	if errors.As(err, &e) && e.Field == "email" {
		return &access.Error{Code: e.Code, Field: "userName", Message: "userName must be a valid email address"}
	}
	return err
}

// DeleteSCIMUser deletes a user the token sees (CodeNotFound for others)
// with its grants, memberships, sessions and tokens; CodeProtected while
// it holds a protected (Owner) grant: disable it instead.
func (a *App) DeleteSCIMUser(ctx context.Context, c *Actor, id string) (int64, error) {
	tok, err := requireSCIM(c)
	if err != nil {
		return 0, err
	}
	check := func() error {
		u, ok := a.scimVisible(tok, id)
		if !ok {
			return access.Errorf(access.CodeNotFound, "user %s not found", id)
		}
		if err := a.eng.CheckUserProtected(&u, nil); err != nil {
			return access.Errorf(access.CodeProtected, "the user holds an Owner grant and cannot be deleted; set active to false instead")
		}
		return nil
	}
	if err := check(); err != nil {
		return 0, err
	}
	return a.st.DeleteUser(ctx, scimWrite(c, check), id)
}

// SCIMGroupInput is a whole group from a SCIM client: its displayName,
// externalId and member user ids.
type SCIMGroupInput struct {
	DisplayName string
	ExternalID  string
	Members     []string
}

// ListSCIMGroups lists the groups the token created, in id order.
func (a *App) ListSCIMGroups(ctx context.Context, c *Actor) ([]store.SCIMGroup, error) {
	tok, err := requireSCIM(c)
	if err != nil {
		return nil, err
	}
	return a.st.SCIMGroups(ctx, tok.ID)
}

// GetSCIMGroup returns a group the token created (else CodeNotFound).
func (a *App) GetSCIMGroup(ctx context.Context, c *Actor, id string) (store.SCIMGroup, error) {
	tok, err := requireSCIM(c)
	if err != nil {
		return store.SCIMGroup{}, err
	}
	return a.st.GetSCIMGroup(ctx, tok.ID, id)
}

// CreateSCIMGroup creates a group of the token on its account, with the
// grant its displayName maps to (scimGroupRole). CodeInvalid: an empty
// displayName, a member the token does not see.
func (a *App) CreateSCIMGroup(ctx context.Context, c *Actor, in SCIMGroupInput) (store.SCIMGroup, int64, error) {
	return a.putSCIMGroup(ctx, c, "", in)
}

// ReplaceSCIMGroup replaces a group the token created (CodeNotFound for
// any other): its displayName (and so its grant), externalId and members.
func (a *App) ReplaceSCIMGroup(ctx context.Context, c *Actor, id string, in SCIMGroupInput) (store.SCIMGroup, int64, error) {
	if _, err := a.GetSCIMGroup(ctx, c, id); err != nil {
		return store.SCIMGroup{}, 0, err
	}
	return a.putSCIMGroup(ctx, c, id, in)
}

func (a *App) putSCIMGroup(ctx context.Context, c *Actor, id string, in SCIMGroupInput) (store.SCIMGroup, int64, error) {
	tok, err := requireSCIM(c)
	if err != nil {
		return store.SCIMGroup{}, 0, err
	}
	if id == "" {
		id = newSCIMID()
	}
	name := strings.TrimSpace(in.DisplayName)
	if name == "" || len(name) > 200 {
		return store.SCIMGroup{}, 0, access.FieldErrorf(access.CodeInvalid, "displayName", "displayName is required (at most 200 characters)")
	}
	members := slices.Compact(slices.Sorted(slices.Values(in.Members)))
	g := store.SCIMGroup{GroupWithMembers: store.GroupWithMembers{Group: access.Group{ID: id, Name: name, Account: tok.Account},
		Members: members}, TokenID: tok.ID, ExternalID: in.ExternalID}
	g.Role = a.scimGroupRole(tok, name)
	check := func() error {
		for _, m := range members {
			if _, ok := a.scimVisible(tok, m); !ok {
				return access.FieldErrorf(access.CodeInvalid, "members", "member %s not found", m)
			}
		}
		if a.scimGroupRole(tok, name) != g.Role {
			return access.Errorf(access.CodeConflict, "the policy changed meanwhile; try again")
		}
		return nil
	}
	if err := g.Group.Validate(); err != nil {
		return store.SCIMGroup{}, 0, err
	}
	if err := check(); err != nil {
		return store.SCIMGroup{}, 0, err
	}
	_, rev, err := a.st.PutSCIMGroup(ctx, scimWrite(c, check), g)
	if err != nil {
		return store.SCIMGroup{}, 0, err
	}
	g, err = a.st.GetSCIMGroup(ctx, tok.ID, id)
	return g, rev, err
}

// scimGroupRole is the role membership of a group named name yields on
// the token's account: group_roles[name] when that role is, in the
// current policy, assignable and not above max_role; else none ("").
func (a *App) scimGroupRole(tok *store.SCIMToken, name string) string {
	role, ok := tok.GroupRoles[name]
	if !ok {
		return ""
	}
	pol := a.eng.Policy()
	r, max := pol.Role(role), pol.Role(tok.MaxRole)
	if r == nil || max == nil || !r.Assignable || r.Protected || r.Level > max.Level {
		return ""
	}
	return role
}

// DeleteSCIMGroup deletes a group the token created, with its grant and
// memberships (CodeNotFound for any other).
func (a *App) DeleteSCIMGroup(ctx context.Context, c *Actor, id string) (int64, error) {
	if _, err := a.GetSCIMGroup(ctx, c, id); err != nil {
		return 0, err
	}
	return a.st.DeleteGroup(ctx, scimWrite(c, nil), id)
}

// newSCIMID returns a new id for a user or group a SCIM client creates:
// "scim_" and 16 characters of [a-z2-7].
func newSCIMID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "scim_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// SCIMBaseURL is the SCIM "Tenant URL" identity providers are given:
// --public-url and /scim/v2, or "" without a public URL (the console
// then shows the address it was reached at).
func (a *App) SCIMBaseURL() string {
	if a.mail.PublicURL == "" {
		return ""
	}
	return a.link("/scim/v2")
}
