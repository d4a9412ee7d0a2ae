package app

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Identity providers (identity.md §7): the OpenID Connect providers
// through which a customer's people (or, with no account, the supplier's
// staff) sign in. Staff admins and access managers manage them; auditors
// read them. The client secret is write-only: it is sealed with the
// --mfa-key SecretBox (stored as given without a key, like TOTP secrets)
// and reads only say whether one is set.

// IdentityProviderInput is the body of PUT /api/v1/identity-providers/{id}
// and of the console's form. A field it omits keeps its stored value (its
// default on create); Account null makes the provider the staff's.
type IdentityProviderInput struct {
	Name           Optional[string]            `json:"name"`
	Issuer         Optional[string]            `json:"issuer"`
	ClientID       Optional[string]            `json:"client_id"`
	ClientSecret   Optional[string]            `json:"client_secret"`
	Scopes         Optional[[]string]          `json:"scopes"`
	Account        Optional[string]            `json:"account"`
	EmailDomains   Optional[[]string]          `json:"email_domains"`
	LocalPasswords Optional[string]            `json:"local_passwords"`
	JIT            Optional[store.ProviderJIT] `json:"jit"`
	Claims         Optional[ProviderClaimsIn]  `json:"claims"`
	GroupRoles     Optional[map[string]string] `json:"group_roles"`
	MaxRole        Optional[string]            `json:"max_role"`
}

// ProviderClaimsIn names the claims; an empty name means the standard one.
type ProviderClaimsIn = store.ProviderClaims

// Default claim names and scopes of a provider.
const (
	defaultEmailClaim  = "email"
	defaultNameClaim   = "name"
	defaultGroupsClaim = "groups"
)

var defaultScopes = []string{"openid", "email", "profile"}

// providerSecretContext binds a sealed client secret to its provider.
func providerSecretContext(id string) string { return "identity_provider:" + id }

// ListIdentityProviders lists every provider: staff only (CodeForbidden).
func (a *App) ListIdentityProviders(ctx context.Context, c *Actor) ([]store.IdentityProvider, error) {
	if err := requireStaff(c); err != nil {
		return nil, err
	}
	return a.st.ListIdentityProviders(ctx)
}

// GetIdentityProvider returns a provider: staff only (CodeForbidden),
// CodeNotFound.
func (a *App) GetIdentityProvider(ctx context.Context, c *Actor, id string) (store.IdentityProvider, error) {
	if err := requireStaff(c); err != nil {
		return store.IdentityProvider{}, err
	}
	return a.st.GetIdentityProvider(ctx, id)
}

// PutIdentityProvider creates or updates a provider: staff admins and
// access managers (CodeForbidden). Errors: CodeInvalid naming the field
// (a missing name, issuer or client id, an issuer that is not an https
// URL (http only for localhost), no client secret on create, a domain
// that is not a domain, an account or home account that does not exist,
// a role that is unknown, not assignable or above max_role, jit or
// group_roles on a staff provider), CodeConflict with ExistingID (an
// email domain of another provider).
func (a *App) PutIdentityProvider(ctx context.Context, c *Actor, id string, in IdentityProviderInput) (store.IdentityProvider, bool, int64, error) {
	if err := requireStaffWriter(c); err != nil {
		return store.IdentityProvider{}, false, 0, err
	}
	if !access.ValidID(id) {
		return store.IdentityProvider{}, false, 0, access.FieldErrorf(access.CodeInvalid, "id", "id must be 1-64 characters of A-Za-z0-9._:-")
	}
	p, err := a.st.GetIdentityProvider(ctx, id)
	isNew := access.ErrorCode(err) == access.CodeNotFound
	if err != nil && !isNew {
		return p, false, 0, err
	}
	if isNew {
		p = store.IdentityProvider{ID: id, Scopes: defaultScopes, LocalPasswords: store.LocalPasswordsAllowed,
			EmailDomains: []string{}, GroupRoles: map[string]string{}}
	}
	in.Name.apply(&p.Name, "")
	in.Issuer.apply(&p.Issuer, "")
	in.ClientID.apply(&p.ClientID, "")
	in.Scopes.apply(&p.Scopes, defaultScopes)
	applyPtr(in.Account, &p.Account)
	in.EmailDomains.apply(&p.EmailDomains, []string{})
	in.LocalPasswords.apply(&p.LocalPasswords, store.LocalPasswordsAllowed)
	in.JIT.apply(&p.JIT, store.ProviderJIT{})
	in.Claims.apply(&p.Claims, store.ProviderClaims{})
	in.GroupRoles.apply(&p.GroupRoles, map[string]string{})
	in.MaxRole.apply(&p.MaxRole, "")
	if in.ClientSecret.Set {
		p.ClientSecret = ""
		if !in.ClientSecret.Null && in.ClientSecret.Value != "" {
			p.ClientSecret = a.mfa.box.Seal(providerSecretContext(id), in.ClientSecret.Value)
		}
	}
	p.ClientSecretSet = p.ClientSecret != ""
	if err := a.validateProvider(&p); err != nil {
		return p, false, 0, err
	}
	created, rev, err := a.st.PutIdentityProvider(ctx, write(c, a.staffWriterStill(c)), p)
	if err != nil {
		return p, false, 0, err
	}
	p, err = a.st.GetIdentityProvider(ctx, id)
	return p, created, rev, err
}

// DeleteIdentityProvider deletes a provider with its domains and links
// (its users and grants stay): staff admins and access managers
// (CodeForbidden); CodeNotFound.
func (a *App) DeleteIdentityProvider(ctx context.Context, c *Actor, id string) (int64, error) {
	if err := requireStaffWriter(c); err != nil {
		return 0, err
	}
	return a.st.DeleteIdentityProvider(ctx, write(c, a.staffWriterStill(c)), id)
}

// validateProvider checks a provider's shape against the model and
// normalizes its domains (lower case, sorted) and scopes (openid first).
func (a *App) validateProvider(p *store.IdentityProvider) error {
	invalid := func(field, format string, args ...any) error {
		return access.FieldErrorf(access.CodeInvalid, field, format, args...)
	}
	p.Name = strings.TrimSpace(p.Name)
	switch {
	case p.Name == "" || len(p.Name) > 200:
		return invalid("name", "name is required (at most 200 characters)")
	case !validIssuer(p.Issuer):
		return invalid("issuer", "issuer must be the provider's https URL, e.g. https://login.microsoftonline.com/<tenant>/v2.0 (http only for localhost)")
	case strings.TrimSpace(p.ClientID) == "" || len(p.ClientID) > 500:
		return invalid("client_id", "client_id is required: the application (client) id the provider assigned")
	case !p.ClientSecretSet:
		return invalid("client_secret", "client_secret is required: the secret the provider issued for this application")
	case p.LocalPasswords != store.LocalPasswordsAllowed && p.LocalPasswords != store.LocalPasswordsDisabled:
		return invalid("local_passwords", "local_passwords must be allowed or disabled")
	}
	if !slices.Contains(p.Scopes, "openid") {
		p.Scopes = append([]string{"openid"}, p.Scopes...)
	}
	for _, s := range p.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\n\"") || len(s) > 200 {
			return invalid("scopes", "scope %q is not a scope name", s)
		}
	}
	domains := make([]string, 0, len(p.EmailDomains))
	for _, d := range p.EmailDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if !validDomain(d) {
			return invalid("email_domains", "%q is not an email domain (like example.com)", d)
		}
		if !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	slices.Sort(domains)
	p.EmailDomains = domains
	if len(p.EmailDomains) == 0 {
		return invalid("email_domains", "email_domains needs at least one domain: the sign-in page sends its addresses to this provider")
	}
	for _, cl := range []string{p.Claims.Email, p.Claims.Name, p.Claims.Groups} {
		if len(cl) > 200 || strings.ContainsAny(cl, " \t\n") {
			return invalid("claims", "claim name %q is not valid", cl)
		}
	}
	if p.Account == nil {
		if p.JIT.Enabled || len(p.GroupRoles) > 0 || p.MaxRole != "" {
			return invalid("account", "a staff provider (account null) signs in existing internal users only: no jit, group_roles or max_role")
		}
		return nil
	}
	if _, ok := a.eng.Account(*p.Account); !ok {
		return invalid("account", "account %s does not exist", *p.Account)
	}
	if (p.JIT.Enabled || len(p.GroupRoles) > 0) && p.MaxRole == "" {
		return invalid("max_role", "max_role is required with jit or group_roles: no grant the provider makes goes above it")
	}
	max, err := a.assignableRole("max_role", p.MaxRole, nil)
	if p.MaxRole != "" && err != nil {
		return err
	}
	for group, role := range p.GroupRoles {
		if group == "" || len(group) > 500 {
			return invalid("group_roles", "group names must be 1-500 characters")
		}
		if _, err := a.assignableRole("group_roles", role, max); err != nil {
			return err
		}
	}
	if p.JIT.Enabled {
		if !slices.Contains(a.eng.Subtree(*p.Account), p.JIT.HomeAccount) {
			return invalid("jit.home_account", "jit.home_account must be %s or an account below it", *p.Account)
		}
		if _, err := a.assignableRole("jit.role", p.JIT.Role, max); err != nil {
			return err
		}
		if p.JIT.DaysBack != nil && *p.JIT.DaysBack < 0 {
			return invalid("jit.days_back", "jit.days_back must be null or a non-negative number of days")
		}
	}
	return nil
}

// assignableRole returns the policy's role name when it is assignable
// and, when max is set, at most max's level. Errors: CodeInvalid on field.
func (a *App) assignableRole(field, name string, max *int) (*int, error) {
	r := a.eng.Policy().Role(name)
	switch {
	case r == nil:
		return nil, access.FieldErrorf(access.CodeInvalid, field, "role %q is not in the policy", name)
	case !r.Assignable || r.Protected:
		return nil, access.FieldErrorf(access.CodeInvalid, field, "role %s is not assignable: a provider may only give roles customer admins may hand out", name)
	case max != nil && r.Level > *max:
		return nil, access.FieldErrorf(access.CodeInvalid, field, "role %s is above max_role", name)
	}
	return &r.Level, nil
}

// validIssuer admits an absolute https URL, or http on a loopback host
// (development and tests).
func validIssuer(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || len(s) > 500 {
		return false
	}
	host := u.Hostname()
	return u.Scheme == "https" || (u.Scheme == "http" && (host == "localhost" || host == "127.0.0.1" || host == "::1"))
}

// validDomain admits a DNS name with at least one dot.
func validDomain(d string) bool {
	if len(d) < 3 || len(d) > 253 || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
		return false
	}
	for _, r := range d {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return !strings.Contains(d, "..")
}

// emailDomain returns the lower-case domain of an email address.
func emailDomain(email string) string {
	_, d, ok := strings.Cut(normalizeEmail(email), "@")
	if !ok {
		return ""
	}
	return d
}

// ProviderForEmail returns the identity provider of an email's domain
// (home-realm discovery on the sign-in page); ok is false when the domain
// is not federated. Anyone may call it: domains are not secret, and the
// answer says nothing about whether the address exists.
func (a *App) ProviderForEmail(ctx context.Context, email string) (p store.IdentityProvider, ok bool, err error) {
	d := emailDomain(email)
	if d == "" {
		return p, false, nil
	}
	p, err = a.st.IdentityProviderForDomain(ctx, d)
	switch {
	case access.ErrorCode(err) == access.CodeNotFound:
		return p, false, nil
	case err != nil:
		return p, false, err
	}
	return p, true, nil
}

// localPasswordsRefused answers CodeForbidden when email's domain signs
// in through a provider with local_passwords disabled, pointing to it.
func (a *App) localPasswordsRefused(ctx context.Context, email string) error {
	p, ok, err := a.ProviderForEmail(ctx, email)
	if err != nil || !ok || p.LocalPasswords != store.LocalPasswordsDisabled {
		return err
	}
	return &access.Error{Code: access.CodeForbidden, Field: "email",
		Message: "addresses of " + emailDomain(email) + " sign in with " + p.Name + " (single sign-on at /sso/" + p.ID + "/start), not with a password"}
}

// PublicURL is the server's public base URL (--public-url), "" when
// unset: the console shows the redirect URI a provider must register.
func (a *App) PublicURL() string { return strings.TrimRight(a.mail.PublicURL, "/") }
