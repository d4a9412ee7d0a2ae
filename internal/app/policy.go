package app

import (
	"context"
	"errors"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The policy is read by staff and changed by admins only (access managers
// manage access data, not the policy); external users get CodeForbidden.

// Policy returns the current policy version (staff).
func (a *App) Policy(ctx context.Context, c *Actor) (store.PolicyVersion, error) {
	if err := requireStaff(c); err != nil {
		return store.PolicyVersion{}, err
	}
	return a.st.Policy(ctx)
}

// PolicyVersions returns the policy's history, newest first (staff).
func (a *App) PolicyVersions(ctx context.Context, c *Actor) ([]store.PolicyVersion, error) {
	if err := requireStaff(c); err != nil {
		return nil, err
	}
	return a.st.PolicyVersions(ctx)
}

// CheckPolicy parses, validates and compiles a policy document without
// storing it: nil when it is valid, else every problem found (a parse
// error is one problem, located by line where the decoder says).
func CheckPolicy(src []byte) []policy.Problem {
	d, err := policy.Parse(src)
	if err != nil {
		return []policy.Problem{{Message: err.Error()}}
	}
	if err := policy.Validate(d); err != nil {
		var ve *policy.ValidationError
		if errors.As(err, &ve) {
			return ve.Problems
		}
		return []policy.Problem{{Message: err.Error()}}
	}
	if _, err := policy.Compile(d); err != nil {
		return []policy.Problem{{Message: err.Error()}}
	}
	return nil
}

// PutPolicy stores a new policy version (YAML or JSON) and makes it
// current. Admins only (CodeForbidden); an invalid document is CodeInvalid,
// one that removes a role in use or unprotects one CodeConflict.
func (a *App) PutPolicy(ctx context.Context, c *Actor, src []byte) (store.PolicyVersion, int64, error) {
	if !c.Admin() {
		return store.PolicyVersion{}, 0, access.Errorf(access.CodeForbidden, "only admins change the policy")
	}
	return a.st.PutPolicy(ctx, write(c, a.adminStill(c)), src)
}

// adminStill is PutPolicy's in-transaction check: the actor is still an
// active staff admin in the engine.
func (a *App) adminStill(c *Actor) func() error {
	return func() error {
		if c.System {
			return nil
		}
		if u, ok := a.eng.User(c.ID()); !ok || u.Status != access.StatusActive || u.StaffRole != access.StaffAdmin {
			return access.Errorf(access.CodeForbidden, "only admins change the policy")
		}
		return nil
	}
}
