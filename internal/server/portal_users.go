package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// "Company users": the External Access table of the current account for
// customer admins (a role with manage_users on it), in the portal.
// Decisions where DESIGN.md is silent:
//
//   - The table lists every grant on the accounts of the current account's
//     subtree that the admin administers (the API's GET /grants with the
//     admin's reach, narrowed to this subtree), 100 a page, with the
//     principal's name and email, the account, role, access, days back,
//     validity, notes and whether the grant is active.
//   - Buttons are offered only where the engine would allow the change: a
//     dry run of CheckGrant (the grant changed to itself, or removed)
//     decides, so the page never offers what the POST would refuse. A
//     protected role (the Owner) is always shown locked, without buttons,
//     even to another Owner who might change its notes through the API.
//   - "Add a user" either picks a colleague (an external user homed in an
//     account of the current subtree the admin administers, not disabled,
//     not the admin itself)
//     or invites a new one: an external user with status invited, homed in
//     the current account, with a server-assigned id. Inviting creates the
//     user and then its grant; when the engine refuses the grant, the
//     just-created user is deleted again so no half-done invitation stays.
//     Invitation links and emails are a later feature (DESIGN.md §6): an
//     invited user cannot sign in until staff activate it.
//   - The role select offers the assignable, unprotected roles whose level
//     is at most the admin's level on the current account: never the
//     Owner. A forged POST naming another role gets the engine's answer.
//   - Dates are UTC days, as in the console: "valid from" starts at the
//     beginning of its day, "valid until" ends access at the beginning of
//     its day; a date equal to the stored instant's day keeps the instant.
//   - Every write goes through the API's shared functions (createGrant,
//     updateGrant, deleteGrant, saveUser), so CheckGrant and CheckUser
//     apply exactly as for the API. Revoking needs a confirmation page
//     with a ticked box; nothing needs JavaScript.
//   - Under view as the pages show what the user would see, with every
//     form disabled; every POST is refused.

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
	Roles       []choice
	// Add form: Principals are the colleagues (value user:<id>); Accounts
	// the accounts a grant may be on, when there are several.
	Principals []choice
	Accounts   []choice
	// Form holds the inputs of the add form (list mode) or of the change
	// form; Account is the add form's account.
	Form       companyGrantForm
	Account    string
	InviteName string
	InviteMail string
	// Row is the grant a change or revoke page is about.
	Row *companyRow
}

// companyCtx resolves a Company users request: the current account must
// let the subject manage users. It returns the accounts of the current
// subtree the subject administers.
func (s *Server) companyCtx(r *http.Request, c *caller) (*portalCtx, []string, error) {
	pc, err := s.portal(r, c)
	if err != nil {
		return nil, nil, err
	}
	if pc.current == nil {
		return nil, nil, access.Errorf(access.CodeNotFound, "no such page")
	}
	if !pc.current.ManageUsers {
		return nil, nil, access.Errorf(access.CodeForbidden, "you may not manage the users of %s", pc.current.Name)
	}
	scope := pc.scope(s)
	var managed []string
	for _, a := range pc.accounts {
		if a.ManageUsers && scope[a.ID] {
			managed = append(managed, a.ID)
		}
	}
	return pc, managed, nil
}

// companyPage builds the page frame, with the message a redirect names.
func (s *Server) companyPage(r *http.Request, pc *portalCtx) *page {
	p := pc.page("Company users", "users")
	p.Errors = map[string]string{}
	return p
}

// roleChoices are the roles the subject may hand out on the current
// account: assignable, not protected, level at most its own there.
func (s *Server) roleChoices(pc *portalCtx, level int, selected string) []choice {
	var out []choice
	for _, r := range pc.pol().Roles() {
		if r.Assignable && !r.Protected && r.Level <= level {
			label := r.Name
			if r.Title != "" {
				label += " · " + r.Title
			}
			out = append(out, choice{Value: r.Name, Label: label, Selected: r.Name == selected})
		}
	}
	return out
}

// companyRow describes a grant for the portal table: names from the
// engine's memory (a group's from the store, once per page), whether it is
// active now and, from a dry run of CheckGrant, what the subject may do.
func (s *Server) companyRow(r *http.Request, pc *portalCtx, g access.Grant, groups map[string]string) companyRow {
	row := companyRow{Grant: g, State: "active", Active: true, AccountName: g.Account}
	if role := pc.pol().Role(g.Role); role != nil {
		row.RoleTitle, row.Protected = role.Title, role.Protected
	}
	inactive := func(why string) {
		if row.Active {
			row.State, row.Active = why, false
		}
	}
	kind, id, _ := strings.Cut(g.Principal, ":")
	switch kind {
	case "user":
		if u, ok := s.engine.User(id); ok {
			row.PrincipalName, row.Email = u.Name, u.Email
			if u.Status != access.StatusActive {
				inactive(u.Status)
			}
		}
	case "group":
		name, ok := groups[id]
		if !ok {
			if gr, err := s.store.GetGroup(r.Context(), id); err == nil {
				name = gr.Name
			}
			groups[id] = name
		}
		row.PrincipalName = name
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
	now := s.engine.Now()
	a, _ := s.engine.Account(g.Account)
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
	changeErr := s.engine.CheckGrant(pc.subject.ID, &g, &g)
	revokeErr := s.engine.CheckGrant(pc.subject.ID, &g, nil)
	row.CanChange, row.CanRevoke = changeErr == nil, revokeErr == nil
	switch {
	case g.Principal == "user:"+pc.subject.ID:
		// The engine lets an admin give up its own grant; the page does
		// not offer it, so nobody locks themselves out with one click.
		row.CanChange, row.CanRevoke = false, false
		row.Why = "your own access"
	case changeErr != nil:
		row.Why = "not yours to change"
		if e, ok := changeErr.(*access.Error); ok {
			row.Why = e.Message
		}
	}
	return row
}

// renderCompany renders the Company users page in d.Mode; the list mode
// loads the table and the add form's choices.
func (s *Server) renderCompany(w http.ResponseWriter, r *http.Request, pc *portalCtx, managed []string, p *page, d *companyData, status int) error {
	d.Base, d.ReadOnly = pc.accountURL(), pc.viewAs
	d.Self = d.Base + "users"
	d.Level = s.engine.ManageLevel(pc.subject.ID, pc.current.ID)
	if d.Mode == "" {
		d.Mode = "list"
	}
	if d.Mode == "change" {
		if d.Row != nil && !hasChoice(s.roleChoices(pc, d.Level, ""), d.Form.Role) {
			d.Form.Role = d.Row.Role // a refused role is never preselected
		}
		d.Roles = s.roleChoices(pc, d.Level, d.Form.Role)
		if d.Row != nil && !hasChoice(d.Roles, d.Row.Role) {
			// The current role stays selectable so saving other fields
			// keeps it; the engine decides whether it may stay.
			d.Roles = append([]choice{{Value: d.Row.Role, Label: d.Row.Role + " (current)", Selected: d.Form.Role == d.Row.Role}}, d.Roles...)
		}
	}
	if d.Mode == "list" {
		if !hasChoice(s.roleChoices(pc, d.Level, ""), d.Form.Role) {
			d.Form.Role = pc.pol().DefaultGroupRole.Name // never a refused role
		}
		d.Roles = s.roleChoices(pc, d.Level, d.Form.Role)
		cursor := r.URL.Query().Get("cursor")
		grants, next, err := s.store.ListGrants(r.Context(), store.GrantFilter{Accounts: managed, Limit: 100, Cursor: cursor})
		if err != nil {
			return err
		}
		groups := map[string]string{}
		for _, g := range grants {
			d.Rows = append(d.Rows, s.companyRow(r, pc, g, groups))
		}
		// Pages follow the store's order (by grant id, for the cursor);
		// within a page rows go by account, then highest role first.
		pol := pc.pol()
		sort.SliceStable(d.Rows, func(i, j int) bool {
			a, b := d.Rows[i], d.Rows[j]
			if a.AccountName != b.AccountName {
				return a.AccountName < b.AccountName
			}
			if la, lb := roleLevel(pol, a.Role), roleLevel(pol, b.Role); la != lb {
				return la > lb
			}
			return a.PrincipalName < b.PrincipalName
		})
		if next != "" {
			d.Next = d.Self + "?cursor=" + url.QueryEscape(next)
		}
		if cursor != "" {
			d.First = d.Self
		}
		// The first 500 colleagues (by the store's order); a customer with
		// more would need a search here.
		users, _, err := s.store.ListUsers(r.Context(), store.UserFilter{HomeAccounts: managed, Kind: access.KindExternal, Limit: 500})
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.ID == pc.subject.ID || u.Status == access.StatusDisabled {
				continue
			}
			label := u.Name + " <" + u.Email + ">"
			if u.Status != access.StatusActive {
				label += " (" + u.Status + ")"
			}
			v := "user:" + u.ID
			d.Principals = append(d.Principals, choice{Value: v, Label: label, Selected: v == d.Form.Principal})
		}
		d.Accounts = s.grantAccountChoices(pc, managed, d.Account)
	}
	p.Data = d
	s.render(w, r, status, "portal_users", p)
	return nil
}

func roleLevel(pol *policy.Policy, name string) int {
	if r := pol.Role(name); r != nil {
		return r.Level
	}
	return -1
}

func hasChoice(opts []choice, v string) bool {
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
func (s *Server) grantAccountChoices(pc *portalCtx, managed []string, selected string) []choice {
	if len(managed) < 2 {
		return nil
	}
	if selected == "" {
		selected = pc.current.ID
	}
	names := map[string]string{}
	for _, a := range pc.accounts {
		names[a.ID] = a.Name
	}
	var out []choice
	for _, id := range managed {
		o := choice{Value: id, Label: names[id] + " (" + id + ")", Selected: id == selected}
		if id == pc.current.ID {
			out = append([]choice{o}, out...)
		} else {
			out = append(out, o)
		}
	}
	return out
}

// handlePortalUsers shows the External Access table and the add form.
func (s *Server) handlePortalUsers(w http.ResponseWriter, r *http.Request, c *caller) error {
	pc, managed, err := s.companyCtx(r, c)
	if err != nil {
		return err
	}
	return s.renderCompany(w, r, pc, managed, s.companyPage(r, pc), &companyData{}, http.StatusOK)
}

// inviteHints place the errors of an invitation next to its fields.
var inviteHints = []companyHint{
	{"email", "invite_email"},
	{"name", "invite_name"},
}

// handlePortalUsersAdd adds a grant on an administered account for a
// colleague, or invites a new user and grants it.
func (s *Server) handlePortalUsersAdd(w http.ResponseWriter, r *http.Request, c *caller) error {
	pc, managed, err := s.companyCtx(r, c)
	if err != nil {
		return err
	}
	if pc.viewAs {
		return errViewAsReadOnly
	}
	if err := r.ParseForm(); err != nil {
		return access.Errorf(access.CodeInvalid, "the form could not be read")
	}
	posted := strings.TrimSpace(r.PostForm.Get("principal"))
	principal := posted
	email := strings.TrimSpace(r.PostForm.Get("invite_email"))
	name := strings.TrimSpace(r.PostForm.Get("invite_name"))
	account := r.PostForm.Get("account")
	if account == "" {
		account = pc.current.ID
	}
	p := s.companyPage(r, pc)
	fail := func(err error, hints ...companyHint) error {
		status, ierr := companyFormError(p, err, hints...)
		if ierr != nil {
			return ierr
		}
		d := &companyData{InviteName: name, InviteMail: email, Account: account}
		d.Form = companyGrantForm{Principal: posted, Role: r.PostForm.Get("role"), Access: r.PostForm.Get("access"),
			DaysBack: r.PostForm.Get("days_back"), ValidFrom: r.PostForm.Get("valid_from"), ValidUntil: r.PostForm.Get("valid_until"),
			Notes: r.PostForm.Get("notes")}
		return s.renderCompany(w, r, pc, managed, p, d, status)
	}
	switch {
	case principal != "" && (email != "" || name != ""):
		p.Errors["invite_email"] = "Choose a colleague or invite a new user, not both."
		return fail(access.Errorf(access.CodeInvalid, "Choose a colleague or invite a new user, not both."))
	case principal == "" && email == "":
		p.Errors["grant_principal"] = "Choose a colleague, or enter the email of a new user to invite."
		return fail(access.Errorf(access.CodeInvalid, "Choose a colleague, or enter the email of a new user to invite."))
	}
	var invited *access.User
	if principal == "" {
		u := access.User{ID: newInvitedUserID(), Kind: access.KindExternal, Name: name, Email: email,
			HomeAccount: pc.current.ID, Status: access.StatusInvited}
		if _, _, err := s.saveUser(r.Context(), c, nil, u); err != nil {
			return fail(err, inviteHints...)
		}
		invited, principal = &u, "user:"+u.ID
	}
	// The grant body of the API, from the same form parser as the console.
	r.PostForm.Set("principal", principal)
	f, _, err := s.companyGrantFields(r, nil)
	if err == nil {
		f["account"], _ = json.Marshal(account)
		_, _, err = s.createGrant(r.Context(), c, f)
	}
	if err != nil {
		if invited != nil {
			if _, derr := s.store.DeleteUser(r.Context(), c.user.ID, invited.ID); derr != nil {
				s.log.Error("undo invitation", "user", invited.ID, "err", derr)
			}
		}
		return fail(err, companyGrantHints...)
	}
	done := "added"
	if invited != nil {
		done = "invited"
	}
	http.Redirect(w, r, pc.accountURL()+"users?done="+done, http.StatusSeeOther)
	return nil
}

// companyGrant loads the grant a change or revoke request names (query
// parameter on GET, form field on POST): 404 unless it is on an account
// the subject administers within the current subtree.
func (s *Server) companyGrant(ctx context.Context, pc *portalCtx, managed []string, id string) (companyRow, error) {
	g, err := s.store.GetGrant(ctx, id)
	if err != nil || !contains(managed, g.Account) {
		return companyRow{}, access.Errorf(access.CodeNotFound, "no such grant")
	}
	return companyRow{Grant: g}, nil
}

// handlePortalGrantForm shows the change (mode "change") or revoke
// confirmation (mode "revoke") page of one grant.
func (s *Server) handlePortalGrantForm(mode string) webHandler {
	return func(w http.ResponseWriter, r *http.Request, c *caller) error {
		pc, managed, err := s.companyCtx(r, c)
		if err != nil {
			return err
		}
		row, err := s.companyGrant(r.Context(), pc, managed, r.URL.Query().Get("grant"))
		if err != nil {
			return err
		}
		row = s.companyRow(r, pc, row.Grant, map[string]string{})
		p := s.companyPage(r, pc)
		if (mode == "change" && !row.CanChange) || (mode == "revoke" && !row.CanRevoke) {
			p.Error = "You cannot " + mode + " this access: " + row.Why + "."
		}
		return s.renderCompany(w, r, pc, managed, p, &companyData{Mode: mode, Row: &row, Form: companyFormOf(row.Grant)}, http.StatusOK)
	}
}

// handlePortalGrantChange saves a grant's role, access, days back,
// validity and notes through updateGrant.
func (s *Server) handlePortalGrantChange(w http.ResponseWriter, r *http.Request, c *caller) error {
	pc, managed, err := s.companyCtx(r, c)
	if err != nil {
		return err
	}
	if pc.viewAs {
		return errViewAsReadOnly
	}
	row, err := s.companyGrant(r.Context(), pc, managed, r.PostFormValue("grant"))
	if err != nil {
		return err
	}
	old := row.Grant
	r.PostForm.Del("principal") // principal and account never change
	r.PostForm.Del("scope")
	f, form, err := s.companyGrantFields(r, &old)
	if err == nil {
		_, _, err = s.updateGrant(r.Context(), c, old, f)
	}
	if err != nil {
		p := s.companyPage(r, pc)
		status, ierr := companyFormError(p, err, companyGrantHints...)
		if ierr != nil {
			return ierr
		}
		row = s.companyRow(r, pc, old, map[string]string{})
		form.ID = old.ID
		return s.renderCompany(w, r, pc, managed, p, &companyData{Mode: "change", Row: &row, Form: form}, status)
	}
	http.Redirect(w, r, pc.accountURL()+"users?done=changed", http.StatusSeeOther)
	return nil
}

// handlePortalGrantRevoke deletes a grant through deleteGrant once the
// confirmation box is ticked.
func (s *Server) handlePortalGrantRevoke(w http.ResponseWriter, r *http.Request, c *caller) error {
	pc, managed, err := s.companyCtx(r, c)
	if err != nil {
		return err
	}
	if pc.viewAs {
		return errViewAsReadOnly
	}
	row, err := s.companyGrant(r.Context(), pc, managed, r.PostFormValue("grant"))
	if err != nil {
		return err
	}
	old := row.Grant
	if r.PostFormValue("confirm") != "yes" {
		err = access.Errorf(access.CodeInvalid, "Tick the box to confirm that this access ends now.")
	} else {
		_, err = s.deleteGrant(r.Context(), c, old)
	}
	if err != nil {
		p := s.companyPage(r, pc)
		status, ierr := companyFormError(p, err, companyHint{"Tick the box", "confirm"})
		if ierr != nil {
			return ierr
		}
		row = s.companyRow(r, pc, old, map[string]string{})
		return s.renderCompany(w, r, pc, managed, p, &companyData{Mode: "revoke", Row: &row}, status)
	}
	http.Redirect(w, r, pc.accountURL()+"users?done=revoked", http.StatusSeeOther)
	return nil
}

// newInvitedUserID is the id of a user invited from the portal: "x" and random
// base32, like record ids.
func newInvitedUserID() string { return "x" + strings.TrimPrefix(newRecordID(), "r") }

// companyGrantForm holds the inputs of the add and change forms.
type companyGrantForm struct {
	ID, Principal, Role, Access, DaysBack, ValidFrom, ValidUntil, Notes string
}

// companyFormOf fills the change form from a stored grant; instants show
// as their UTC day.
func companyFormOf(g access.Grant) companyGrantForm {
	f := companyGrantForm{ID: g.ID, Principal: g.Principal, Role: g.Role, Access: g.Access, Notes: g.Notes}
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

// companyGrantFields turns the add or change form into the API's grant
// body, so the API's applyGrant validates it: principal (add only), role,
// access, days_back (empty: unlimited), valid_from and valid_until (UTC
// days; a day equal to the stored instant's keeps the instant), notes.
// The account is set by the caller; the scope is never sent (subtree on
// create, unchanged on change).
func (s *Server) companyGrantFields(r *http.Request, old *access.Grant) (fields, companyGrantForm, error) {
	form := companyGrantForm{Principal: strings.TrimSpace(r.PostForm.Get("principal")), Role: r.PostForm.Get("role"),
		Access: r.PostForm.Get("access"), DaysBack: strings.TrimSpace(r.PostForm.Get("days_back")),
		ValidFrom: strings.TrimSpace(r.PostForm.Get("valid_from")), ValidUntil: strings.TrimSpace(r.PostForm.Get("valid_until")),
		Notes: r.PostForm.Get("notes")}
	f := fields{}
	str := func(key, v string) {
		if _, sent := r.PostForm[key]; sent {
			f[key], _ = json.Marshal(v)
		}
	}
	str("role", form.Role)
	str("access", form.Access)
	str("notes", form.Notes)
	if old == nil {
		str("principal", form.Principal)
	}
	if err := grantLimitFields(r.PostForm, old, f); err != nil {
		return nil, form, err
	}
	return f, form, nil
}

// companyHint maps an error message to the input it concerns: the first
// hint whose text the message contains wins.
type companyHint struct{ text, field string }

// companyGrantHints place grant errors (the engine's and applyGrant's).
var companyGrantHints = []companyHint{
	{"protected role", "grant_role"},
	{"days back", "grant_days_back"},
	{"days_back", "grant_days_back"},
	{"valid_from must be before", "grant_valid_until"},
	{"valid from", "grant_valid_from"},
	{"valid_from", "grant_valid_from"},
	{"valid until", "grant_valid_until"},
	{"valid_until", "grant_valid_until"},
	{"already", "grant_principal"},
	{"your own access", "grant_principal"},
	{"user ", "grant_principal"},
	{"principal", "grant_principal"},
	{"group", "grant_principal"},
	{"access must", "grant_access"},
	{"role", "grant_role"},
	{"notes", "grant_notes"},
	{"account ", "grant_account"},
}

// companyFormError shows a domain error of a form on p: the message in the
// live region and, when a hint matches, next to its input. It returns the
// status to render with; an internal error is returned for the error page.
func companyFormError(p *page, err error, hints ...companyHint) (int, error) {
	e, ok := err.(*access.Error)
	if !ok || e.Code == access.CodeInternal {
		return 0, err
	}
	p.Error = e.Message
	for _, h := range hints {
		if strings.Contains(e.Message, h.text) {
			if _, set := p.Errors[h.field]; !set {
				p.Errors[h.field] = e.Message
			}
			break
		}
	}
	status := statusOf[e.Code]
	if status == 0 {
		status = http.StatusBadRequest
	}
	return status, nil
}
