package app

import (
	"context"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// API tokens belong to internal users and act with their staff role
// (DESIGN.md §5.3). Staff create, list and revoke their own; admins those
// of any internal user. The store keeps only a token's hash: the secret is
// returned once, at creation.

// TokenRequest asks for a token named Name for user User ("" means the
// actor).
type TokenRequest struct {
	Name string `json:"name"`
	User string `json:"user"`
}

// CreateToken creates an API token and returns it with its secret.
// CodeForbidden for external users and for non-admins asking for another
// user's token; CodeInvalid for a user that is not an existing internal
// user or a missing or overlong name.
func (a *App) CreateToken(ctx context.Context, c *Actor, in TokenRequest) (store.Token, string, int64, error) {
	if err := requireStaff(c); err != nil {
		return store.Token{}, "", 0, err
	}
	if in.User == "" {
		in.User = c.ID()
	}
	if in.User != c.ID() && !c.Admin() {
		return store.Token{}, "", 0, access.Errorf(access.CodeForbidden, "only admins create tokens for other users")
	}
	check := func() error {
		u, ok := a.eng.User(in.User)
		if !ok || u.Kind != access.KindInternal {
			return access.FieldErrorf(access.CodeInvalid, "user", "tokens belong to existing internal users")
		}
		if in.User != c.ID() && !c.System {
			if me, ok := a.eng.User(c.ID()); !ok || me.Status != access.StatusActive || me.StaffRole != access.StaffAdmin {
				return access.Errorf(access.CodeForbidden, "only admins create tokens for other users")
			}
		}
		return nil
	}
	if err := check(); err != nil {
		return store.Token{}, "", 0, err
	}
	if in.Name == "" || len(in.Name) > 200 {
		return store.Token{}, "", 0, access.FieldErrorf(access.CodeInvalid, "name", "name is required (at most 200 characters)")
	}
	secret, hash := auth.NewSecret(auth.TokenPrefix)
	tok, rev, err := a.st.CreateToken(ctx, write(c, check), store.Token{UserID: in.User, Name: in.Name, Hash: hash, CreatedAt: a.Now()})
	return tok, secret, rev, err
}

// ListTokens lists the tokens of user ("" means the actor): staff for
// themselves, admins for anyone.
func (a *App) ListTokens(ctx context.Context, c *Actor, user string) ([]store.Token, error) {
	if err := requireStaff(c); err != nil {
		return nil, err
	}
	if user == "" {
		user = c.ID()
	}
	if user != c.ID() && !c.Admin() {
		return nil, access.Errorf(access.CodeForbidden, "only admins list other users' tokens")
	}
	return a.st.ListTokens(ctx, user)
}

// DeleteToken revokes a token, effective at once on this node and within
// a second on the others: its owner or an admin (another's token is
// CodeNotFound to a non-admin).
func (a *App) DeleteToken(ctx context.Context, c *Actor, id string) (int64, error) {
	if err := requireStaff(c); err != nil {
		return 0, err
	}
	if !c.Admin() {
		toks, err := a.st.ListTokens(ctx, c.ID())
		if err != nil {
			return 0, err
		}
		mine := false
		for _, t := range toks {
			mine = mine || t.ID == id
		}
		if !mine {
			return 0, access.Errorf(access.CodeNotFound, "token %s not found", id)
		}
	}
	return a.st.DeleteToken(ctx, write(c, nil), id)
}
