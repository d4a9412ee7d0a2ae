package app

import (
	"context"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Accounts: staff list and read every account and staff writers (admins,
// access managers) change them; an external user reads only the accounts
// its grants reach (others are CodeNotFound) and changes none.

// AccountUpdate is a partial write of an account (PUT and PATCH): absent
// fields keep their stored value, null resets external_access and
// require_mfa to false and inherit to true, and clears name, kind and
// parent.
type AccountUpdate struct {
	ID             Optional[string] `json:"id"`
	Name           Optional[string] `json:"name"`
	Kind           Optional[string] `json:"kind"`
	Parent         Optional[string] `json:"parent"`
	ExternalAccess Optional[bool]   `json:"external_access"`
	Inherit        Optional[bool]   `json:"inherit"`
	// RequireMFA makes users homed in the account's subtree sign in with a
	// second factor (identity.md §6).
	RequireMFA Optional[bool] `json:"require_mfa"`
}

func (u AccountUpdate) applyTo(acct *access.Account) error {
	if u.ID.Set && !u.ID.Null && u.ID.Value != acct.ID {
		return access.FieldErrorf(access.CodeInvalid, "id", "body id %s does not match the path", u.ID.Value)
	}
	u.Name.apply(&acct.Name, "")
	u.Kind.apply(&acct.Kind, "")
	u.Parent.apply(&acct.Parent, "")
	u.ExternalAccess.apply(&acct.ExternalAccess, false)
	u.Inherit.apply(&acct.Inherit, true)
	u.RequireMFA.apply(&acct.RequireMFA, false)
	return nil
}

// AccountFilter selects accounts for staff: Parent (when set) the children
// of an account ("" the roots), Query a substring of id or name.
type AccountFilter struct {
	Parent *string
	Query  string
	ListParams
}

// ListAccounts lists accounts: every account for staff (filtered and
// paged), the accounts its grants reach for an external user (one page).
func (a *App) ListAccounts(ctx context.Context, c *Actor, f AccountFilter) (Page[access.Account], error) {
	if !c.Internal() {
		var out []access.Account
		for _, aa := range a.eng.Reach(c.ID()) {
			if acct, ok := a.eng.Account(aa.ID); ok {
				out = append(out, acct)
			}
		}
		return Page[access.Account]{Items: out}, nil
	}
	items, next, err := a.st.ListAccounts(ctx, store.AccountFilter{Parent: f.Parent, Query: f.Query, Limit: f.limit(), Cursor: f.Cursor})
	return Page[access.Account]{Items: items, Next: next}, err
}

// reachable reports whether an external user's grants reach the account.
func (a *App) reachable(c *Actor, id string) bool {
	for _, aa := range a.eng.Reach(c.ID()) {
		if aa.ID == id {
			return true
		}
	}
	return false
}

// GetAccount returns an account: any for staff, one its grants reach for
// an external user (else CodeNotFound).
func (a *App) GetAccount(ctx context.Context, c *Actor, id string) (access.Account, error) {
	if !c.Internal() && !a.reachable(c, id) {
		return access.Account{}, access.Errorf(access.CodeNotFound, "account %s not found", id)
	}
	return a.st.GetAccount(ctx, id)
}

// PutAccount creates (when create is true and the account does not exist)
// or updates the account id with the fields u sets, and returns it as
// stored. Staff writers only (CodeForbidden); a missing parent or a cycle
// is CodeInvalid, an unknown account without create CodeNotFound.
// Switching external access on creates the account's group and default
// grant (the store does it in the same transaction).
func (a *App) PutAccount(ctx context.Context, c *Actor, id string, u AccountUpdate, create bool) (acct access.Account, created bool, rev int64, err error) {
	if err := requireStaffWriter(c); err != nil {
		return acct, false, 0, err
	}
	if !access.ValidID(id) {
		return acct, false, 0, access.FieldErrorf(access.CodeInvalid, "id", "account id %q must be 1-64 characters of A-Za-z0-9._:-", id)
	}
	acct, err = a.st.GetAccount(ctx, id)
	switch {
	case access.ErrorCode(err) == access.CodeNotFound && create:
		acct = access.Account{ID: id, Inherit: true}
	case err != nil:
		return acct, false, 0, err
	}
	if err := u.applyTo(&acct); err != nil {
		return acct, false, 0, err
	}
	if err := acct.Validate(); err != nil {
		return acct, false, 0, err
	}
	created, rev, err = a.st.PutAccount(ctx, write(c, a.staffWriterStill(c)), acct)
	if err != nil {
		return acct, false, 0, err
	}
	if atomic(ctx) {
		return acct, created, rev, nil
	}
	acct, err = a.st.GetAccount(ctx, id)
	return acct, created, rev, err
}

// DeleteAccount deletes an account. Staff writers only; an account with
// children, records, home users or grants is CodeConflict (CodeProtected
// with an Owner grant on it).
func (a *App) DeleteAccount(ctx context.Context, c *Actor, id string) (int64, error) {
	if err := requireStaffWriter(c); err != nil {
		return 0, err
	}
	return a.st.DeleteAccount(ctx, write(c, a.staffWriterStill(c)), id)
}
