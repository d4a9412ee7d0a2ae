package app

import (
	"context"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Grants: staff writers manage every grant and auditors read them; a
// customer admin manages the grants on the accounts it administers, for
// users homed within its reach, with assignable roles up to its level
// (access.Engine.CheckGrant); a grant outside its reach is CodeNotFound to
// it; other external users get CodeForbidden. Protected (Owner) grants are
// created whole and never deleted, lowered or narrowed (CodeProtected).

// GrantUpdate is a grant's fields for a create (absent means the default)
// or a partial update (absent keeps the stored value, null clears).
type GrantUpdate struct {
	Principal  Optional[string]    `json:"principal"`
	Account    Optional[string]    `json:"account"`
	Role       Optional[string]    `json:"role"`
	Scope      Optional[string]    `json:"scope"`
	Access     Optional[string]    `json:"access"`
	DaysBack   Optional[int]       `json:"days_back"`
	ValidFrom  Optional[time.Time] `json:"valid_from"`
	ValidUntil Optional[time.Time] `json:"valid_until"`
	Notes      Optional[string]    `json:"notes"`
}

func (in GrantUpdate) applyTo(g *access.Grant) {
	in.Principal.apply(&g.Principal, "")
	in.Account.apply(&g.Account, "")
	in.Role.apply(&g.Role, "")
	in.Scope.apply(&g.Scope, "")
	in.Access.apply(&g.Access, "")
	applyPtr(in.DaysBack, &g.DaysBack)
	applyPtr(in.ValidFrom, &g.ValidFrom)
	applyPtr(in.ValidUntil, &g.ValidUntil)
	in.Notes.apply(&g.Notes, "")
	if g.ValidFrom != nil {
		t := g.ValidFrom.UTC()
		g.ValidFrom = &t
	}
	if g.ValidUntil != nil {
		t := g.ValidUntil.UTC()
		g.ValidUntil = &t
	}
}

// grantRefs checks, against the engine, that a grant's account and user
// principal exist (CodeInvalid). To a customer admin a missing one is
// answered exactly like one outside its reach (the engine's CheckGrant
// words), so it cannot tell other customers' user ids from unused ones
// (identity.md §2).
func (a *App) grantRefs(c *Actor, g *access.Grant) error {
	if _, ok := a.eng.Account(g.Account); !ok {
		if !c.Internal() {
			return access.FieldErrorf(access.CodeForbidden, "account", "account %s is outside your reach", g.Account)
		}
		return access.FieldErrorf(access.CodeInvalid, "account", "account %s does not exist", g.Account)
	}
	if id, ok := strings.CutPrefix(g.Principal, "user:"); ok {
		if _, ok := a.eng.User(id); !ok {
			if !c.Internal() {
				return access.FieldErrorf(access.CodeForbidden, "principal", "user %s is outside your reach", id)
			}
			return access.FieldErrorf(access.CodeInvalid, "principal", "user %s does not exist", id)
		}
	}
	return nil
}

// GrantFilter selects grants by account and principal.
type GrantFilter struct {
	Account, Principal string
	ListParams
}

// ListGrants lists grants: every grant for staff, those on the accounts a
// customer admin administers for it.
func (a *App) ListGrants(ctx context.Context, c *Actor, f GrantFilter) (Page[access.Grant], error) {
	managed, err := a.userAdmin(c)
	if err != nil {
		return Page[access.Grant]{}, err
	}
	items, next, err := a.st.ListGrants(ctx, store.GrantFilter{Account: f.Account, Principal: f.Principal,
		Accounts: managed, Limit: f.limit(), Cursor: f.Cursor})
	return Page[access.Grant]{Items: items, Next: next}, err
}

// GetGrant returns a grant the actor may see (CodeNotFound otherwise).
func (a *App) GetGrant(ctx context.Context, c *Actor, id string) (access.Grant, error) {
	managed, err := a.userAdmin(c)
	if err != nil {
		return access.Grant{}, err
	}
	return a.visibleGrant(ctx, managed, id)
}

func (a *App) visibleGrant(ctx context.Context, managed []string, id string) (access.Grant, error) {
	g, err := a.st.GetGrant(ctx, id)
	if err != nil {
		return g, err
	}
	if managed != nil && !contains(managed, g.Account) {
		return access.Grant{}, access.Errorf(access.CodeNotFound, "grant %s not found", id)
	}
	return g, nil
}

// CreateGrant creates a grant from in (scope subtree and access read_write
// by default) as the actor, checked with the engine inside the write
// transaction. Errors: CodeForbidden (not an administrator, beyond its
// level or reach), CodeInvalid (shape, a missing account or user, a
// protected role not given whole), CodeConflict with ExistingID (a grant
// for the same principal and account exists).
func (a *App) CreateGrant(ctx context.Context, c *Actor, in GrantUpdate) (access.Grant, int64, error) {
	if _, err := a.userAdmin(c); err != nil {
		return access.Grant{}, 0, err
	}
	var g access.Grant
	in.applyTo(&g)
	g.CreatedBy = c.ID()
	check := func() error {
		if err := g.Validate(a.eng.Policy()); err != nil {
			return err
		}
		if err := a.grantRefs(c, &g); err != nil {
			return err
		}
		return a.checkGrant(c, nil, &g)
	}
	if err := check(); err != nil {
		return g, 0, err
	}
	return a.st.CreateGrant(ctx, write(c, check), g)
}

// UpdateGrant applies in to grant id (its principal and account cannot
// change: CodeInvalid), checked with the engine against the grant as it is
// when the write commits. Errors as CreateGrant, plus CodeNotFound and
// CodeProtected (an Owner grant lowered, narrowed or limited).
func (a *App) UpdateGrant(ctx context.Context, c *Actor, id string, in GrantUpdate) (access.Grant, int64, error) {
	managed, err := a.userAdmin(c)
	if err != nil {
		return access.Grant{}, 0, err
	}
	old, err := a.visibleGrant(ctx, managed, id)
	if err != nil {
		return access.Grant{}, 0, err
	}
	g := old
	in.applyTo(&g)
	if g.Principal != old.Principal || g.Account != old.Account {
		return g, 0, access.Errorf(access.CodeInvalid, "a grant's principal and account cannot change; create another grant")
	}
	check := func() error {
		cur, ok := a.eng.Grant(id)
		if !ok {
			return access.Errorf(access.CodeNotFound, "grant %s not found", id)
		}
		if err := g.Validate(a.eng.Policy()); err != nil {
			return err
		}
		if err := a.grantRefs(c, &g); err != nil {
			return err
		}
		return a.checkGrant(c, &cur, &g)
	}
	if err := check(); err != nil {
		return g, 0, err
	}
	return a.st.UpdateGrant(ctx, write(c, check), g)
}

// DeleteGrant removes grant id, checked with the engine (protected grants
// never go: CodeProtected; outside the actor's reach: CodeNotFound).
func (a *App) DeleteGrant(ctx context.Context, c *Actor, id string) (int64, error) {
	managed, err := a.userAdmin(c)
	if err != nil {
		return 0, err
	}
	if _, err := a.visibleGrant(ctx, managed, id); err != nil {
		return 0, err
	}
	check := func() error {
		cur, ok := a.eng.Grant(id)
		if !ok {
			return access.Errorf(access.CodeNotFound, "grant %s not found", id)
		}
		return a.checkGrant(c, &cur, nil)
	}
	if err := check(); err != nil {
		return 0, err
	}
	return a.st.DeleteGrant(ctx, write(c, check), id)
}
