package app

import (
	"context"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Creates that never replace. PutAccount, PutUser and PutGroup create or
// update (the API's PUT is an upsert); a create form (the admin console's
// "New account", "New user", "New group") must not silently change what
// already exists, so these use cases refuse an existing id with
// CodeConflict, Field "id".

// CreateAccount creates the account id with the fields u sets (inherit is
// true unless u says otherwise) and returns it as stored. Staff writers
// only (CodeForbidden). Errors: CodeConflict (Field "id") when the account
// exists, also when it was created between this call and the write (the
// check is repeated inside the write transaction); CodeInvalid for a bad id
// (Field "id") or a missing parent (Field "parent"). Switching external
// access on creates the account's group and default grant, as PutAccount.
func (a *App) CreateAccount(ctx context.Context, c *Actor, id string, u AccountUpdate) (access.Account, int64, error) {
	if err := requireStaffWriter(c); err != nil {
		return access.Account{}, 0, err
	}
	if !access.ValidID(id) {
		return access.Account{}, 0, access.FieldErrorf(access.CodeInvalid, "id", "account id %q must be 1-64 characters of A-Za-z0-9._:-", id)
	}
	acct := access.Account{ID: id, Inherit: true}
	if err := u.applyTo(&acct); err != nil {
		return acct, 0, err
	}
	staff := a.staffWriterStill(c)
	check := func() error {
		if _, exists := a.eng.Account(id); exists {
			return access.FieldErrorf(access.CodeConflict, "id", "account %s already exists", id)
		}
		if acct.Parent != "" {
			if _, ok := a.eng.Account(acct.Parent); !ok {
				return access.FieldErrorf(access.CodeInvalid, "parent", "parent account %s does not exist", acct.Parent)
			}
		}
		return staff()
	}
	if err := check(); err != nil {
		return acct, 0, err
	}
	if err := acct.Validate(); err != nil {
		return acct, 0, err
	}
	_, rev, err := a.st.PutAccount(ctx, write(c, check), acct)
	if err != nil {
		return acct, 0, err
	}
	acct, err = a.st.GetAccount(ctx, id)
	return acct, rev, err
}

// CreateUser creates the user id from in (a new user defaults to an
// active external user) and returns it as stored. Who may is decided as
// for PutUser (staff writers, access managers not admins, customer admins
// within their reach; CheckUser inside the write transaction). Errors:
// CodeConflict when the user exists (Field "id"; the in-transaction check
// also refuses one created meanwhile) or its email is in use,
// CodeForbidden, CodeInvalid (shape, a missing home account; with the
// Field of the input).
func (a *App) CreateUser(ctx context.Context, c *Actor, id string, in UserUpdate) (access.User, int64, error) {
	if _, err := a.userAdmin(c); err != nil {
		return access.User{}, 0, err
	}
	if !access.ValidID(id) {
		return access.User{}, 0, access.FieldErrorf(access.CodeInvalid, "id", "user id %q must be 1-64 characters of A-Za-z0-9._:-", id)
	}
	if _, exists := a.eng.User(id); exists {
		return access.User{}, 0, access.FieldErrorf(access.CodeConflict, "id", "user %s already exists", id)
	}
	u := access.User{ID: id, Kind: access.KindExternal, Status: access.StatusActive}
	if err := in.applyTo(&u); err != nil {
		return u, 0, err
	}
	// saveUser with no old user refuses, inside the write transaction, a
	// user created meanwhile.
	_, rev, err := a.saveUser(ctx, c, nil, u)
	if err != nil {
		return u, 0, err
	}
	u, err = a.st.GetUser(ctx, id)
	return u, rev, err
}

// CreateGroup creates the group id with in's name and account (Members,
// when set, are added one audited change each) and returns it. Staff
// writers only (CodeForbidden). Errors: CodeConflict (Field "id") when the
// group exists; CodeInvalid for a bad id (Field "id"), a missing account
// (Field "account") or member (Field "members"). The engine holds no group
// lookup for the in-transaction check, so a group of the same id created
// concurrently, after the existence check, is renamed rather than refused.
func (a *App) CreateGroup(ctx context.Context, c *Actor, id string, in GroupUpdate) (store.GroupWithMembers, int64, error) {
	if err := requireStaffWriter(c); err != nil {
		return store.GroupWithMembers{}, 0, err
	}
	switch _, err := a.st.GetGroup(ctx, id); {
	case err == nil:
		return store.GroupWithMembers{}, 0, access.FieldErrorf(access.CodeConflict, "id", "group %s already exists", id)
	case access.ErrorCode(err) != access.CodeNotFound:
		return store.GroupWithMembers{}, 0, err
	}
	if !access.ValidID(id) {
		return store.GroupWithMembers{}, 0, access.FieldErrorf(access.CodeInvalid, "id", "group id %q must be 1-64 characters of A-Za-z0-9._:-", id)
	}
	g := access.Group{ID: id}
	in.Name.apply(&g.Name, "")
	in.Account.apply(&g.Account, "")
	for _, m := range in.Members.Value {
		if _, ok := a.eng.User(m); !ok {
			return store.GroupWithMembers{}, 0, access.FieldErrorf(access.CodeInvalid, "members", "member %s does not exist", m)
		}
	}
	_, rev, err := a.saveGroup(ctx, c, g)
	if err != nil {
		return store.GroupWithMembers{}, 0, err
	}
	for _, m := range in.Members.Value {
		if rev, err = a.addMember(ctx, c, id, m); err != nil {
			return store.GroupWithMembers{}, 0, err
		}
	}
	out, err := a.st.GetGroup(ctx, id)
	return out, rev, err
}
