package admin

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Accounts in the console: the tree (roots paged, each with its first
// children; a search lists matches with their path), and an account's page
// with the "Allow external users" switch, the account group, children and
// the External Access panel (the ERP's table of grants on the account).

// treeChildren is how many children the tree shows under each root; the
// rest are on the root's page.
const treeChildren = 8

// treeLimit bounds the subtree the tree walks for one root's children; a
// larger subtree shows only a link, so a page never walks a huge tree.
const treeLimit = 5000

// accountInputs map the fields of account errors to the account forms'
// inputs.
var accountInputs = map[string]string{"id": "account_id", "parent": "account_parent"}

type accountForm struct {
	ID, Name, Kind, Parent  string
	ExternalAccess, Inherit bool
	RequireMFA              bool
}

type accountRow struct {
	access.Account
	// Path are the ancestors, root first (search results).
	Path []access.Account
	// Children are the first direct children (tree view); More counts the
	// others, -1 when the subtree was too large to count.
	Children []access.Account
	More     int
}

type accountsData struct {
	roles
	Query       string
	Rows        []accountRow
	Next, First string
	Create      accountForm
}

// ancestors returns a's ancestors, root first, from the engine's tree.
func (s *Surface) ancestors(a access.Account) []access.Account {
	eng := s.app.Engine()
	var out []access.Account
	for id, n := a.Parent, 0; id != "" && n < 1000; n++ {
		p, ok := eng.Account(id)
		if !ok {
			break
		}
		out = append([]access.Account{p}, out...)
		id = p.Parent
	}
	return out
}

// directChildren returns up to max direct children of id and how many
// more there are (-1: the subtree is too large to walk here).
func (s *Surface) directChildren(id string, max int) ([]access.Account, int) {
	eng := s.app.Engine()
	sub := eng.Subtree(id)
	if len(sub) > treeLimit {
		return nil, -1
	}
	var out []access.Account
	more := 0
	for _, cid := range sub {
		if cid == id {
			continue
		}
		a, ok := eng.Account(cid)
		if !ok || a.Parent != id {
			continue
		}
		if len(out) < max {
			out = append(out, a)
		} else {
			more++
		}
	}
	return out, more
}

func (s *Surface) handleAccounts(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return s.renderAccounts(w, r, c, page(c, "Accounts", "accounts"), http.StatusOK, accountForm{Inherit: true})
}

func (s *Surface) renderAccounts(w http.ResponseWriter, r *http.Request, c *app.Actor, p *render.Page, status int, form accountForm) error {
	q := r.URL.Query()
	d := accountsData{roles: rolesOf(c), Query: strings.TrimSpace(q.Get("q")), Create: form}
	f := app.AccountFilter{Query: d.Query, ListParams: app.ListParams{Limit: 50, Cursor: q.Get("cursor")}}
	if d.Query == "" {
		root := ""
		f.Parent = &root
	}
	list, err := s.app.ListAccounts(r.Context(), c, f)
	if err != nil {
		if status, err = listError(p, err); err != nil {
			return err
		}
		list = app.Page[access.Account]{}
	}
	for _, a := range list.Items {
		row := accountRow{Account: a}
		if d.Query != "" {
			row.Path = s.ancestors(a)
		} else {
			row.Children, row.More = s.directChildren(a.ID, treeChildren)
		}
		d.Rows = append(d.Rows, row)
	}
	filters := url.Values{}
	if d.Query != "" {
		filters.Set("q", d.Query)
	}
	d.Next, d.First = render.PageLinks("/admin/accounts", filters, q.Get("cursor"), list.Next)
	p.Data = d
	s.rd.Render(w, r, status, "admin_accounts", p)
	return nil
}

// handleCreateAccount creates an account; an existing id is a conflict
// (the form never replaces an account: the ERP's PUT does).
func (s *Surface) handleCreateAccount(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	form := accountForm{ID: strings.TrimSpace(r.PostFormValue("id")), Name: r.PostFormValue("name"),
		Kind: strings.TrimSpace(r.PostFormValue("kind")), Parent: strings.TrimSpace(r.PostFormValue("parent")),
		ExternalAccess: r.PostFormValue("external_access") == "on", Inherit: r.PostFormValue("inherit") != "off"}
	_, _, err := s.app.CreateAccount(r.Context(), c, form.ID, app.AccountUpdate{Name: app.Some(form.Name), Kind: app.Some(form.Kind),
		Parent: app.Some(form.Parent), ExternalAccess: app.Some(form.ExternalAccess), Inherit: app.Some(form.Inherit)})
	if err != nil {
		p := page(c, "Accounts", "accounts")
		status, ierr := render.FormError(p, err, accountInputs)
		if ierr != nil {
			return ierr
		}
		return s.renderAccounts(w, r, c, p, status, form)
	}
	render.RedirectDone(w, r, "/admin/accounts/"+url.PathEscape(form.ID), "account_created")
	return nil
}

// grantForm is the External Access panel's add or edit form, as typed.
type grantForm struct {
	ID, Principal, Role, Scope, Access, DaysBack, ValidFrom, ValidUntil, Notes string
	// PrincipalName names the principal (edit form).
	PrincipalName string
	// Locked: a protected grant, whose notes alone may change.
	Locked bool
}

// grantRow is one row of the External Access table.
type grantRow struct {
	access.Grant
	PrincipalName, PrincipalURL string
	AccountName                 string
	RoleTitle                   string
	Protected                   bool
	// State is "active" or why the grant is inactive.
	State  string
	Active bool
}

type accountData struct {
	roles
	Account access.Account
	// MFAInherited: an ancestor requires MFA of users homed here.
	MFAInherited bool
	Path         []access.Account
	Children     []access.Account
	ChildrenNext string
	Group        *store.GroupWithMembers
	Grants       []grantRow
	GrantsNext   string
	Roles        []*policy.CompiledRole
	DefaultRole  string
	Add          grantForm
	// Picker picks the user of the add form.
	Picker picker
	Edit   *grantForm
	// Remove is the grant whose removal waits for confirmation
	// (?remove=<id>; portal.md §5).
	Remove       *grantRow
	RemoveImpact render.Impact
	Details      accountForm
	RecordsURL   string
	Self         string
	// ParentName names the parent account.
	ParentName string
}

// accountState is what a failed POST puts back into the account page.
type accountState struct {
	add     *grantForm
	edit    *grantForm
	details *accountForm
}

func (s *Surface) handleAccount(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	a, err := s.app.GetAccount(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.renderAccount(w, r, c, page(c, a.Name, "accounts"), http.StatusOK, a, accountState{})
}

func (s *Surface) renderAccount(w http.ResponseWriter, r *http.Request, c *app.Actor, p *render.Page, status int, a access.Account, st accountState) error {
	ctx := r.Context()
	q := r.URL.Query()
	self := "/admin/accounts/" + url.PathEscape(a.ID)
	pol := s.app.Engine().Policy()
	d := accountData{roles: rolesOf(c), Account: a, Path: s.ancestors(a), Roles: pol.Roles(), Self: self,
		Details:      accountForm{ID: a.ID, Name: a.Name, Kind: a.Kind, Parent: a.Parent, Inherit: a.Inherit, RequireMFA: a.RequireMFA},
		MFAInherited: !a.RequireMFA && s.app.Engine().RequiresMFA(a.ID), ParentName: s.accountName(a.Parent)}
	if pol.DefaultGroupRole != nil {
		d.DefaultRole = pol.DefaultGroupRole.Name
	}
	if t := pol.Types(); len(t) > 0 {
		d.RecordsURL = "/admin/records?" + url.Values{"type": {t[0].Name}, "account": {a.ID}}.Encode()
	}
	children, err := s.app.ListAccounts(ctx, c, app.AccountFilter{Parent: &a.ID, ListParams: app.ListParams{Limit: 50, Cursor: q.Get("children")}})
	if err != nil && !isCode(err, access.CodeInvalid) {
		return err
	}
	d.Children = children.Items
	if children.Next != "" {
		d.ChildrenNext = self + "?" + url.Values{"children": {children.Next}}.Encode() + "#children"
	}
	if g, err := s.app.GetGroup(ctx, c, access.AccountGroupID(a.ID)); err == nil {
		d.Group = &g
	} else if !isCode(err, access.CodeNotFound) {
		return err
	}
	grants, err := s.app.ListGrants(ctx, c, app.GrantFilter{Account: a.ID, ListParams: app.ListParams{Limit: 100, Cursor: q.Get("grants")}})
	if err != nil && !isCode(err, access.CodeInvalid) {
		return err
	}
	if grants.Next != "" {
		d.GrantsNext = self + "?" + url.Values{"grants": {grants.Next}}.Encode() + "#external-access"
	}
	now := s.app.Now()
	for _, g := range grants.Items {
		d.Grants = append(d.Grants, s.grantRow(r, c, g, a, now, true))
	}
	d.Add = grantForm{Role: d.DefaultRole, Scope: access.ScopeSubtree, Access: access.AccessReadWrite}
	if st.add != nil {
		d.Add = *st.add
	} else if q.Get("pick") != "" {
		d.Add = readGrantForm(q) // the picker's search, form kept as typed
	}
	if d.CanWrite {
		d.Picker = picker{Field: "principal", ID: "g-principal", Kind: access.KindExternal, Action: self + "#add-grant",
			TextLabel: "Or type a user id, an email or group:<id>", Find: strings.TrimSpace(r.FormValue("find")), Error: p.Errors["grant_principal"]}
		d.Picker.Searched = d.Picker.Find != ""
		if err := s.fill(r, c, &d.Picker, d.Add.Principal, func(id string) string { return "user:" + id }); err != nil {
			return err
		}
	}
	if st.edit != nil {
		d.Edit = st.edit
	} else if id := q.Get("edit"); id != "" && d.CanWrite {
		if g, err := s.app.GetGrant(ctx, c, id); err == nil && g.Account == a.ID {
			f := formOfGrant(g)
			f.Locked = protected(pol, g.Role)
			f.PrincipalName = s.grantRow(r, c, g, a, s.app.Now(), true).PrincipalName
			d.Edit = &f
		}
	}
	if id := q.Get("remove"); id != "" && d.CanWrite {
		if g, err := s.app.GetGrant(ctx, c, id); err == nil && g.Account == a.ID && !protected(pol, g.Role) {
			row := s.grantRow(r, c, g, a, now, true)
			d.Remove = &row
			imp, err := s.preview(r, c, app.PreviewChange{Op: "grant.delete", ID: g.ID})
			if err != nil {
				// The removal itself would fail the same way: say why here.
				if _, ierr := render.FormError(p, err, nil); ierr != nil {
					return ierr
				}
			}
			d.RemoveImpact = imp
		}
	}
	if st.details != nil {
		d.Details = *st.details
	}
	p.Data = d
	s.rd.Render(w, r, status, "admin_account", p)
	return nil
}

// protected reports whether role is a protected role of the policy.
func protected(pol *policy.Policy, role string) bool {
	r := pol.Role(role)
	return r != nil && r.Protected
}

// grantRow describes a grant for the table: the principal's name (a
// group's only with groupNames, which costs a query) and whether the grant
// is active now, and if not why.
func (s *Surface) grantRow(r *http.Request, c *app.Actor, g access.Grant, a access.Account, now time.Time, groupNames bool) grantRow {
	eng := s.app.Engine()
	pol := eng.Policy()
	row := grantRow{Grant: g, State: "active", Active: true, Protected: protected(pol, g.Role)}
	if role := pol.Role(g.Role); role != nil {
		row.RoleTitle = role.Title
	}
	kind, id, _ := strings.Cut(g.Principal, ":")
	inactive := func(why string) {
		if row.Active {
			row.State, row.Active = why, false
		}
	}
	switch kind {
	case "user":
		row.PrincipalURL = "/admin/users/" + url.PathEscape(id)
		if u, ok := eng.User(id); ok {
			row.PrincipalName = u.Name
			if u.Status != access.StatusActive {
				inactive("user " + u.Status)
			}
		}
	case "group":
		row.PrincipalURL = "/admin/groups/" + url.PathEscape(id)
		if !groupNames {
			break
		}
		// The name is a courtesy: without it the row shows the id.
		if gr, err := s.app.GetGroup(r.Context(), c, id); err == nil {
			row.PrincipalName = gr.Name
		} else if !isCode(err, access.CodeNotFound) {
			s.log.Warn("console: group name", "group", id, "err", err)
		}
	}
	if ga, ok := eng.Account(g.Account); ok {
		a = ga
	}
	row.AccountName = a.Name
	switch {
	case !a.ExternalAccess:
		inactive("inactive: external users are not allowed on " + a.ID)
	case g.ValidFrom != nil && now.Before(*g.ValidFrom):
		inactive("not valid yet")
	case g.ValidUntil != nil && !now.Before(*g.ValidUntil):
		inactive("expired")
	}
	return row
}

// formOfGrant fills the edit form from a stored grant; instants show as
// their UTC date.
func formOfGrant(g access.Grant) grantForm {
	f := grantForm{ID: g.ID, Principal: g.Principal, Role: g.Role, Scope: g.Scope, Access: g.Access, Notes: g.Notes}
	f.DaysBack, f.ValidFrom, f.ValidUntil = render.GrantLimitsText(g)
	return f
}

// handleUpdateAccount saves an account's name, kind, parent and inherit
// flag (the switch has its own form).
func (s *Surface) handleUpdateAccount(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	a, err := s.app.GetAccount(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	form := accountForm{ID: a.ID, Name: r.PostFormValue("name"), Kind: strings.TrimSpace(r.PostFormValue("kind")),
		Parent: strings.TrimSpace(r.PostFormValue("parent")), Inherit: r.PostFormValue("inherit") == "on",
		RequireMFA: r.PostFormValue("require_mfa") == "on"}
	u := app.AccountUpdate{Name: app.Some(form.Name), Kind: app.Some(form.Kind), Parent: app.Some(form.Parent), Inherit: app.Some(form.Inherit),
		RequireMFA: app.Some(form.RequireMFA)}
	if patch := map[string]any{}; !render.Confirmed(r) && (form.Inherit != a.Inherit || form.Parent != a.Parent) {
		if form.Inherit != a.Inherit {
			patch["inherit"] = form.Inherit
		}
		if form.Parent != a.Parent {
			patch["parent"] = form.Parent
		}
		var imp render.Impact
		if imp, err = s.preview(r, c, app.PreviewChange{Op: "account.update", ID: a.ID, Patch: render.Patch(patch)}); err == nil {
			summary := s.rd.T(r, &c.User, "{{.Account}} moves under {{.Parent}}: grants on its new ancestors reach it, those on its old ones no longer do.",
				"Account", accountName(a), "Parent", s.accountLabel(r, c, form.Parent))
			switch {
			case form.Parent == a.Parent && form.Inherit:
				summary = s.rd.T(r, &c.User, "{{.Account}} inherits access again: grants on its parent accounts reach it and its subtree.", "Account", accountName(a))
			case form.Parent == a.Parent:
				summary = s.rd.T(r, &c.User, "{{.Account}} stops inheriting access: grants on its parent accounts no longer reach it or its subtree.", "Account", accountName(a))
			}
			return s.renderConfirm(w, r, c, a.Name, "accounts", render.Confirm{Heading: s.rd.T(r, &c.User, "Save the details of {{.Account}}?", "Account", accountName(a)),
				Summary: summary, Action: "/admin/accounts/" + url.PathEscape(a.ID), Button: s.rd.T(r, &c.User, "Save details"),
				Cancel: "/admin/accounts/" + url.PathEscape(a.ID) + "#details", Impact: imp, Danger: !form.Inherit && a.Inherit,
				Edit: "/admin/accounts/" + url.PathEscape(a.ID) + "#details"})
		}
	}
	if err == nil {
		_, _, _, err = s.app.PutAccount(r.Context(), c, a.ID, u, false)
	}
	if err != nil {
		p := page(c, a.Name, "accounts")
		status, ierr := render.FormError(p, err, accountInputs)
		if ierr != nil {
			return ierr
		}
		return s.renderAccount(w, r, c, p, status, a, accountState{details: &form})
	}
	render.RedirectDone(w, r, "/admin/accounts/"+url.PathEscape(a.ID), "account_saved")
	return nil
}

// handleExternalAccess is the "Allow external users" checkbox: it stores
// the account with the switch as ticked, exactly like the API's PUT
// (switching on creates the group acct:<id> and its default grant).
func (s *Surface) handleExternalAccess(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	a, err := s.app.GetAccount(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	on := r.PostFormValue("external_access") == "on"
	if on != a.ExternalAccess && !render.Confirmed(r) {
		imp, err := s.preview(r, c, app.PreviewChange{Op: "account.update", ID: a.ID, Patch: render.Patch(map[string]any{"external_access": on})})
		if err != nil {
			return err
		}
		cf := render.Confirm{Heading: s.rd.T(r, &c.User, "Allow external users on {{.Account}}?", "Account", accountName(a)),
			Summary: s.rd.T(r, &c.User, "This creates the group acct:{{.Account}} with a grant of role {{.Role}} on this account and its subtree, and makes the account's grants active.",
				"Account", a.ID, "Role", s.defaultRoleTitle(r, c)),
			Action: "/admin/accounts/" + url.PathEscape(a.ID) + "/external-access", Button: s.rd.T(r, &c.User, "Allow external users"),
			Cancel: "/admin/accounts/" + url.PathEscape(a.ID), Impact: imp}
		if !on {
			cf.Heading = s.rd.T(r, &c.User, "Switch external users off on {{.Account}}?", "Account", accountName(a))
			cf.Summary = s.rd.T(r, &c.User, "Every grant on this account is kept but becomes inactive: its users lose what they reached through them, at once and on every node.")
			cf.Button, cf.Danger = s.rd.T(r, &c.User, "Switch external users off"), true
		}
		return s.renderConfirm(w, r, c, a.Name, "accounts", cf)
	}
	if _, _, _, err := s.app.PutAccount(r.Context(), c, a.ID, app.AccountUpdate{ExternalAccess: app.Some(on)}, false); err != nil {
		return err
	}
	done := "access_off"
	if on {
		done = "access_on"
	}
	render.RedirectDone(w, r, "/admin/accounts/"+url.PathEscape(a.ID)+"#external-access", done)
	return nil
}

// grantForms reads the panel's add or edit form as typed, and the grant
// update it asks for: only the inputs the form sent are set (a locked row
// sends notes alone); days back and validity as render.GrantLimits reads
// them against old (nil for a new grant).
func grantForms(r *http.Request, old *access.Grant) (grantForm, app.GrantUpdate, error) {
	_ = r.PostFormValue("principal") // parses the form
	form := readGrantForm(r.PostForm)
	u := app.GrantUpdate{Role: render.FormString(r.PostForm, "role"), Scope: render.FormString(r.PostForm, "scope"),
		Access: render.FormString(r.PostForm, "access"), Notes: render.FormString(r.PostForm, "notes")}
	err := render.GrantLimits(r.PostForm, old, &u)
	return form, u, err
}

// readGrantForm reads the add or edit form from v (a POST's form, or the
// query of the picker's search, which submits the form with GET); the
// principal is the picker's (pickedValue).
func readGrantForm(v url.Values) grantForm {
	return grantForm{Principal: pickedValue(v, "principal"), Role: v.Get("role"),
		Scope: v.Get("scope"), Access: v.Get("access"), DaysBack: strings.TrimSpace(v.Get("days_back")),
		ValidFrom: strings.TrimSpace(v.Get("valid_from")), ValidUntil: strings.TrimSpace(v.Get("valid_until")),
		Notes: v.Get("notes")}
}

// panelGrant loads the grant a panel POST names; one on another account
// is CodeNotFound.
func (s *Surface) panelGrant(r *http.Request, c *app.Actor, a access.Account) (access.Grant, error) {
	g, err := s.app.GetGrant(r.Context(), c, r.PathValue("grant"))
	if err == nil && g.Account != a.ID {
		err = access.Errorf(access.CodeNotFound, "grant %s is not on account %s", g.ID, a.ID)
	}
	return g, err
}

func (s *Surface) handleAddGrant(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	ctx := r.Context()
	a, err := s.app.GetAccount(ctx, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	form, u, err := grantForms(r, nil)
	if err == nil {
		var principal string
		if principal, err = s.app.ResolvePrincipal(ctx, c, form.Principal); err == nil {
			u.Principal, u.Account = app.Some(principal), app.Some(a.ID)
			if !render.Confirmed(r) {
				var imp render.Impact
				if imp, err = s.preview(r, c, app.PreviewChange{Op: "grant.create", Grant: &u}); err == nil {
					role := s.rd.RoleTitle(r, &c.User, form.Role)
					return s.renderConfirm(w, r, c, a.Name, "accounts", render.Confirm{
						Heading: s.rd.T(r, &c.User, "Add this grant?"),
						Summary: s.rd.T(r, &c.User, "{{.User}} gets the role {{.Role}} on {{.Account}}.", "User", s.principalName(principal), "Role", role, "Account", accountName(a)),
						Action:  "/admin/accounts/" + url.PathEscape(a.ID) + "/grants", Button: s.rd.T(r, &c.User, "Save grant"),
						Cancel: "/admin/accounts/" + url.PathEscape(a.ID) + "#external-access", Impact: imp,
						Edit: "/admin/accounts/" + url.PathEscape(a.ID) + "#external-access"})
				}
			} else {
				_, _, err = s.app.CreateGrant(ctx, c, u)
			}
		}
	}
	if err != nil {
		p := page(c, a.Name, "accounts")
		status, ierr := render.FormError(p, err, render.GrantInputs)
		if ierr != nil {
			return ierr
		}
		return s.renderAccount(w, r, c, p, status, a, accountState{add: &form})
	}
	render.RedirectDone(w, r, "/admin/accounts/"+url.PathEscape(a.ID)+"#external-access", "grant_added")
	return nil
}

func (s *Surface) handleEditGrant(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	ctx := r.Context()
	a, err := s.app.GetAccount(ctx, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	old, err := s.panelGrant(r, c, a)
	if err != nil {
		return err
	}
	form, u, err := grantForms(r, &old)
	if err == nil && !render.Confirmed(r) && render.GrantAccessChanges(old, u) {
		var imp render.Impact
		if imp, err = s.preview(r, c, app.PreviewChange{Op: "grant.update", ID: old.ID, Patch: render.GrantPatch(u)}); err == nil {
			return s.renderConfirm(w, r, c, a.Name, "accounts", render.Confirm{
				Heading: s.rd.T(r, &c.User, "Save the grant of {{.User}}?", "User", s.principalName(old.Principal)),
				Summary: s.rd.T(r, &c.User, "The grant of {{.User}} on {{.Account}} changes as entered.", "User", s.principalName(old.Principal), "Account", accountName(a)),
				Action:  "/admin/accounts/" + url.PathEscape(a.ID) + "/grants/" + url.PathEscape(old.ID), Button: s.rd.T(r, &c.User, "Save grant"),
				Cancel: "/admin/accounts/" + url.PathEscape(a.ID) + "?edit=" + url.QueryEscape(old.ID) + "#edit-grant", Impact: imp,
				Edit: "/admin/accounts/" + url.PathEscape(a.ID) + "?edit=" + url.QueryEscape(old.ID) + "#edit-grant"})
		}
	}
	if err == nil {
		_, _, err = s.app.UpdateGrant(ctx, c, old.ID, u)
	}
	if err != nil {
		p := page(c, a.Name, "accounts")
		status, ierr := render.FormError(p, err, render.GrantInputs)
		if ierr != nil {
			return ierr
		}
		edit := formOfGrant(old)
		edit.Locked = protected(s.app.Engine().Policy(), old.Role)
		keep := func(key string, dst *string, v string) {
			if _, sent := r.PostForm[key]; sent {
				*dst = v
			}
		}
		keep("role", &edit.Role, form.Role)
		keep("scope", &edit.Scope, form.Scope)
		keep("access", &edit.Access, form.Access)
		keep("days_back", &edit.DaysBack, form.DaysBack)
		keep("valid_from", &edit.ValidFrom, form.ValidFrom)
		keep("valid_until", &edit.ValidUntil, form.ValidUntil)
		keep("notes", &edit.Notes, form.Notes)
		return s.renderAccount(w, r, c, p, status, a, accountState{edit: &edit})
	}
	render.RedirectDone(w, r, "/admin/accounts/"+url.PathEscape(a.ID)+"#external-access", "grant_saved")
	return nil
}

// handleRemoveGrant removes a grant; a protected one is refused by the
// engine (409 protected), whatever the form says.
func (s *Surface) handleRemoveGrant(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	ctx := r.Context()
	a, err := s.app.GetAccount(ctx, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	old, err := s.panelGrant(r, c, a)
	if err != nil {
		return err
	}
	if r.PostFormValue("confirm") != "yes" {
		// Removing asks first (the Remove link shows the confirmation).
		http.Redirect(w, r, "/admin/accounts/"+url.PathEscape(a.ID)+"?remove="+url.QueryEscape(old.ID)+"#remove-grant", http.StatusSeeOther)
		return nil
	}
	if _, err := s.app.DeleteGrant(ctx, c, old.ID); err != nil {
		p := page(c, a.Name, "accounts")
		status, ierr := render.FormError(p, err, nil)
		if ierr != nil {
			return ierr
		}
		return s.renderAccount(w, r, c, p, status, a, accountState{})
	}
	render.RedirectDone(w, r, "/admin/accounts/"+url.PathEscape(a.ID)+"#external-access", "grant_removed")
	return nil
}
