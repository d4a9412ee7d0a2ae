package admin

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The console's Identity providers page (identity.md §7): the list, and
// one form to connect a customer's OpenID provider or edit one, with the
// redirect URI to register at the provider. The client secret is never
// shown: an empty secret input keeps the stored one.

func (s *Surface) identityProviderRoutes(get, post func(string, surface.Handler) surface.Route) []surface.Route {
	return []surface.Route{
		get("/admin/identity-providers", s.handleIdentityProviders),
		post("/admin/identity-providers", s.handleSaveIdentityProvider),
		get("/admin/identity-providers/{id}", s.handleIdentityProvider),
		post("/admin/identity-providers/{id}", s.handleSaveIdentityProvider),
		post("/admin/identity-providers/{id}/delete", s.handleDeleteIdentityProviderForm),
	}
}

// idpData is what admin_identity_providers.html receives.
type idpData struct {
	roles
	Items []store.IdentityProvider
	// Editing is set on a provider's own page.
	Editing   bool
	SecretSet bool
	Form      idpForm
	Roles     []render.Choice
	MaxRoles  []render.Choice
	JITRoles  []render.Choice
	// Base is the public URL the redirect URIs start with.
	Base string
}

// idpForm holds the form's inputs as typed.
type idpForm struct {
	ID, Name, Issuer, ClientID, Scopes, Account, Domains, LocalPasswords string
	JITEnabled                                                           bool
	JITHome, JITRole, JITDaysBack                                        string
	EmailClaim, NameClaim, GroupsClaim, GroupRoles, MaxRole              string
}

// idpInputs place a provider's errors next to their inputs.
var idpInputs = map[string]string{"id": "idp_id", "name": "idp_name", "issuer": "idp_issuer", "client_id": "idp_client_id",
	"client_secret": "idp_secret", "scopes": "idp_scopes", "account": "idp_account", "email_domains": "idp_domains",
	"local_passwords": "idp_local", "jit.home_account": "idp_jit_home", "jit.role": "idp_jit_role", "jit.days_back": "idp_jit_days",
	"claims": "idp_claims_email", "group_roles": "idp_group_roles", "max_role": "idp_max_role"}

func formOf(p store.IdentityProvider) idpForm {
	f := idpForm{ID: p.ID, Name: p.Name, Issuer: p.Issuer, ClientID: p.ClientID, Scopes: strings.Join(p.Scopes, " "),
		Domains: strings.Join(p.EmailDomains, ", "), LocalPasswords: p.LocalPasswords, JITEnabled: p.JIT.Enabled,
		JITHome: p.JIT.HomeAccount, JITRole: p.JIT.Role, EmailClaim: p.Claims.Email, NameClaim: p.Claims.Name,
		GroupsClaim: p.Claims.Groups, MaxRole: p.MaxRole}
	if p.Account != nil {
		f.Account = *p.Account
	}
	if p.JIT.DaysBack != nil {
		f.JITDaysBack = strconv.Itoa(*p.JIT.DaysBack)
	}
	groups := make([]string, 0, len(p.GroupRoles))
	for g := range p.GroupRoles {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		f.GroupRoles += g + " = " + p.GroupRoles[g] + "\n"
	}
	return f
}

// inputOf turns the form into the use case's input: every field set,
// the secret only when typed, a blank account the staff's provider.
func inputOf(r *http.Request) (idpForm, app.IdentityProviderInput) {
	v := r.PostFormValue
	f := idpForm{ID: strings.TrimSpace(v("id")), Name: v("name"), Issuer: strings.TrimSpace(v("issuer")), ClientID: strings.TrimSpace(v("client_id")),
		Scopes: v("scopes"), Account: strings.TrimSpace(v("account")), Domains: v("email_domains"), LocalPasswords: v("local_passwords"),
		JITEnabled: v("jit_enabled") == "on", JITHome: strings.TrimSpace(v("jit_home_account")), JITRole: v("jit_role"),
		JITDaysBack: strings.TrimSpace(v("jit_days_back")), EmailClaim: strings.TrimSpace(v("claim_email")),
		NameClaim: strings.TrimSpace(v("claim_name")), GroupsClaim: strings.TrimSpace(v("claim_groups")),
		GroupRoles: v("group_roles"), MaxRole: v("max_role")}
	in := app.IdentityProviderInput{Name: app.Some(f.Name), Issuer: app.Some(f.Issuer), ClientID: app.Some(f.ClientID),
		Scopes: app.Some(strings.Fields(f.Scopes)), EmailDomains: app.Some(strings.FieldsFunc(f.Domains, func(r rune) bool {
			return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
		})), LocalPasswords: app.Some(f.LocalPasswords), MaxRole: app.Some(f.MaxRole),
		Claims: app.Some(store.ProviderClaims{Email: f.EmailClaim, Name: f.NameClaim, Groups: f.GroupsClaim})}
	if secret := v("client_secret"); secret != "" {
		in.ClientSecret = app.Some(secret)
	}
	in.Account = app.Null[string]()
	if f.Account != "" {
		in.Account = app.Some(f.Account)
	}
	jit := store.ProviderJIT{Enabled: f.JITEnabled, HomeAccount: f.JITHome, Role: f.JITRole}
	if f.JITDaysBack != "" {
		d, err := strconv.Atoi(f.JITDaysBack)
		if err != nil {
			d = -1
		}
		jit.DaysBack = &d
	}
	in.JIT = app.Some(jit)
	roles := map[string]string{}
	for _, line := range strings.Split(f.GroupRoles, "\n") {
		group, role, ok := strings.Cut(line, "=")
		if group = strings.TrimSpace(group); ok || group != "" {
			roles[group] = strings.TrimSpace(role)
		}
	}
	in.GroupRoles = app.Some(roles)
	return f, in
}

func (s *Surface) renderIdentityProviders(w http.ResponseWriter, r *http.Request, c *app.Actor, p *render.Page, d *idpData, status int) error {
	d.roles = rolesOf(c)
	items, err := s.app.ListIdentityProviders(r.Context(), c)
	if err != nil {
		return err
	}
	d.Items = items
	d.Base = s.app.PublicURL()
	if d.Base == "" {
		scheme := "http"
		if surface.ClientOf(r).Secure || r.TLS != nil {
			scheme = "https"
		}
		d.Base = scheme + "://" + r.Host
	}
	if d.Form.LocalPasswords == "" {
		d.Form.LocalPasswords = store.LocalPasswordsAllowed
	}
	for _, role := range s.app.Engine().Policy().Roles() {
		if role.Assignable && !role.Protected {
			label := role.Name + " · " + role.Title
			d.MaxRoles = append(d.MaxRoles, render.Choice{Value: role.Name, Label: label, Selected: role.Name == d.Form.MaxRole})
			d.JITRoles = append(d.JITRoles, render.Choice{Value: role.Name, Label: label, Selected: role.Name == d.Form.JITRole})
		}
	}
	p.Data = d
	s.rd.Render(w, r, status, "admin_identity_providers", p)
	return nil
}

func (s *Surface) handleIdentityProviders(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return s.renderIdentityProviders(w, r, c, page(c, "Identity providers", "identity-providers"), &idpData{}, http.StatusOK)
}

func (s *Surface) handleIdentityProvider(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	prov, err := s.app.GetIdentityProvider(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.renderIdentityProviders(w, r, c, page(c, prov.Name, "identity-providers"),
		&idpData{Editing: true, SecretSet: prov.ClientSecretSet, Form: formOf(prov)}, http.StatusOK)
}

// handleSaveIdentityProvider creates (POST /admin/identity-providers with
// the id in the form) or updates (its own path) a provider.
func (s *Surface) handleSaveIdentityProvider(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	f, in := inputOf(r)
	editing := r.PathValue("id") != ""
	if editing {
		f.ID = r.PathValue("id")
	}
	prov, _, _, err := s.app.PutIdentityProvider(r.Context(), c, f.ID, in)
	if err != nil {
		p := page(c, "Identity providers", "identity-providers")
		status, ierr := render.FormError(p, err, idpInputs)
		if ierr != nil {
			return ierr
		}
		old, gerr := s.app.GetIdentityProvider(r.Context(), c, f.ID)
		return s.renderIdentityProviders(w, r, c, p, &idpData{Editing: editing, SecretSet: gerr == nil && old.ClientSecretSet, Form: f}, status)
	}
	render.RedirectDone(w, r, "/admin/identity-providers/"+url.PathEscape(prov.ID), "idp_saved")
	return nil
}

func (s *Surface) handleDeleteIdentityProviderForm(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	if _, err := s.app.DeleteIdentityProvider(r.Context(), c, r.PathValue("id")); err != nil {
		return err
	}
	render.RedirectDone(w, r, "/admin/identity-providers", "idp_deleted")
	return nil
}
