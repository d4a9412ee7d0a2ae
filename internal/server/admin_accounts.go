package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Accounts in the console: the tree (roots paged, each with its first
// children; a search lists matches with their path), and an account's page
// with the "Allow external users" switch, the account group, children and
// the External Access panel (the ERP's table of grants on the account).

// admTreeChildren is how many children the tree shows under each root; the
// rest are on the root's page.
const admTreeChildren = 8

// admTreeLimit bounds the subtree the tree walks for one root's children; a
// larger subtree shows only a link, so a page never walks a huge tree.
const admTreeLimit = 5000

type admAccountForm struct {
	ID, Name, Kind, Parent  string
	ExternalAccess, Inherit bool
}

type admAccountRow struct {
	access.Account
	// Path are the admAncestors, root first (search results).
	Path []access.Account
	// Children are the first direct children (tree view); More counts the
	// others, -1 when the subtree was too large to count.
	Children []access.Account
	More     int
}

type admAccountsData struct {
	adminBase
	Query       string
	Rows        []admAccountRow
	Next, First string
	Create      admAccountForm
}

// admAncestors returns a's admAncestors, root first, from the engine's tree.
func (s *Server) admAncestors(a access.Account) []access.Account {
	var out []access.Account
	for id, n := a.Parent, 0; id != "" && n < 1000; n++ {
		p, ok := s.engine.Account(id)
		if !ok {
			break
		}
		out = append([]access.Account{p}, out...)
		id = p.Parent
	}
	return out
}

// admDirectChildren returns up to max direct children of id and how many
// more there are (-1: the subtree is too large to walk here).
func (s *Server) admDirectChildren(id string, max int) ([]access.Account, int) {
	sub := s.engine.Subtree(id)
	if len(sub) > admTreeLimit {
		return nil, -1
	}
	var out []access.Account
	more := 0
	for _, cid := range sub {
		if cid == id {
			continue
		}
		a, ok := s.engine.Account(cid)
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

func (s *Server) handleAdminAccounts(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	p := s.admPage(r, c, "Accounts", "accounts")
	return s.admRenderAccounts(w, r, c, p, http.StatusOK, admAccountForm{Inherit: true})
}

func (s *Server) admRenderAccounts(w http.ResponseWriter, r *http.Request, c *caller, p *page, status int, form admAccountForm) error {
	q := r.URL.Query()
	d := admAccountsData{adminBase: admBaseOf(c), Query: strings.TrimSpace(q.Get("q")), Create: form}
	f := store.AccountFilter{Query: d.Query, Limit: 50, Cursor: q.Get("cursor")}
	if d.Query == "" {
		root := ""
		f.Parent = &root
	}
	items, next, err := s.store.ListAccounts(r.Context(), f)
	if access.ErrorCode(err) == access.CodeInvalid {
		p.Error = err.(*access.Error).Message
		items, next, status = nil, "", http.StatusBadRequest
	} else if err != nil {
		return err
	}
	for _, a := range items {
		row := admAccountRow{Account: a}
		if d.Query != "" {
			row.Path = s.admAncestors(a)
		} else {
			row.Children, row.More = s.admDirectChildren(a.ID, admTreeChildren)
		}
		d.Rows = append(d.Rows, row)
	}
	if next != "" {
		nq := url.Values{"cursor": {next}}
		if d.Query != "" {
			nq.Set("q", d.Query)
		}
		d.Next = "/admin/accounts?" + nq.Encode()
	}
	if q.Get("cursor") != "" {
		d.First = "/admin/accounts"
		if d.Query != "" {
			d.First += "?" + url.Values{"q": {d.Query}}.Encode()
		}
	}
	p.Data = d
	s.render(w, r, status, "admin_accounts", p)
	return nil
}

// handleAdminCreateAccount creates an account; an existing id is a
// conflict (the form never replaces an account: the ERP's PUT does).
func (s *Server) handleAdminCreateAccount(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriterPage(c); err != nil {
		return err
	}
	form := admAccountForm{ID: strings.TrimSpace(r.PostFormValue("id")), Name: r.PostFormValue("name"),
		Kind: strings.TrimSpace(r.PostFormValue("kind")), Parent: strings.TrimSpace(r.PostFormValue("parent")),
		ExternalAccess: r.PostFormValue("external_access") == "on", Inherit: r.PostFormValue("inherit") != "off"}
	err := checkID("account", form.ID)
	if err == nil {
		if _, exists := s.engine.Account(form.ID); exists {
			err = access.Errorf(access.CodeConflict, "account %s already exists", form.ID)
		}
	}
	if err == nil {
		_, _, err = s.saveAccount(r.Context(), c.user.ID, access.Account{ID: form.ID, Name: form.Name, Kind: form.Kind,
			Parent: form.Parent, ExternalAccess: form.ExternalAccess, Inherit: form.Inherit})
	}
	if err != nil {
		p := s.admPage(r, c, "Accounts", "accounts")
		status, ierr := formError(p, err, admAccountHints...)
		if ierr != nil {
			return ierr
		}
		return s.admRenderAccounts(w, r, c, p, status, form)
	}
	admRedirectDone(w, r, "/admin/accounts/"+url.PathEscape(form.ID), "account_created")
	return nil
}

var admAccountHints = []fieldHint{
	{"account id", "account_id"}, {"already exists", "account_id"}, {"parent", "account_parent"}, {"cycle", "account_parent"},
}

// grantForm is the External Access panel's add or edit form, as typed.
type grantForm struct {
	ID, Principal, Role, Scope, Access, DaysBack, ValidFrom, ValidUntil, Notes string
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

type admAccountData struct {
	adminBase
	Account      access.Account
	Path         []access.Account
	Children     []access.Account
	ChildrenNext string
	Group        *store.GroupWithMembers
	Grants       []grantRow
	GrantsNext   string
	Roles        []*policy.CompiledRole
	DefaultRole  string
	Add          grantForm
	Edit         *grantForm
	Details      admAccountForm
	RecordsURL   string
	Self         string
}

// admAccountState is what a failed POST puts back into the account page.
type admAccountState struct {
	add     *grantForm
	edit    *grantForm
	details *admAccountForm
}

func (s *Server) handleAdminAccount(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	a, err := s.store.GetAccount(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.admRenderAccount(w, r, c, s.admPage(r, c, a.Name, "accounts"), http.StatusOK, a, admAccountState{})
}

func (s *Server) admRenderAccount(w http.ResponseWriter, r *http.Request, c *caller, p *page, status int, a access.Account, st admAccountState) error {
	ctx := r.Context()
	q := r.URL.Query()
	self := "/admin/accounts/" + url.PathEscape(a.ID)
	pol := s.engine.Policy()
	d := admAccountData{adminBase: admBaseOf(c), Account: a, Path: s.admAncestors(a), Roles: pol.Roles(), Self: self,
		Details: admAccountForm{ID: a.ID, Name: a.Name, Kind: a.Kind, Parent: a.Parent, Inherit: a.Inherit}}
	if pol.DefaultGroupRole != nil {
		d.DefaultRole = pol.DefaultGroupRole.Name
	}
	if t := pol.Types(); len(t) > 0 {
		d.RecordsURL = "/admin/records?" + url.Values{"type": {t[0].Name}, "account": {a.ID}}.Encode()
	}
	children, next, err := s.store.ListAccounts(ctx, store.AccountFilter{Parent: &a.ID, Limit: 50, Cursor: q.Get("children")})
	if err != nil && access.ErrorCode(err) != access.CodeInvalid {
		return err
	}
	d.Children = children
	if next != "" {
		d.ChildrenNext = self + "?" + url.Values{"children": {next}}.Encode() + "#children"
	}
	if g, err := s.store.GetGroup(ctx, access.AccountGroupID(a.ID)); err == nil {
		d.Group = &g
	} else if access.ErrorCode(err) != access.CodeNotFound {
		return err
	}
	grants, gnext, err := s.store.ListGrants(ctx, store.GrantFilter{Account: a.ID, Limit: 100, Cursor: q.Get("grants")})
	if err != nil && access.ErrorCode(err) != access.CodeInvalid {
		return err
	}
	if gnext != "" {
		d.GrantsNext = self + "?" + url.Values{"grants": {gnext}}.Encode() + "#external-access"
	}
	now := s.engine.Now()
	for _, g := range grants {
		d.Grants = append(d.Grants, s.grantRow(r, g, a, now, true))
	}
	d.Add = grantForm{Role: d.DefaultRole, Scope: access.ScopeSubtree, Access: access.AccessReadWrite}
	if st.add != nil {
		d.Add = *st.add
	}
	if st.edit != nil {
		d.Edit = st.edit
	} else if id := q.Get("edit"); id != "" && d.CanWrite {
		if g, err := s.store.GetGrant(ctx, id); err == nil && g.Account == a.ID {
			f := formOfGrant(g)
			f.Locked = admProtected(pol, g.Role)
			d.Edit = &f
		}
	}
	if st.details != nil {
		d.Details = *st.details
	}
	p.Data = d
	s.render(w, r, status, "admin_account", p)
	return nil
}

func admProtected(pol *policy.Policy, role string) bool {
	r := pol.Role(role)
	return r != nil && r.Protected
}

// grantRow describes a grant for the table: the principal's name (a
// group's only with groupNames, which costs a query) and whether the grant
// is active now, and if not why.
func (s *Server) grantRow(r *http.Request, g access.Grant, a access.Account, now time.Time, groupNames bool) grantRow {
	row := grantRow{Grant: g, State: "active", Active: true, Protected: admProtected(s.engine.Policy(), g.Role)}
	if role := s.engine.Policy().Role(g.Role); role != nil {
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
		if u, ok := s.engine.User(id); ok {
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
		if gr, err := s.store.GetGroup(r.Context(), id); err == nil {
			row.PrincipalName = gr.Name
		}
	}
	if ga, ok := s.engine.Account(g.Account); ok {
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
	if g.DaysBack != nil {
		f.DaysBack = strconv.Itoa(*g.DaysBack)
	}
	if g.ValidFrom != nil {
		f.ValidFrom = g.ValidFrom.UTC().Format(time.DateOnly)
	}
	if g.ValidUntil != nil {
		f.ValidUntil = g.ValidUntil.UTC().Format(time.DateOnly)
	}
	return f
}

// handleAdminUpdateAccount saves an account's name, kind, parent and
// inherit flag (the switch has its own form).
func (s *Server) handleAdminUpdateAccount(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriterPage(c); err != nil {
		return err
	}
	a, err := s.store.GetAccount(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	form := admAccountForm{ID: a.ID, Name: r.PostFormValue("name"), Kind: strings.TrimSpace(r.PostFormValue("kind")),
		Parent: strings.TrimSpace(r.PostFormValue("parent")), Inherit: r.PostFormValue("inherit") == "on"}
	next := a
	next.Name, next.Kind, next.Parent, next.Inherit = form.Name, form.Kind, form.Parent, form.Inherit
	if _, _, err := s.saveAccount(r.Context(), c.user.ID, next); err != nil {
		p := s.admPage(r, c, a.Name, "accounts")
		status, ierr := formError(p, err, admAccountHints...)
		if ierr != nil {
			return ierr
		}
		return s.admRenderAccount(w, r, c, p, status, a, admAccountState{details: &form})
	}
	admRedirectDone(w, r, "/admin/accounts/"+url.PathEscape(a.ID), "account_saved")
	return nil
}

// handleAdminExternalAccess is the "Allow external users" checkbox: it
// stores the account with the switch as ticked, exactly like the API's
// PUT (switching on creates the group acct:<id> and its default grant).
func (s *Server) handleAdminExternalAccess(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriterPage(c); err != nil {
		return err
	}
	a, err := s.store.GetAccount(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a.ExternalAccess = r.PostFormValue("external_access") == "on"
	if _, _, err := s.saveAccount(r.Context(), c.user.ID, a); err != nil {
		return err
	}
	done := "access_off"
	if a.ExternalAccess {
		done = "access_on"
	}
	admRedirectDone(w, r, "/admin/accounts/"+url.PathEscape(a.ID)+"#external-access", done)
	return nil
}

var grantHints = []fieldHint{
	{"protected role", "grant_role"},
	{"days_back", "grant_days_back"},
	{"valid_from must be before", "grant_valid_until"},
	{"valid_from", "grant_valid_from"},
	{"valid_until", "grant_valid_until"},
	{"principal", "grant_principal"},
	{"user ", "grant_principal"},
	{"group", "grant_principal"},
	{"scope", "grant_scope"},
	{"access must", "grant_access"},
	{"role", "grant_role"},
	{"notes", "grant_notes"},
}

// grantFields turns the panel's form into the API's grant body, so the
// same applyGrant validates it. Only the inputs the form sent are set (a
// locked row sends notes alone). Dates are UTC days: a date input equal to
// the stored instant's day keeps the stored instant.
func (s *Server) grantFields(r *http.Request, old *access.Grant) (fields, grantForm, error) {
	form := grantForm{Principal: strings.TrimSpace(r.PostFormValue("principal")), Role: r.PostFormValue("role"),
		Scope: r.PostFormValue("scope"), Access: r.PostFormValue("access"), DaysBack: strings.TrimSpace(r.PostFormValue("days_back")),
		ValidFrom: strings.TrimSpace(r.PostFormValue("valid_from")), ValidUntil: strings.TrimSpace(r.PostFormValue("valid_until")),
		Notes: r.PostFormValue("notes")}
	f := fields{}
	str := func(key, v string) {
		if _, sent := r.PostForm[key]; sent {
			b, _ := json.Marshal(v)
			f[key] = b
		}
	}
	str("role", form.Role)
	str("scope", form.Scope)
	str("access", form.Access)
	str("notes", form.Notes)
	if err := grantLimitFields(r.PostForm, old, f); err != nil {
		return nil, form, err
	}
	if old == nil {
		principal, err := s.admResolvePrincipal(r, form.Principal)
		if err != nil {
			return nil, form, err
		}
		b, _ := json.Marshal(principal)
		f["principal"] = b
		b, _ = json.Marshal(r.PathValue("id"))
		f["account"] = b
	}
	return f, form, nil
}

// admResolvePrincipal accepts user:<id>, group:<id>, a user's email, or a bare
// user or group id (users first).
func (s *Server) admResolvePrincipal(r *http.Request, v string) (string, error) {
	switch {
	case v == "":
		return "", access.Errorf(access.CodeInvalid, "principal is required: a user (id or email) or group:<id>")
	case strings.HasPrefix(v, "user:") || strings.HasPrefix(v, "group:"):
		return v, nil
	case strings.Contains(v, "@"):
		u, err := s.store.GetUserByEmail(r.Context(), v)
		if access.ErrorCode(err) == access.CodeNotFound {
			return "", access.Errorf(access.CodeInvalid, "principal: no user has the email %s", v)
		}
		if err != nil {
			return "", err
		}
		return "user:" + u.ID, nil
	}
	if _, ok := s.engine.User(v); ok {
		return "user:" + v, nil
	}
	if _, err := s.store.GetGroup(r.Context(), v); err == nil {
		return "group:" + v, nil
	}
	return "", access.Errorf(access.CodeInvalid, "principal: no user or group %s", v)
}

// admGrantAccount loads the account of a panel POST.
func (s *Server) admGrantAccount(r *http.Request, c *caller) (access.Account, error) {
	if err := requireStaffWriterPage(c); err != nil {
		return access.Account{}, err
	}
	return s.store.GetAccount(r.Context(), r.PathValue("id"))
}

// admPanelGrant loads the grant a panel POST names; one on another account
// is 404.
func (s *Server) admPanelGrant(r *http.Request, a access.Account) (access.Grant, error) {
	g, err := s.store.GetGrant(r.Context(), r.PathValue("grant"))
	if err == nil && g.Account != a.ID {
		err = access.Errorf(access.CodeNotFound, "grant %s is not on account %s", g.ID, a.ID)
	}
	return g, err
}

func (s *Server) handleAdminAddGrant(w http.ResponseWriter, r *http.Request, c *caller) error {
	a, err := s.admGrantAccount(r, c)
	if err != nil {
		return err
	}
	f, form, err := s.grantFields(r, nil)
	if err == nil {
		_, _, err = s.createGrant(r.Context(), c, f)
	}
	if err != nil {
		p := s.admPage(r, c, a.Name, "accounts")
		status, ierr := formError(p, err, grantHints...)
		if ierr != nil {
			return ierr
		}
		return s.admRenderAccount(w, r, c, p, status, a, admAccountState{add: &form})
	}
	admRedirectDone(w, r, "/admin/accounts/"+url.PathEscape(a.ID)+"#external-access", "grant_added")
	return nil
}

func (s *Server) handleAdminEditGrant(w http.ResponseWriter, r *http.Request, c *caller) error {
	a, err := s.admGrantAccount(r, c)
	if err != nil {
		return err
	}
	old, err := s.admPanelGrant(r, a)
	if err != nil {
		return err
	}
	f, form, err := s.grantFields(r, &old)
	if err == nil {
		_, _, err = s.updateGrant(r.Context(), c, old, f)
	}
	if err != nil {
		p := s.admPage(r, c, a.Name, "accounts")
		status, ierr := formError(p, err, grantHints...)
		if ierr != nil {
			return ierr
		}
		edit := formOfGrant(old)
		edit.Locked = admProtected(s.engine.Policy(), old.Role)
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
		return s.admRenderAccount(w, r, c, p, status, a, admAccountState{edit: &edit})
	}
	admRedirectDone(w, r, "/admin/accounts/"+url.PathEscape(a.ID)+"#external-access", "grant_saved")
	return nil
}

// handleAdminRemoveGrant removes a grant; a protected one is refused by
// CheckGrant (409 protected), whatever the form says.
func (s *Server) handleAdminRemoveGrant(w http.ResponseWriter, r *http.Request, c *caller) error {
	a, err := s.admGrantAccount(r, c)
	if err != nil {
		return err
	}
	old, err := s.admPanelGrant(r, a)
	if err != nil {
		return err
	}
	if _, err := s.deleteGrant(r.Context(), c, old); err != nil {
		p := s.admPage(r, c, a.Name, "accounts")
		status, ierr := formError(p, err)
		if ierr != nil {
			return ierr
		}
		return s.admRenderAccount(w, r, c, p, status, a, admAccountState{})
	}
	admRedirectDone(w, r, "/admin/accounts/"+url.PathEscape(a.ID)+"#external-access", "grant_removed")
	return nil
}
