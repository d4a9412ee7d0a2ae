package app

import (
	"context"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The people of a Company users page (identity.md §5): every external user
// homed in the accounts the subject administers there, whether it reaches
// them through a grant of its own or only through an account group, with
// what the page may offer for it, answered by the engine's checks as a
// dry run so that a page offers only what a write would allow.

// CompanyUser is one person as the Company users page lists it.
type CompanyUser struct {
	// User is the user as stored, with LastLoginAt.
	access.User
	// Grants are its own grants on the accounts the subject administers.
	Grants []access.Grant
	// Groups are the account groups of administered accounts it is a
	// member of; AddTo those the subject may add it to.
	Groups, AddTo []CompanyGroup
	// Elsewhere says that it has access, of its own or through a group,
	// on an account the subject does not administer (which is not named).
	Elsewhere bool
	// Invitation is its pending or expired invitation, if any.
	Invitation *store.Invitation
	// CanDisable, CanEnable, CanReset and CanInvitation (resend or revoke
	// the invitation) are the engine's answers for the subject; Refusal is
	// why a status change is refused (nil when it is allowed).
	CanDisable, CanEnable, CanReset, CanInvitation bool
	Refusal                                        error
}

// CompanyGroup is an account group acct:<Account> as a person's row shows
// it: Role is the group's role on Account ("" when it has no grant there);
// CanRemove whether the subject may take the person out of it.
type CompanyGroup struct {
	ID, Name, Account, Role string
	CanRemove               bool
}

// CompanyUsers lists, in the store's order (by user id), the external
// users homed in the accounts of s.Account's subtree the subject
// administers, each with its grants and account groups there, its pending
// invitation and the dry-run answers of the engine for the subject.
// Authorization and errors as Company.
func (a *App) CompanyUsers(ctx context.Context, c *Actor, s CompanyScope, p ListParams) (Page[CompanyUser], error) {
	co, err := a.Company(c, s)
	if err != nil {
		return Page[CompanyUser]{}, err
	}
	users, next, err := a.st.ListUsers(ctx, store.UserFilter{HomeAccounts: co.Managed, Kind: access.KindExternal,
		Limit: p.limit(), Cursor: p.Cursor})
	if err != nil {
		return Page[CompanyUser]{}, err
	}
	groups := a.accountGroups(co.Managed)
	out := Page[CompanyUser]{Next: next, Items: make([]CompanyUser, 0, len(users))}
	for _, u := range users {
		cu, err := a.companyUser(ctx, co, groups, u)
		if err != nil {
			return Page[CompanyUser]{}, err
		}
		out.Items = append(out.Items, cu)
	}
	return out, nil
}

// accountGroups returns the account groups of the managed accounts that
// exist, each with its role on its account, in the order of managed.
func (a *App) accountGroups(managed []string) []CompanyGroup {
	var out []CompanyGroup
	for _, acct := range managed {
		gid := access.AccountGroupID(acct)
		g, ok := a.eng.Group(gid)
		if !ok {
			continue
		}
		cg := CompanyGroup{ID: gid, Name: g.Name, Account: acct}
		for _, gr := range a.eng.GroupGrants(gid) {
			if gr.Account == acct {
				cg.Role = gr.Role
			}
		}
		out = append(out, cg)
	}
	return out
}

// companyUser describes u for co's subject.
func (a *App) companyUser(ctx context.Context, co Company, groups []CompanyGroup, u access.User) (CompanyUser, error) {
	subj := co.Subject.ID
	cu := CompanyUser{User: u}
	for _, g := range a.eng.UserGrants(u.ID) {
		switch {
		case !contains(co.Managed, g.Account):
			cu.Elsewhere = true
		case g.Principal == "user:"+u.ID:
			cu.Grants = append(cu.Grants, g)
		}
	}
	member := map[string]bool{}
	for _, gid := range a.eng.UserGroups(u.ID) {
		member[gid] = true
	}
	for _, g := range groups {
		g.CanRemove = a.eng.CheckMembership(subj, g.ID, u.ID) == nil
		if member[g.ID] {
			cu.Groups = append(cu.Groups, g)
		} else if g.CanRemove {
			g.CanRemove = false
			cu.AddTo = append(cu.AddTo, g)
		}
	}
	cur, ok := a.eng.User(u.ID)
	if !ok {
		return cu, nil // deleted since the list was read
	}
	next := cur
	switch cur.Status {
	case access.StatusActive:
		next.Status = access.StatusDisabled
	case access.StatusDisabled:
		next.Status = access.StatusActive
	}
	if next.Status != cur.Status {
		cu.Refusal = a.eng.CheckUser(subj, &cur, &next)
		cu.CanDisable = cu.Refusal == nil && cur.Status == access.StatusActive
		cu.CanEnable = cu.Refusal == nil && cur.Status == access.StatusDisabled
		cu.CanReset = cu.CanDisable && u.Email != ""
	}
	if u.Status == access.StatusInvited {
		invs, _, err := a.st.ListInvitations(ctx, store.InvitationFilter{HomeAccounts: co.Managed, UserID: u.ID,
			Now: a.Now(), Limit: store.MaxListLimit})
		if err != nil {
			return cu, err
		}
		for i := len(invs) - 1; i >= 0; i-- {
			if st := invs[i].Status; st == store.InvitationPending || st == store.InvitationExpired {
				inv := invs[i]
				cu.Invitation = &inv
				break
			}
		}
		cu.CanInvitation = cu.Invitation != nil && a.eng.CheckUser(subj, &cur, &cur) == nil
	}
	return cu, nil
}
