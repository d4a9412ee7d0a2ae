package app

import (
	"context"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The customer portal's reads. The portal is for external users; staff see
// it only through view as, read-only, as the external user they name
// (asUser): every use case here takes that user and answers exactly what
// the user would get. Writes from the portal use the same use cases as the
// API (CreateRecord, PatchRecord, PutUser, CreateGrant, UpdateGrant,
// DeleteGrant), as the signed-in user.

// PortalView is whose portal a page shows and the accounts that user can
// act on.
type PortalView struct {
	// Subject is the external user the page is for: the actor, or the user
	// a staff member views the portal as.
	Subject access.User
	// ViewAs is set when a staff member views the portal as Subject.
	ViewAs bool
	// Accounts are the accounts Subject's active grants reach, sorted by id.
	Accounts []access.AccountAccess
}

// Portal resolves whose portal the actor sees: its own for an external
// user (asUser empty), or, for staff, that of the external user asUser
// (view as). View as is audited ("portal.view_as", as ViewAs) on the first
// page a staff member opens as asUser and again at most every
// ViewAsReaudit while it keeps viewing, whatever URL it opens (a bookmark,
// the history). Errors: CodeForbidden for staff without asUser (the
// portal is for customer users) and for external actors naming asUser,
// CodeNotFound when asUser is not an external user, and the store's error
// when the audit entry cannot be written.
func (a *App) Portal(ctx context.Context, c *Actor, asUser string) (PortalView, error) {
	v, err := a.portalView(c, asUser)
	if err != nil {
		return v, err
	}
	if v.ViewAs {
		if err := a.auditViewAs(ctx, c, v.Subject, "portal.view_as"); err != nil {
			return PortalView{}, err
		}
	}
	return v, nil
}

// portalView is Portal without the audit, for use cases a portal page
// calls after Portal.
func (a *App) portalView(c *Actor, asUser string) (PortalView, error) {
	v := PortalView{Subject: c.User}
	if asUser != "" {
		if !c.Internal() {
			return PortalView{}, access.Errorf(access.CodeForbidden, "view as is for staff")
		}
		u, ok := a.eng.User(asUser)
		if !ok || u.Kind != access.KindExternal {
			return PortalView{}, access.Errorf(access.CodeNotFound, "no such external user")
		}
		v.Subject, v.ViewAs = u, true
	} else if c.Internal() {
		return PortalView{}, access.Errorf(access.CodeForbidden, "the portal is for customer users; use view as in the console")
	}
	v.Accounts = a.eng.Reach(v.Subject.ID)
	return v, nil
}

// CreateFields returns what the subject (the actor, or asUser for staff:
// view as) may write on a record of type typ it creates under account
// owner (records.md §1): what a "new record" form offers. Errors:
// CodeNotFound (unknown type), CodeForbidden (the subject may not create
// such records under owner), CodeInvalid and CodeForbidden of asUser as for
// GetRecord.
func (a *App) CreateFields(c *Actor, typ, owner, asUser string) (access.Writer, error) {
	t, err := a.recordType(typ)
	if err != nil {
		return access.Writer{}, err
	}
	subj, err := a.lookupSubject(c, asUser)
	if err != nil {
		return access.Writer{}, err
	}
	return a.eng.CanCreate(subj.ID, t.Name, owner)
}

// CompanyScope names a "Company users" page: the account it is for and,
// for staff viewing the portal, the external user (AsUser).
type CompanyScope struct {
	Account string
	AsUser  string
}

// Company is who administers the users of an account in the portal.
type Company struct {
	Subject access.User
	// Account is the account the page is for.
	Account access.AccountAccess
	// Managed are the accounts of Account's subtree the subject
	// administers (Account among them), sorted by id.
	Managed []string
	// Level is the subject's administration level on Account: the highest
	// level of its manage_users roles there.
	Level int
}

// ManagedGrant is a grant as the Company users page shows it.
type ManagedGrant struct {
	access.Grant
	// User is the principal when it is a known user (zero otherwise).
	User access.User
	// GroupName is the name of a group principal ("" when unknown).
	GroupName string
	// CanChange and CanRevoke are the engine's answers (CheckGrant) to
	// whether the subject may change the grant (to itself) or delete it,
	// so a page offers only what a write would allow. Refusal is the
	// engine's reason when changing is refused.
	CanChange, CanRevoke bool
	Refusal              error
}

// Company authorizes a Company users page of s.Account and returns who
// administers its users: the subject (the actor, or s.AsUser for staff
// viewing the portal), the accounts of the subtree it administers and its
// level. Errors: as Portal, plus CodeNotFound for an account the subject
// does not reach and CodeForbidden for one whose users it may not manage
// (no role with manage_users there).
func (a *App) Company(c *Actor, s CompanyScope) (Company, error) {
	v, err := a.portalView(c, s.AsUser)
	if err != nil {
		return Company{}, err
	}
	co := Company{Subject: v.Subject}
	found := false
	for _, aa := range v.Accounts {
		if aa.ID == s.Account {
			co.Account, found = aa, true
		}
	}
	if !found {
		return Company{}, access.Errorf(access.CodeNotFound, "no such account")
	}
	if !co.Account.ManageUsers {
		return Company{}, access.Errorf(access.CodeForbidden, "you may not manage the users of %s", co.Account.Name)
	}
	scope := a.scope(v.Subject.ID, s.Account)
	for _, aa := range v.Accounts {
		if aa.ManageUsers && scope[aa.ID] {
			co.Managed = append(co.Managed, aa.ID)
		}
	}
	co.Level = a.eng.ManageLevel(v.Subject.ID, s.Account)
	return co, nil
}

// CompanyGrants lists, in the store's order (by grant id), the grants on
// the accounts of s.Account's subtree that the subject administers, each
// with its principal's name and the engine's dry-run answers for the
// subject. Authorization and errors as Company.
func (a *App) CompanyGrants(ctx context.Context, c *Actor, s CompanyScope, p ListParams) (Page[ManagedGrant], error) {
	co, err := a.Company(c, s)
	if err != nil {
		return Page[ManagedGrant]{}, err
	}
	grants, next, err := a.st.ListGrants(ctx, store.GrantFilter{Accounts: co.Managed, Limit: p.limit(), Cursor: p.Cursor})
	if err != nil {
		return Page[ManagedGrant]{}, err
	}
	groups := map[string]string{}
	out := Page[ManagedGrant]{Next: next, Items: make([]ManagedGrant, 0, len(grants))}
	for _, g := range grants {
		out.Items = append(out.Items, a.managedGrant(ctx, co.Subject, g, groups))
	}
	return out, nil
}

// CompanyGrant returns one grant for a change or revoke page: CodeNotFound
// unless it is on an account of s.Account's subtree the subject
// administers. Authorization and other errors as Company.
func (a *App) CompanyGrant(ctx context.Context, c *Actor, s CompanyScope, id string) (ManagedGrant, error) {
	co, err := a.Company(c, s)
	if err != nil {
		return ManagedGrant{}, err
	}
	g, err := a.st.GetGrant(ctx, id)
	if access.ErrorCode(err) == access.CodeNotFound || (err == nil && !contains(co.Managed, g.Account)) {
		return ManagedGrant{}, access.Errorf(access.CodeNotFound, "no such grant")
	}
	if err != nil {
		return ManagedGrant{}, err
	}
	return a.managedGrant(ctx, co.Subject, g, map[string]string{}), nil
}

// managedGrant describes g for subj: the principal from the engine (a
// group's name from the store, once per call through groups) and the
// dry-run answers of CheckGrant.
func (a *App) managedGrant(ctx context.Context, subj access.User, g access.Grant, groups map[string]string) ManagedGrant {
	m := ManagedGrant{Grant: g}
	kind, id, _ := strings.Cut(g.Principal, ":")
	switch kind {
	case "user":
		m.User, _ = a.eng.User(id)
	case "group":
		name, ok := groups[id]
		if !ok {
			if gr, err := a.st.GetGroup(ctx, id); err == nil {
				name = gr.Name
			}
			groups[id] = name
		}
		m.GroupName = name
	}
	m.Refusal = a.eng.CheckGrant(subj.ID, &g, &g)
	m.CanChange = m.Refusal == nil
	m.CanRevoke = a.eng.CheckGrant(subj.ID, &g, nil) == nil
	return m
}

// MaxColleagues bounds the colleagues CompanyColleagues returns.
const MaxColleagues = 500

// CompanyColleagues returns the users a customer admin may give access
// from the Company users page: the first MaxColleagues (in the store's
// order) external users homed in the accounts of s.Account's subtree it
// administers, neither disabled nor the subject itself. Authorization and
// errors as Company.
func (a *App) CompanyColleagues(ctx context.Context, c *Actor, s CompanyScope) ([]access.User, error) {
	co, err := a.Company(c, s)
	if err != nil {
		return nil, err
	}
	users, _, err := a.st.ListUsers(ctx, store.UserFilter{HomeAccounts: co.Managed, Kind: access.KindExternal, Limit: MaxColleagues})
	if err != nil {
		return nil, err
	}
	out := users[:0]
	for _, u := range users {
		if u.ID != co.Subject.ID && u.Status != access.StatusDisabled {
			out = append(out, u)
		}
	}
	return out, nil
}

// AccessLimit is a limit of the subject's own access to an account, for
// the portal's notices (portal.md §3): users think records are missing
// when a days-back window or an end date hides them.
type AccessLimit struct {
	// Account is the name of the account the covering grants are on.
	Account string
	// DaysBack, when set, is the longest window of the covering grants:
	// the account's dated records older than that are hidden.
	DaysBack *int
	// Until, when set, is when the last covering grant ends.
	Until *time.Time
}

// AccessLimits returns the limits of the subject's access to acct: over
// the subject's active grants that cover acct (access.Engine.
// CoveringGrants), a days-back window when every one of them has one (the
// longest is what shows), and an end when every one of them ends (the
// latest). Nothing when no grant covers acct or none of them is limited.
func (a *App) AccessLimits(ctx context.Context, c *Actor, asUser, acct string) (AccessLimit, error) {
	subj, err := a.subject(ctx, c, asUser)
	if err != nil {
		return AccessLimit{}, err
	}
	var out AccessLimit
	covering, allDays, allEnd := 0, true, true
	maxDays := 0
	var lastEnd time.Time
	for _, g := range a.eng.CoveringGrants(subj.ID, acct) {
		covering++
		if out.Account == "" {
			if ga, ok := a.eng.Account(g.Account); ok {
				out.Account = ga.Name
			}
		}
		if g.DaysBack == nil {
			allDays = false
		} else {
			maxDays = max(maxDays, *g.DaysBack)
		}
		if g.ValidUntil == nil {
			allEnd = false
		} else if g.ValidUntil.After(lastEnd) {
			lastEnd = *g.ValidUntil
		}
	}
	if covering == 0 {
		return AccessLimit{}, nil
	}
	if allDays {
		out.DaysBack = &maxDays
	}
	if allEnd {
		out.Until = &lastEnd
	}
	return out, nil
}
