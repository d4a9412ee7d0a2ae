package admin

import (
	"net/http"
	"sort"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The console's SCIM tokens page (identity.md §8): list, create (the
// secret is shown once, on the page that answers the form) and revoke the
// tokens through which a customer's identity provider provisions its
// people. Admins and access managers only: the use cases refuse auditors.

func (s *Surface) scimRoutes(get, post func(string, surface.Handler) surface.Route) []surface.Route {
	return []surface.Route{
		get("/admin/scim-tokens", s.handleSCIMTokens),
		post("/admin/scim-tokens", s.handleCreateSCIMToken),
		post("/admin/scim-tokens/{id}/revoke", s.handleRevokeSCIMToken),
	}
}

// scimInputs place a token's errors next to their inputs.
var scimInputs = map[string]string{"name": "scim_name", "account": "scim_account", "max_role": "scim_max_role", "group_roles": "scim_group_roles"}

type scimForm struct{ Name, Account, MaxRole, GroupRoles string }

type scimTokensData struct {
	roles
	Tokens  []scimTokenRow
	Roles   []render.Choice
	Form    scimForm
	BaseURL string
	// Secret and Created are set once, on the answer to a creation.
	Secret  string
	Created *store.SCIMToken
}

type scimTokenRow struct {
	store.SCIMToken
	GroupRoles []string // "displayName → role", sorted
}

func (s *Surface) handleSCIMTokens(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return s.renderSCIMTokens(w, r, c, page(c, "SCIM tokens", "scim-tokens"), &scimTokensData{}, http.StatusOK)
}

func (s *Surface) renderSCIMTokens(w http.ResponseWriter, r *http.Request, c *app.Actor, p *render.Page, d *scimTokensData, status int) error {
	toks, err := s.app.ListSCIMTokens(r.Context(), c)
	if err != nil {
		return err
	}
	d.roles = rolesOf(c)
	for _, t := range toks {
		row := scimTokenRow{SCIMToken: t}
		for name, role := range t.GroupRoles {
			row.GroupRoles = append(row.GroupRoles, name+" → "+role)
		}
		sort.Strings(row.GroupRoles)
		d.Tokens = append(d.Tokens, row)
	}
	for _, role := range s.app.Engine().Policy().Roles() {
		if role.Assignable && !role.Protected {
			d.Roles = append(d.Roles, render.Choice{Value: role.Name, Label: role.Name + " · " + role.Title, Selected: role.Name == d.Form.MaxRole})
		}
	}
	d.BaseURL = s.app.SCIMBaseURL()
	if d.BaseURL == "" {
		scheme := "http"
		if surface.ClientOf(r).Secure || r.TLS != nil {
			scheme = "https"
		}
		d.BaseURL = scheme + "://" + r.Host + "/scim/v2"
	}
	p.Data = d
	s.rd.Render(w, r, status, "admin_scim_tokens", p)
	return nil
}

// handleCreateSCIMToken creates a token from the form; group_roles is one
// "displayName = role" a line.
func (s *Surface) handleCreateSCIMToken(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	form := scimForm{Name: strings.TrimSpace(r.PostFormValue("name")), Account: strings.TrimSpace(r.PostFormValue("account")),
		MaxRole: r.PostFormValue("max_role"), GroupRoles: r.PostFormValue("group_roles")}
	p := page(c, "SCIM tokens", "scim-tokens")
	d := &scimTokensData{Form: form}
	in := app.SCIMTokenRequest{Name: form.Name, Account: form.Account, MaxRole: form.MaxRole, GroupRoles: map[string]string{}}
	var err error
	for _, line := range strings.Split(form.GroupRoles, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		i := strings.LastIndex(line, "=")
		if i < 0 {
			err = access.FieldErrorf(access.CodeInvalid, "group_roles", "write one group a line: displayName = role")
			break
		}
		in.GroupRoles[strings.TrimSpace(line[:i])] = strings.TrimSpace(line[i+1:])
	}
	if err == nil {
		var tok store.SCIMToken
		tok, d.Secret, _, err = s.app.CreateSCIMToken(r.Context(), c, in)
		if err == nil {
			d.Created, d.Form = &tok, scimForm{}
			p.Flash = "The SCIM token was created. Copy its secret now: it is not shown again."
		}
	}
	status := http.StatusCreated
	if err != nil {
		if status, err = render.FormError(p, err, scimInputs); err != nil {
			return err
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.renderSCIMTokens(w, r, c, p, d, status)
}

func (s *Surface) handleRevokeSCIMToken(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	if _, err := s.app.DeleteSCIMToken(r.Context(), c, r.PathValue("id")); err != nil {
		return err
	}
	render.RedirectDone(w, r, "/admin/scim-tokens", "scim_revoked")
	return nil
}
