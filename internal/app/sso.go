package app

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Sign-in through an identity provider (identity.md §7). The server's sso
// surface speaks OpenID Connect: it sends the browser to the provider
// (authorization code with PKCE S256, state and nonce bound to the
// browser), redeems the code and verifies the ID token (issuer, audience,
// expiry, nonce, signature through discovery and JWKS). SignInSSO then
// decides who signs in, from the verified claims alone:
//
//   - the user linked to the token's (provider, sub), else the user with
//     the token's email (whose domain must be one of the provider's), else,
//     with jit on, a new active user of that email homed at
//     jit.home_account with one grant;
//   - only a user homed within the provider's account subtree (an
//     external user), or for a staff provider (account null) an internal
//     user, ever signs in, and nothing is linked or created otherwise: a
//     provider never reaches another customer's people;
//   - email_verified, where the token carries it, must be true;
//   - with group_roles, the provider's grant of the user on its account
//     (source "idp:<provider>") follows the groups claim at every sign-in:
//     the highest role its groups map to, never above max_role and only
//     assignable roles; with jit on and jit.home_account the provider's
//     account, jit.role when no group maps; else no grant. Grants of
//     another source (made by hand) are never touched.
//
// The provider is the second factor's place: a sign-in through it starts
// a full session without Portcullis' TOTP step, whatever require_mfa or
// --staff-mfa say (configure MFA at the provider). Sign-ins are audited
// as session.login with method "sso:<provider>" and failures as
// session.login_failed with the reason; the writes a sign-in makes (a JIT
// user, grants, the link) are audited with the actor "idp:<provider>".

// MethodSSOPrefix starts the sign-in method of a provider: "sso:<id>".
const MethodSSOPrefix = "sso:"

// SSOProvider is a provider as the sso surface needs it to speak OpenID
// Connect: its settings and the client secret in the clear. It never
// leaves the server.
type SSOProvider struct {
	store.IdentityProvider
	Secret string
}

// ProviderForSignIn returns a provider and its opened client secret, for
// the sso surface (anyone may start a sign-in). Errors: CodeNotFound.
func (a *App) ProviderForSignIn(ctx context.Context, id string) (SSOProvider, error) {
	p, err := a.st.GetIdentityProvider(ctx, id)
	if err != nil {
		return SSOProvider{}, err
	}
	secret, err := a.mfa.box.Open(providerSecretContext(id), p.ClientSecret)
	if err != nil {
		return SSOProvider{}, err
	}
	return SSOProvider{IdentityProvider: p, Secret: secret}, nil
}

// SSOIdentity is what the sso surface verified: the provider, the ID
// token's subject and claims (with the userinfo endpoint's claims added
// where the token lacked them), and the invitation token the sign-in
// started from, if any.
type SSOIdentity struct {
	Provider   string
	Subject    string
	Claims     map[string]any
	Invitation string
}

// errSSORefused is the answer for a verified person the provider may not
// sign in here: the same whether the address is unknown, of another
// customer, or not of the provider's domains, so that nothing is learnt
// about other customers' people.
func errSSORefused(p store.IdentityProvider) error {
	return access.Errorf(access.CodeForbidden, "%s cannot sign you in to this portal with this account; ask your administrator for an invitation", p.Name)
}

// SignInSSO signs in the person a provider vouched for (see above) and
// starts its session. Errors: CodeNotFound (no such provider),
// CodeUnauthenticated (no subject or email, an unverified email),
// CodeForbidden (a person the provider may not sign in, a user that is
// not active), CodeConflict (the user is linked to another subject of
// the provider).
func (a *App) SignInSSO(ctx context.Context, in SSOIdentity) (SignInResult, error) {
	p, err := a.st.GetIdentityProvider(ctx, in.Provider)
	if err != nil {
		return SignInResult{}, err
	}
	method := MethodSSOPrefix + p.ID
	email := normalizeEmail(claimString(in.Claims, orDefault(p.Claims.Email, defaultEmailClaim)))
	fail := func(reason string, err error) (SignInResult, error) {
		after, _ := json.Marshal(map[string]string{"method": method, "reason": reason})
		target := "email:" + email
		if email == "" {
			target = "identity_provider:" + p.ID
		}
		_ = a.st.Log(ctx, store.AuditEntry{Time: a.Now(), Actor: "idp:" + p.ID, Action: "session.login_failed", Target: target, After: after})
		return SignInResult{}, err
	}
	if in.Subject == "" || email == "" || !strings.Contains(email, "@") {
		return fail("no_email", access.Errorf(access.CodeUnauthenticated, "%s sent no email address for this account", p.Name))
	}
	if v, ok := in.Claims["email_verified"]; ok && !claimTrue(v) {
		return fail("email_unverified", access.Errorf(access.CodeUnauthenticated, "%s has not verified the address %s", p.Name, email))
	}
	ourDomain := slices.Contains(p.EmailDomains, emailDomain(email))
	var u access.User
	var found bool
	if id, err := a.st.SSOLinkedUser(ctx, p.ID, in.Subject); err == nil {
		u, found = a.eng.User(id)
	} else if access.ErrorCode(err) != access.CodeNotFound {
		return SignInResult{}, err
	}
	if !found && ourDomain {
		cur, err := a.st.GetUserByEmail(ctx, email)
		switch {
		case err == nil:
			u, found = cur, true
		case access.ErrorCode(err) != access.CodeNotFound:
			return SignInResult{}, err
		}
	}
	sign := store.SSOSignIn{Provider: p.ID, Subject: in.Subject}
	if found {
		if !a.providerMaySignIn(p, u) {
			return fail("outside_provider", errSSORefused(p))
		}
		if u.Status == access.StatusInvited && in.Invitation != "" {
			if u, err = a.acceptBySSO(ctx, p, u, in.Invitation); err != nil {
				return fail("invitation", err)
			}
		}
		if u.Status != access.StatusActive {
			return fail("user_"+u.Status, access.Errorf(access.CodeForbidden, "your account here is %s; ask your administrator", u.Status))
		}
	} else {
		if p.Account == nil || !p.JIT.Enabled || !ourDomain {
			return fail("unknown_user", errSSORefused(p))
		}
		u, sign.NewGrant = a.jitUser(p, email, claimString(in.Claims, orDefault(p.Claims.Name, defaultNameClaim)))
		if err := u.Validate(a.eng.Policy()); err != nil {
			return fail("jit_invalid", err)
		}
		sign.NewUser = &u
	}
	sign.UserID = u.ID
	if p.Account != nil && len(p.GroupRoles) > 0 {
		sign.Sync, sign.SyncAccount = true, *p.Account
		sign.SyncRole = a.groupRole(p, claimStrings(in.Claims, orDefault(p.Claims.Groups, defaultGroupsClaim)))
	}
	check := func() error {
		if sign.NewUser != nil {
			return nil
		}
		cur, ok := a.eng.User(u.ID)
		if !ok || cur.Status != access.StatusActive || !a.providerMaySignIn(p, cur) {
			return errSSORefused(p)
		}
		return nil
	}
	actor := "idp:" + p.ID
	if _, err := a.st.SSOSignIn(ctx, store.Write{Actor: actor, By: actor, Check: check}, sign); err != nil {
		if e := access.ErrorCode(err); e == access.CodeForbidden || e == access.CodeConflict || e == access.CodeInvalid {
			return fail("refused", err)
		}
		return SignInResult{}, err
	}
	if cur, ok := a.eng.User(u.ID); ok {
		u = cur
	}
	if err := a.st.RecordLogin(ctx, u.ID, a.Now()); err != nil {
		a.log.Warn("record last login", "user", u.ID, "err", err)
	}
	return a.signedIn(ctx, u, method, false)
}

// providerMaySignIn reports whether p may sign in u: for a staff
// provider an internal user, else an external user homed within p's
// account subtree.
func (a *App) providerMaySignIn(p store.IdentityProvider, u access.User) bool {
	if p.Account == nil {
		return u.Kind == access.KindInternal
	}
	return u.Kind == access.KindExternal && u.HomeAccount != "" && slices.Contains(a.eng.Subtree(*p.Account), u.HomeAccount)
}

// jitUser is the user p creates for an unknown email of its domains, with
// its one grant: on jit.home_account with jit.role (capped at max_role)
// and jit.days_back. When that account is p's own and group_roles are
// set, the grant is the one the groups keep in step (source idp:<id>);
// else it is the user's first grant, left alone afterwards (jit:<id>).
func (a *App) jitUser(p store.IdentityProvider, email, name string) (access.User, *access.Grant) {
	if name = strings.TrimSpace(name); name == "" || len(name) > 200 {
		name, _, _ = strings.Cut(email, "@")
	}
	u := access.User{ID: newInvitedUserID(), Kind: access.KindExternal, Name: name, Email: email,
		HomeAccount: p.JIT.HomeAccount, Status: access.StatusActive}
	g := &access.Grant{Account: p.JIT.HomeAccount, Role: a.capRole(p, p.JIT.Role), Scope: access.ScopeSubtree,
		Access: access.AccessReadWrite, DaysBack: p.JIT.DaysBack, Source: "jit:" + p.ID}
	if p.JIT.HomeAccount == *p.Account && len(p.GroupRoles) > 0 {
		g.Source = "idp:" + p.ID
	}
	if g.Role == "" {
		return u, nil
	}
	return u, g
}

// groupRole is the role p's groups claim values map to: the highest of
// the assignable roles named, capped at max_role; with none, jit.role when
// jit grants on p's account; else "" (no grant).
func (a *App) groupRole(p store.IdentityProvider, groups []string) string {
	pol := a.eng.Policy()
	best, level := "", -1
	for _, g := range groups {
		name, ok := p.GroupRoles[g]
		if !ok {
			continue
		}
		if name = a.capRole(p, name); name == "" {
			continue
		}
		if r := pol.Role(name); r.Level > level {
			best, level = name, r.Level
		}
	}
	if best == "" && p.JIT.Enabled && p.JIT.HomeAccount == *p.Account {
		best = a.capRole(p, p.JIT.Role)
	}
	return best
}

// capRole returns role, or max_role when role is above it; "" when
// either is not an assignable, unprotected role of the policy (the policy
// may have changed since the provider was saved).
func (a *App) capRole(p store.IdentityProvider, role string) string {
	pol := a.eng.Policy()
	r, max := pol.Role(role), pol.Role(p.MaxRole)
	if r == nil || max == nil || !r.Assignable || r.Protected || !max.Assignable || max.Protected {
		return ""
	}
	if r.Level > max.Level {
		return max.Name
	}
	return r.Name
}

// acceptBySSO accepts the invitation of token for u, who signed in
// through p instead of choosing a password: u becomes active without a
// password. Errors: errLinkGone (an invitation that is not u's, expired,
// used or revoked).
func (a *App) acceptBySSO(ctx context.Context, p store.IdentityProvider, u access.User, token string) (access.User, error) {
	hash := auth.HashSecret(token)
	inv, err := a.st.InvitationByToken(ctx, hash)
	if err != nil || inv.UserID != u.ID || inv.Status != store.InvitationPending {
		return u, errLinkGone
	}
	if _, _, err := a.st.AcceptInvitation(ctx, store.Write{Actor: "user:" + u.ID, By: u.ID}, hash, "", "", a.Now()); err != nil {
		if access.ErrorCode(err) == access.CodeNotFound {
			return u, errLinkGone
		}
		return u, err
	}
	if cur, ok := a.eng.User(u.ID); ok {
		u = cur
	}
	return u, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// claimString returns a string claim ("" when absent or not a string).
func claimString(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return s
}

// claimStrings returns a claim that is a string or a list of strings
// (groups).
func claimStrings(claims map[string]any, name string) []string {
	switch v := claims[name].(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	}
	return nil
}

// claimTrue reads a boolean claim, which some providers send as a string.
func claimTrue(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return b == "true"
	}
	return false
}

// SSOFailed audits a sign-in through provider id that failed before its
// claims could be trusted (session.login_failed with the reason: state,
// provider_error, token_invalid).
func (a *App) SSOFailed(ctx context.Context, id, reason string) {
	after, _ := json.Marshal(map[string]string{"method": MethodSSOPrefix + id, "reason": reason})
	_ = a.st.Log(ctx, store.AuditEntry{Time: a.Now(), Actor: "idp:" + id, Action: "session.login_failed", Target: "identity_provider:" + id, After: after})
}
