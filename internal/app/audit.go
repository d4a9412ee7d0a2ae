package app

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The audit log is read by staff. Every change to access data is audited
// by the store in its write transaction; sign-ins and view-as are audited
// here (Log).

// AuditFilter selects audit entries, newest first: by actor, target,
// action and a time range (Since inclusive, Until exclusive).
type AuditFilter struct {
	Actor, Target, Action string
	Since, Until          *time.Time
	ListParams
}

// ListAudit lists audit entries (staff).
func (a *App) ListAudit(ctx context.Context, c *Actor, f AuditFilter) (Page[store.AuditEntry], error) {
	if err := requireStaff(c); err != nil {
		return Page[store.AuditEntry]{}, err
	}
	items, next, err := a.st.ListAudit(ctx, store.AuditFilter{Actor: f.Actor, Target: f.Target, Action: f.Action,
		Since: f.Since, Until: f.Until, Limit: f.limit(), Cursor: f.Cursor})
	return Page[store.AuditEntry]{Items: items, Next: next}, err
}

// VerifyAudit checks the audit log's hash chain (staff).
func (a *App) VerifyAudit(ctx context.Context, c *Actor) (store.AuditVerification, error) {
	if err := requireStaff(c); err != nil {
		return store.AuditVerification{}, err
	}
	return a.st.VerifyAudit(ctx, "")
}

// AuditHead returns the audit log's anchor (staff): the number of entries
// and the newest entry's hash, to keep outside the database and give to
// `portcullis audit verify --expect-head` later.
func (a *App) AuditHead(ctx context.Context, c *Actor) (store.AuditHead, error) {
	if err := requireStaff(c); err != nil {
		return store.AuditHead{}, err
	}
	return a.st.AuditHead(ctx)
}

// ViewAs opens the portal as an external user (named by id or email) for
// a staff member, and audits it: action "portal.view_as", target
// "user:<id>", after {"account": <the account the portal opens on>}.
// Portal audits the same again while the staff member keeps viewing
// (ViewAsReaudit). It
// returns the user and that account. Errors: CodeForbidden for external
// actors, CodeNotFound for no such user, CodeInvalid for staff,
// CodeConflict for a user who reaches no account (there is no portal to
// show).
func (a *App) ViewAs(ctx context.Context, c *Actor, who string) (access.User, string, error) {
	if err := requireStaff(c); err != nil {
		return access.User{}, "", err
	}
	id, err := a.ResolveUser(ctx, c, who)
	if code := access.ErrorCode(err); code == access.CodeNotFound || code == access.CodeInvalid {
		return access.User{}, "", access.FieldErrorf(access.CodeNotFound, "user", "no user has the id or email %q", who)
	} else if err != nil {
		return access.User{}, "", err
	}
	u, _ := a.eng.User(id)
	if u.Kind != access.KindExternal {
		return u, "", access.FieldErrorf(access.CodeInvalid, "user", "%s is staff: view as shows the portal of external users", u.ID)
	}
	accts := a.eng.Reach(u.ID)
	if len(accts) == 0 {
		return u, "", access.FieldErrorf(access.CodeConflict, "user", "%s reaches no account now (no active grant), so there is no portal to show", u.ID)
	}
	acct := PreferredAccount(u, accts)
	after, _ := json.Marshal(map[string]string{"account": acct})
	now := a.Now()
	k := viewAsKey{actor: c.AuditID(), user: u.ID}
	a.viewAs.due(k, now) // the pages it opens next are covered by this entry
	if err := a.st.Log(ctx, store.AuditEntry{Time: now, Actor: k.actor, Action: "portal.view_as",
		Target: "user:" + u.ID, After: after}); err != nil {
		a.viewAs.forget(k)
		return u, "", err
	}
	return u, acct, nil
}

// PreferredAccount is the account a user's portal opens on: its home
// account when it can act there, else the first account it reaches.
// accts must not be empty.
func PreferredAccount(u access.User, accts []access.AccountAccess) string {
	for _, a := range accts {
		if a.ID == u.HomeAccount {
			return a.ID
		}
	}
	return accts[0].ID
}

// ResolveUser finds a user named by id or email, for staff forms:
// CodeInvalid when v is empty, CodeNotFound when no user matches.
func (a *App) ResolveUser(ctx context.Context, c *Actor, v string) (string, error) {
	if err := requireStaff(c); err != nil {
		return "", err
	}
	if v == "" {
		return "", access.Errorf(access.CodeInvalid, "name a user by id or email")
	}
	if strings.Contains(v, "@") {
		u, err := a.st.GetUserByEmail(ctx, v)
		if err != nil {
			return "", err
		}
		return u.ID, nil
	}
	if _, ok := a.eng.User(v); !ok {
		return "", access.Errorf(access.CodeNotFound, "user %s not found", v)
	}
	return v, nil
}

// ResolvePrincipal turns what a staff form names (user:<id>, group:<id>, a
// user's email or id, a group's id) into a grant principal; CodeInvalid
// when nothing matches.
func (a *App) ResolvePrincipal(ctx context.Context, c *Actor, v string) (string, error) {
	if err := requireStaff(c); err != nil {
		return "", err
	}
	switch {
	case v == "":
		return "", access.FieldErrorf(access.CodeInvalid, "principal", "principal is required: a user (id or email) or group:<id>")
	case strings.HasPrefix(v, "user:") || strings.HasPrefix(v, "group:"):
		return v, nil
	case strings.Contains(v, "@"):
		u, err := a.st.GetUserByEmail(ctx, v)
		if access.ErrorCode(err) == access.CodeNotFound {
			return "", access.FieldErrorf(access.CodeInvalid, "principal", "principal: no user has the email %s", v)
		}
		if err != nil {
			return "", err
		}
		return "user:" + u.ID, nil
	}
	if _, ok := a.eng.User(v); ok {
		return "user:" + v, nil
	}
	if _, err := a.st.GetGroup(ctx, v); err == nil {
		return "group:" + v, nil
	}
	return "", access.FieldErrorf(access.CodeInvalid, "principal", "principal: no user or group %s", v)
}

// AuditFilterFromQuery reads the audit filters actor, target, action,
// since and until (RFC 3339) from a query, as the API and the console's
// audit log take them; limit and cursor are the caller's.
func AuditFilterFromQuery(q url.Values) (AuditFilter, error) {
	f := AuditFilter{Actor: q.Get("actor"), Target: q.Get("target"), Action: q.Get("action")}
	for key, dst := range map[string]**time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(key); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, access.FieldErrorf(access.CodeInvalid, key, "%s must be an RFC 3339 time", key)
			}
			*dst = &t
		}
	}
	return f, nil
}
