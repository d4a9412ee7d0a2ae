package portal

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// "Company users": the External Access table of the current account for
// customer admins (a role with manage_users on it), in the portal
// (decisions in doc.go). Reads go through app.Company*, writes through the
// API's use cases (app.PutUser, CreateGrant, UpdateGrant, DeleteGrant,
// DeleteUser).

// grantsPageSize is the number of grants a Company users page lists.
const grantsPageSize = 100

// companyRow is one row of the portal's External Access table.
type companyRow struct {
	access.Grant
	PrincipalName, Email string
	AccountName          string
	RoleTitle            string
	AccessTxt            string
	Protected            bool
	// State is "active" or why the grant is inactive now.
	State  string
	Active bool
	// ValidFromTxt and ValidUntilTxt are the validity bounds as UTC days.
	ValidFromTxt, ValidUntilTxt string
	// CanChange and CanRevoke are the engine's dry-run answers; Why says
	// why not, when neither is possible.
	CanChange, CanRevoke bool
	Why                  string
}

// companyData is what portal_users.html receives.
type companyData struct {
	Base     string // the current account's URL prefix
	Self     string // this page's URL
	ReadOnly bool   // view as
	Level    int
	// Mode is "list" (the table and the add form), "change" or "revoke".
	Mode        string
	Rows        []companyRow
	Next, First string
	Roles       []render.Choice
	// Add form: Principals are the colleagues (value user:<id>); Accounts
	// the accounts a grant may be on, when there are several.
	Principals []render.Choice
	Accounts   []render.Choice
	// Form holds the inputs of the add form (list mode) or of the change
	// form; Account is the add form's account.
	Form       companyGrantForm
	Account    string
	InviteName string
	InviteMail string
	// Row is the grant a change or revoke page is about; Impact is what
	// revoking it does.
	Row    *companyRow
	Impact render.Impact
	// People are the users homed within reach (people.go), with their
	// pager; CSV is the CSV invitation form and its preview, CSVAccounts
	// the accounts its people may be homed in (nil: only this one).
	People                  []personRow
	PeopleNext, PeopleFirst string
	CSV                     csvData
	CSVAccounts             []render.Choice
	Locales                 []render.Choice
}

// companyGrantForm holds the inputs of the add and change forms.
type companyGrantForm struct {
	ID, Principal, Role, Access, DaysBack, ValidFrom, ValidUntil, Notes string
}

// inviteInputs place the errors of an invitation (app.PutUser) next to its
// inputs.
var inviteInputs = map[string]string{"email": "invite_email", "name": "invite_name"}

// confirmInputs place the error of an unticked revoke confirmation.
var confirmInputs = map[string]string{"confirm": "confirm"}

// companyCtx resolves a Company users request: the current account must
// let the subject manage users (app.Company).
func (s *Surface) companyCtx(r *http.Request, c *app.Actor) (*view, app.Company, error) {
	v, err := s.portal(r, c)
	if err != nil {
		return nil, app.Company{}, err
	}
	co, err := s.app.Company(c, v.companyScope())
	if err != nil {
		return nil, app.Company{}, err
	}
	return v, co, nil
}

func (v *view) companyScope() app.CompanyScope {
	return app.CompanyScope{Account: v.current.ID, AsUser: v.asUser()}
}

// companyPage builds the page frame.
func companyPage(v *view) *render.Page {
	p := v.page("Company users", "users")
	p.Errors = map[string]string{}
	return p
}

// roleChoices are the roles the subject may hand out on the current
// account: assignable, not protected, level at most its own there.
func (v *view) roleChoices(level int, selected string) []render.Choice {
	var out []render.Choice
	for _, r := range v.pol.Roles() {
		if r.Assignable && !r.Protected && r.Level <= level {
			label := r.Name
			if r.Title != "" {
				label += " · " + r.Title
			}
			out = append(out, render.Choice{Value: r.Name, Label: label, Selected: r.Name == selected})
		}
	}
	return out
}

// companyRow describes a grant for the table: names, whether it is active
// now and, from app's dry run, what the subject may do.
func (s *Surface) companyRow(v *view, m app.ManagedGrant) companyRow {
	g := m.Grant
	row := companyRow{Grant: g, State: "active", Active: true, AccountName: g.Account}
	if role := v.pol.Role(g.Role); role != nil {
		row.RoleTitle, row.Protected = role.Title, role.Protected
	}
	inactive := func(why string) {
		if row.Active {
			row.State, row.Active = why, false
		}
	}
	switch {
	case m.User.ID != "":
		row.PrincipalName, row.Email = m.User.Name, m.User.Email
		if m.User.Status != access.StatusActive {
			inactive(m.User.Status)
		}
	case m.GroupName != "":
		row.PrincipalName = m.GroupName
	}
	if row.PrincipalName == "" {
		row.PrincipalName = g.Principal
	}
	if g.ValidFrom != nil {
		row.ValidFromTxt = g.ValidFrom.UTC().Format(time.DateOnly)
	}
	if g.ValidUntil != nil {
		row.ValidUntilTxt = g.ValidUntil.UTC().Format(time.DateOnly)
	}
	now := s.app.Now()
	a, _ := v.eng.Account(g.Account)
	if a.Name != "" {
		row.AccountName = a.Name
	}
	switch {
	case !a.ExternalAccess:
		inactive("external access off")
	case g.ValidFrom != nil && now.Before(*g.ValidFrom):
		inactive("not valid yet")
	case g.ValidUntil != nil && !now.Before(*g.ValidUntil):
		inactive("expired")
	}
	row.AccessTxt = "read and write"
	if g.Access == access.AccessRead {
		row.AccessTxt = "read only"
	}
	if row.Protected {
		row.Why = "locked"
		return row
	}
	row.CanChange, row.CanRevoke = m.CanChange, m.CanRevoke
	switch {
	case g.Principal == "user:"+v.subject.ID:
		// The engine lets an admin give up its own grant; the page does
		// not offer it, so nobody locks themselves out with one click.
		row.CanChange, row.CanRevoke = false, false
		row.Why = "your own access"
	case !m.CanChange:
		row.Why = "not yours to change"
		if e := surface.DomainError(m.Refusal); e != nil {
			row.Why = e.Message
		}
	}
	return row
}

// renderCompany renders the Company users page in d.Mode; the list mode
// loads the table and the add form's choices.
func (s *Surface) renderCompany(w http.ResponseWriter, r *http.Request, c *app.Actor, v *view, co app.Company, p *render.Page, d *companyData, status int) error {
	d.Base, d.ReadOnly = v.accountURL(), v.viewAs
	d.Self = d.Base + "users"
	d.Level = co.Level
	if d.Mode == "" {
		d.Mode = "list"
	}
	if d.Mode == "change" {
		if d.Row != nil && !hasChoice(v.roleChoices(d.Level, ""), d.Form.Role) {
			d.Form.Role = d.Row.Role // a refused role is never preselected
		}
		d.Roles = v.roleChoices(d.Level, d.Form.Role)
		if d.Row != nil && !hasChoice(d.Roles, d.Row.Role) {
			// The current role stays selectable so saving other fields
			// keeps it; the engine decides whether it may stay.
			d.Roles = append([]render.Choice{{Value: d.Row.Role, Label: d.Row.Role + " (current)", Selected: d.Form.Role == d.Row.Role}}, d.Roles...)
		}
	}
	if d.Mode == "list" {
		if !hasChoice(v.roleChoices(d.Level, ""), d.Form.Role) {
			d.Form.Role = v.pol.DefaultGroupRole.Name // never a refused role
		}
		d.Roles = v.roleChoices(d.Level, d.Form.Role)
		cursor := r.URL.Query().Get("cursor")
		grants, err := s.app.CompanyGrants(r.Context(), c, v.companyScope(), app.ListParams{Limit: grantsPageSize, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, m := range grants.Items {
			d.Rows = append(d.Rows, s.companyRow(v, m))
		}
		// Pages follow the store's order (by grant id, for the cursor);
		// within a page rows go by account, then highest role first.
		sort.SliceStable(d.Rows, func(i, j int) bool {
			a, b := d.Rows[i], d.Rows[j]
			if a.AccountName != b.AccountName {
				return a.AccountName < b.AccountName
			}
			if la, lb := roleLevel(v.pol, a.Role), roleLevel(v.pol, b.Role); la != lb {
				return la > lb
			}
			return a.PrincipalName < b.PrincipalName
		})
		if grants.Next != "" {
			d.Next = d.Self + "?cursor=" + url.QueryEscape(grants.Next)
		}
		if cursor != "" {
			d.First = d.Self
		}
		// A customer with more colleagues than app.MaxColleagues would
		// need a search here.
		users, err := s.app.CompanyColleagues(r.Context(), c, v.companyScope())
		if err != nil {
			return err
		}
		for _, u := range users {
			label := u.Name + " <" + u.Email + ">"
			if u.Status != access.StatusActive {
				label += " (" + u.Status + ")"
			}
			val := "user:" + u.ID
			d.Principals = append(d.Principals, render.Choice{Value: val, Label: label, Selected: val == d.Form.Principal})
		}
		d.Accounts = v.grantAccountChoices(co.Managed, d.Account)
		if err := s.loadPeople(r, c, v, d); err != nil {
			return err
		}
		if d.CSV.Account == "" {
			d.CSV.Account = v.current.ID
		}
		d.CSVAccounts = v.grantAccountChoices(co.Managed, d.CSV.Account)
		for _, l := range access.Locales {
			d.Locales = append(d.Locales, render.Choice{Value: l, Label: localeNames[l], Selected: l == d.CSV.Locale})
		}
	}
	p.Data = d
	s.rd.Render(w, r, status, "portal_users", p)
	return nil
}

func roleLevel(pol *policy.Policy, name string) int {
	if r := pol.Role(name); r != nil {
		return r.Level
	}
	return -1
}

func hasChoice(opts []render.Choice, v string) bool {
	for _, o := range opts {
		if o.Value == v {
			return true
		}
	}
	return false
}

// grantAccountChoices are the accounts a new grant may be on: the
// administered accounts of the current subtree, the current one first;
// nil when that is the only one.
func (v *view) grantAccountChoices(managed []string, selected string) []render.Choice {
	if len(managed) < 2 {
		return nil
	}
	if selected == "" {
		selected = v.current.ID
	}
	names := map[string]string{}
	for _, a := range v.accounts {
		names[a.ID] = a.Name
	}
	var out []render.Choice
	for _, id := range managed {
		o := render.Choice{Value: id, Label: names[id] + " (" + id + ")", Selected: id == selected}
		if id == v.current.ID {
			out = append([]render.Choice{o}, out...)
		} else {
			out = append(out, o)
		}
	}
	return out
}

// handleUsers shows the External Access table and the add form.
func (s *Surface) handleUsers(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, co, err := s.companyCtx(r, c)
	if err != nil {
		return err
	}
	return s.renderCompany(w, r, c, v, co, companyPage(v), &companyData{}, http.StatusOK)
}

// handleUsersAdd gives a colleague a grant on an administered account, or
// invites a new user with that grant (app.Invite: the user, the grant and
// the message with the link in one transaction).
func (s *Surface) handleUsersAdd(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, co, err := s.companyCtx(r, c)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return access.Errorf(access.CodeInvalid, "the form could not be read")
	}
	form := r.PostForm
	posted := strings.TrimSpace(form.Get("principal"))
	principal := posted
	email := strings.TrimSpace(form.Get("invite_email"))
	name := strings.TrimSpace(form.Get("invite_name"))
	account := form.Get("account")
	if account == "" {
		account = v.current.ID
	}
	p := companyPage(v)
	fail := func(err error, inputs map[string]string) error {
		status, ierr := render.FormError(p, err, inputs)
		if ierr != nil {
			return ierr
		}
		d := &companyData{InviteName: name, InviteMail: email, Account: account}
		d.Form = companyGrantForm{Principal: posted, Role: form.Get("role"), Access: form.Get("access"),
			DaysBack: form.Get("days_back"), ValidFrom: form.Get("valid_from"), ValidUntil: form.Get("valid_until"),
			Notes: form.Get("notes")}
		return s.renderCompany(w, r, c, v, co, p, d, status)
	}
	switch {
	case principal != "" && (email != "" || name != ""):
		return fail(access.FieldErrorf(access.CodeInvalid, "email", "Choose a colleague or invite a new user, not both."), inviteInputs)
	case principal == "" && email == "":
		return fail(access.FieldErrorf(access.CodeInvalid, "principal", "Choose a colleague, or enter the email of a new user to invite."), render.GrantInputs)
	}
	in := app.GrantUpdate{Principal: app.Some(principal), Account: app.Some(account),
		Role: render.FormString(form, "role"), Access: render.FormString(form, "access"), Notes: render.FormString(form, "notes")}
	err = render.GrantLimits(form, nil, &in)
	if err == nil && principal == "" {
		// A new user: one invitation with its grant and the message with
		// the link, in one transaction (app.Invite).
		_, _, err = s.app.Invite(r.Context(), c, inviteOf(email, name, v.current.ID, account, in))
		if err != nil {
			return fail(err, inviteInputs)
		}
		render.RedirectDone(w, r, v.accountURL()+"users", "invited")
		return nil
	}
	if err == nil && !render.Confirmed(r) {
		var imp render.Impact
		if imp, err = s.preview(r, c, app.PreviewChange{Op: "grant.create", Grant: &in}); err == nil {
			return s.renderConfirm(w, r, c, v, render.Confirm{
				Heading: s.rd.T(r, &c.User, "Give {{.User}} this access?", "User", s.userName(strings.TrimPrefix(principal, "user:"))),
				Summary: s.rd.T(r, &c.User, "{{.User}} gets the role {{.Role}} on {{.Account}}.", "User", s.userName(strings.TrimPrefix(principal, "user:")),
					"Role", s.rd.RoleTitle(r, &c.User, form.Get("role")), "Account", s.accountName(v, account)),
				Button: s.rd.T(r, &c.User, "Give access"), Impact: imp, Edit: v.accountURL() + "users"})
		}
	} else if err == nil {
		_, _, err = s.app.CreateGrant(r.Context(), c, in)
	}
	if err != nil {
		return fail(err, render.GrantInputs)
	}
	render.RedirectDone(w, r, v.accountURL()+"users", "added")
	return nil
}

// handleGrantForm shows the change (mode "change") or revoke confirmation
// (mode "revoke") page of the grant the query names.
func (s *Surface) handleGrantForm(mode string) surface.Handler {
	return func(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
		v, co, err := s.companyCtx(r, c)
		if err != nil {
			return err
		}
		m, err := s.app.CompanyGrant(r.Context(), c, v.companyScope(), r.URL.Query().Get("grant"))
		if err != nil {
			return err
		}
		row := s.companyRow(v, m)
		p := companyPage(v)
		if (mode == "change" && !row.CanChange) || (mode == "revoke" && !row.CanRevoke) {
			p.Error = s.rd.T(r, &c.User, "You cannot change this access: {{.Reason}}.", "Reason", s.rd.T(r, &c.User, row.Why))
			if mode == "revoke" {
				p.Error = s.rd.T(r, &c.User, "You cannot revoke this access: {{.Reason}}.", "Reason", s.rd.T(r, &c.User, row.Why))
			}
		}
		d := &companyData{Mode: mode, Row: &row, Form: companyFormOf(row.Grant)}
		if mode == "revoke" && row.CanRevoke && !v.viewAs {
			// What the revocation does, above its tick box; a refusal
			// is the revocation's own error, shown when it is posted.
			imp, err := s.preview(r, c, app.PreviewChange{Op: "grant.delete", ID: m.ID})
			if err != nil {
				imp = render.Impact{Brief: true, Failed: s.rd.T(r, &c.User, "The preview could not be computed, so its effects are not shown. You may still save the change.")}
			}
			d.Impact = imp
		}
		return s.renderCompany(w, r, c, v, co, p, d, http.StatusOK)
	}
}

// handleGrantChange saves a grant's role, access, days back, validity and
// notes (app.UpdateGrant); its principal, account and scope never change
// here.
func (s *Surface) handleGrantChange(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, co, err := s.companyCtx(r, c)
	if err != nil {
		return err
	}
	m, err := s.app.CompanyGrant(r.Context(), c, v.companyScope(), r.PostFormValue("grant"))
	if err != nil {
		return err
	}
	old, form := m.Grant, r.PostForm
	in := app.GrantUpdate{Role: render.FormString(form, "role"), Access: render.FormString(form, "access"),
		Notes: render.FormString(form, "notes")}
	err = render.GrantLimits(form, &old, &in)
	if err == nil && !render.Confirmed(r) && render.GrantAccessChanges(old, in) {
		var imp render.Impact
		if imp, err = s.preview(r, c, app.PreviewChange{Op: "grant.update", ID: old.ID, Patch: render.GrantPatch(in)}); err == nil {
			name := s.userName(strings.TrimPrefix(old.Principal, "user:"))
			return s.renderConfirm(w, r, c, v, render.Confirm{
				Heading: s.rd.T(r, &c.User, "Change the access of {{.User}}?", "User", name),
				Summary: s.rd.T(r, &c.User, "The access of {{.User}} on {{.Account}} changes as entered.", "User", name, "Account", s.accountName(v, old.Account)),
				Button:  s.rd.T(r, &c.User, "Save changes"), Impact: imp,
				Edit: v.accountURL() + "users/change?grant=" + url.QueryEscape(old.ID)})
		}
	} else if err == nil {
		_, _, err = s.app.UpdateGrant(r.Context(), c, old.ID, in)
	}
	if err != nil {
		p := companyPage(v)
		status, ierr := render.FormError(p, err, render.GrantInputs)
		if ierr != nil {
			return ierr
		}
		row := s.companyRow(v, m)
		f := companyGrantForm{ID: old.ID, Role: form.Get("role"), Access: form.Get("access"),
			DaysBack: strings.TrimSpace(form.Get("days_back")), ValidFrom: strings.TrimSpace(form.Get("valid_from")),
			ValidUntil: strings.TrimSpace(form.Get("valid_until")), Notes: form.Get("notes")}
		return s.renderCompany(w, r, c, v, co, p, &companyData{Mode: "change", Row: &row, Form: f}, status)
	}
	render.RedirectDone(w, r, v.accountURL()+"users", "changed")
	return nil
}

// handleGrantRevoke deletes a grant (app.DeleteGrant) once the
// confirmation box is ticked.
func (s *Surface) handleGrantRevoke(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, co, err := s.companyCtx(r, c)
	if err != nil {
		return err
	}
	m, err := s.app.CompanyGrant(r.Context(), c, v.companyScope(), r.PostFormValue("grant"))
	if err != nil {
		return err
	}
	if r.PostFormValue("confirm") != "yes" {
		err = access.FieldErrorf(access.CodeInvalid, "confirm", "Tick the box to confirm that this access ends now.")
	} else {
		_, err = s.app.DeleteGrant(r.Context(), c, m.ID)
	}
	if err != nil {
		p := companyPage(v)
		status, ierr := render.FormError(p, err, confirmInputs)
		if ierr != nil {
			return ierr
		}
		row := s.companyRow(v, m)
		return s.renderCompany(w, r, c, v, co, p, &companyData{Mode: "revoke", Row: &row}, status)
	}
	render.RedirectDone(w, r, v.accountURL()+"users", "revoked")
	return nil
}

// companyFormOf fills the change form from a stored grant; instants show
// as their UTC day.
func companyFormOf(g access.Grant) companyGrantForm {
	f := companyGrantForm{ID: g.ID, Principal: g.Principal, Role: g.Role, Access: g.Access, Notes: g.Notes}
	f.DaysBack, f.ValidFrom, f.ValidUntil = render.GrantLimitsText(g)
	return f
}
