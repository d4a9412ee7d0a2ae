package app

import (
	"context"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// Account group memberships (identity.md §5): besides staff, a customer
// admin adds its users to, and removes them from, the account groups
// acct:<A> of the accounts A it administers, when every grant of the group
// (the group's role on A) is assignable at or below its level there
// (access.Engine.CheckMembership). Each change is audited by the store
// like a staff membership change (member.add, member.remove).

// MemberChange names a membership of an account group: the account whose
// group acct:<Account> it is, and the user.
type MemberChange struct {
	Account string `json:"account"`
	User    string `json:"user"`
}

// AddAccountGroupMember adds in.User to the account group of in.Account,
// checked with the engine inside the write transaction; adding a member
// twice changes nothing. Staff writers may add any user to any existing
// account group; a customer admin as CheckMembership allows. Errors:
// CodeForbidden (not allowed; to a customer admin also an unknown user or
// account, in the same words as one outside its reach), CodeNotFound (to
// staff: no such account group or user).
func (a *App) AddAccountGroupMember(ctx context.Context, c *Actor, in MemberChange) (int64, error) {
	check, err := a.memberCheck(c, in)
	if err != nil {
		return 0, err
	}
	return a.st.AddMember(ctx, write(c, check), access.AccountGroupID(in.Account), in.User)
}

// RemoveAccountGroupMember removes in.User from the account group of
// in.Account; removing a non-member changes nothing. Authorization and
// errors as AddAccountGroupMember.
func (a *App) RemoveAccountGroupMember(ctx context.Context, c *Actor, in MemberChange) (int64, error) {
	check, err := a.memberCheck(c, in)
	if err != nil {
		return 0, err
	}
	return a.st.RemoveMember(ctx, write(c, check), access.AccountGroupID(in.Account), in.User)
}

// memberCheck authorizes a membership change of an account group and
// returns the check to run again inside the write transaction.
func (a *App) memberCheck(c *Actor, in MemberChange) (func() error, error) {
	if c.Internal() {
		if err := requireStaffWriter(c); err != nil {
			return nil, err
		}
	} else if _, err := a.userAdmin(c); err != nil {
		return nil, err
	}
	gid := access.AccountGroupID(in.Account)
	staff := a.staffWriterStill(c)
	check := func() error {
		if c.Internal() {
			if err := staff(); err != nil {
				return err
			}
			if _, ok := a.eng.Group(gid); !ok {
				return access.FieldErrorf(access.CodeNotFound, "account", "account %s has no account group", in.Account)
			}
			if _, ok := a.eng.User(in.User); !ok {
				return access.FieldErrorf(access.CodeNotFound, "user", "user %s not found", in.User)
			}
			return nil
		}
		return a.eng.CheckMembership(c.ID(), gid, in.User)
	}
	if err := check(); err != nil {
		return nil, err
	}
	return check, nil
}
