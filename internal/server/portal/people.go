package portal

import (
	"io"
	"net/http"
	"net/url"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// The people of Company users (identity.md §5): every user homed within
// the customer admin's reach, with its access, account groups, status,
// pending invitation and last sign-in, and the actions the engine would
// allow on it (app.CompanyUsers): deactivate and reactivate (app.PutUser),
// send a password reset (app.SendPasswordReset), resend or revoke its
// invitation, add it to or remove it from an account group
// (app.AddAccountGroupMember, RemoveAccountGroupMember), and invite many
// from a CSV with a preview (app.PreviewInvitations, InviteBatch). Every
// action is a form of its own (POST, redirect, GET); a refused or forged
// one renders the page with the use case's error and status.

// peoplePageSize is the number of people a Company users page lists.
const peoplePageSize = 100

// peopleRoutes are the people's actions.
func (s *Surface) peopleRoutes() []surface.Route {
	return []surface.Route{
		{Method: "POST", Pattern: "/a/{account}/users/status", Handle: s.handlePersonStatus},
		{Method: "POST", Pattern: "/a/{account}/users/reset", Handle: s.handlePersonReset},
		{Method: "POST", Pattern: "/a/{account}/users/invitation", Handle: s.handlePersonInvitation},
		{Method: "POST", Pattern: "/a/{account}/users/groups", Handle: s.handlePersonGroup},
		{Method: "POST", Pattern: "/a/{account}/users/csv", Handle: s.handleInviteCSV},
	}
}

// localeNames label the languages of the messages.
var localeNames = map[string]string{"en": "English", "de": "Deutsch", "zh": "中文"}

// personRow is one person of the table.
type personRow struct {
	app.CompanyUser
	HomeName string
	// Access lists its own grants there (shown "Orders on Acme").
	Access []roleOn
	// Groups and AddTo name the account groups with the account's name.
	Groups, AddTo []groupRow
	// Why says why its status cannot change, when it cannot.
	Why string
}

// groupRow is an account group in a person's row.
type groupRow struct {
	app.CompanyGroup
	Label string
}

// csvData is the CSV form and its preview.
type csvData struct {
	Lines   []render.CSVLine
	OK      bool
	Text    string
	Account string
	Locale  string
}

// roleOn is a role on an account, shown as "Orders on Acme" by the role's
// title in the page's locale.
type roleOn struct{ Role, Account string }

// personRow describes a person for the table.
func (s *Surface) personRow(v *view, cu app.CompanyUser) personRow {
	row := personRow{CompanyUser: cu, HomeName: s.accountName(v, cu.HomeAccount)}
	for _, g := range cu.Grants {
		row.Access = append(row.Access, roleOn{Role: g.Role, Account: s.accountName(v, g.Account)})
	}
	label := func(g app.CompanyGroup) groupRow {
		l := g.Name
		if l == "" {
			l = s.accountName(v, g.Account) + " external users"
		}
		if g.Role != "" {
			l += " (" + g.Role + ")"
		}
		return groupRow{CompanyGroup: g, Label: l}
	}
	for _, g := range cu.Groups {
		row.Groups = append(row.Groups, label(g))
	}
	for _, g := range cu.AddTo {
		row.AddTo = append(row.AddTo, label(g))
	}
	switch {
	case cu.ID == v.subject.ID:
		row.Why = "you"
	case cu.Refusal != nil:
		row.Why = "has access you do not administer"
		if e := surface.DomainError(cu.Refusal); e != nil && e.Field != "status" {
			row.Why = e.Message
		}
	}
	return row
}

func (s *Surface) accountName(v *view, id string) string {
	if a, ok := v.eng.Account(id); ok && a.Name != "" {
		return a.Name
	}
	return id
}

// loadPeople fills the people table of the list mode.
func (s *Surface) loadPeople(r *http.Request, c *app.Actor, v *view, d *companyData) error {
	cursor := r.URL.Query().Get("people")
	page, err := s.app.CompanyUsers(r.Context(), c, v.companyScope(), app.ListParams{Limit: peoplePageSize, Cursor: cursor})
	if err != nil {
		return err
	}
	for _, cu := range page.Items {
		d.People = append(d.People, s.personRow(v, cu))
	}
	if page.Next != "" {
		d.PeopleNext = d.Self + "?people=" + url.QueryEscape(page.Next) + "#people"
	}
	if cursor != "" {
		d.PeopleFirst = d.Self + "#people"
	}
	return nil
}

// personFailed renders the list with a refused action's error (the use
// case's message and status, as the API answers it).
func (s *Surface) personFailed(w http.ResponseWriter, r *http.Request, c *app.Actor, v *view, co app.Company, err error) error {
	p := companyPage(v)
	status, ierr := render.FormError(p, err, nil)
	if ierr != nil {
		return ierr
	}
	return s.renderCompany(w, r, c, v, co, p, &companyData{}, status)
}

// handlePersonStatus deactivates (status disabled) or reactivates (active)
// a user through app.PutUser: CheckUser's §5.6 rule decides.
func (s *Surface) handlePersonStatus(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, co, err := s.companyCtx(r, c)
	if err != nil {
		return err
	}
	status := r.PostFormValue("status")
	done := map[string]string{access.StatusDisabled: "user_disabled", access.StatusActive: "user_enabled"}[status]
	if done == "" {
		err = access.FieldErrorf(access.CodeInvalid, "status", "status must be active or disabled")
	} else if id := r.PostFormValue("user"); !render.Confirmed(r) {
		var imp render.Impact
		if imp, err = s.preview(r, c, app.PreviewChange{Op: "user.update", ID: id, Patch: render.Patch(map[string]any{"status": status})}); err == nil {
			cf := render.Confirm{Heading: s.rd.T(r, &c.User, "Deactivate {{.User}}?", "User", s.userName(id)),
				Summary: s.rd.T(r, &c.User, "{{.User}} can no longer sign in, and every session ends at once.", "User", s.userName(id)),
				Button:  s.rd.T(r, &c.User, "Deactivate"), Danger: true, Impact: imp, Cancel: v.accountURL() + "users#people"}
			if status == access.StatusActive {
				cf.Heading = s.rd.T(r, &c.User, "Reactivate {{.User}}?", "User", s.userName(id))
				cf.Summary = s.rd.T(r, &c.User, "{{.User}} may sign in again, with the access it still has.", "User", s.userName(id))
				cf.Button, cf.Danger = s.rd.T(r, &c.User, "Reactivate"), false
			}
			return s.renderConfirm(w, r, c, v, cf)
		}
	} else {
		_, _, _, err = s.app.PutUser(r.Context(), c, id, app.UserUpdate{Status: app.Some(status)}, false)
	}
	if err != nil {
		return s.personFailed(w, r, c, v, co, err)
	}
	render.RedirectDone(w, r, v.accountURL()+"users#people", done)
	return nil
}

// handlePersonReset sends a user a password reset link.
func (s *Surface) handlePersonReset(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, co, err := s.companyCtx(r, c)
	if err != nil {
		return err
	}
	if _, err := s.app.SendPasswordReset(r.Context(), c, r.PostFormValue("user")); err != nil {
		return s.personFailed(w, r, c, v, co, err)
	}
	render.RedirectDone(w, r, v.accountURL()+"users#people", "reset_sent")
	return nil
}

// handlePersonInvitation resends (do=resend) or revokes (do=revoke) an
// invitation.
func (s *Surface) handlePersonInvitation(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, co, err := s.companyCtx(r, c)
	if err != nil {
		return err
	}
	id, done := r.PostFormValue("invitation"), ""
	switch r.PostFormValue("do") {
	case "resend":
		_, _, err = s.app.ResendInvitation(r.Context(), c, id)
		done = "invitation_resent"
	case "revoke":
		_, err = s.app.RevokeInvitation(r.Context(), c, id)
		done = "invitation_revoked"
	default:
		err = access.FieldErrorf(access.CodeInvalid, "do", "do must be resend or revoke")
	}
	if err != nil {
		return s.personFailed(w, r, c, v, co, err)
	}
	render.RedirectDone(w, r, v.accountURL()+"users#people", done)
	return nil
}

// handlePersonGroup adds a user to (do=add) or removes it from
// (do=remove) the account group of the posted account.
func (s *Surface) handlePersonGroup(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, co, err := s.companyCtx(r, c)
	if err != nil {
		return err
	}
	in := app.MemberChange{Account: r.PostFormValue("account"), User: r.PostFormValue("user")}
	done := ""
	if do := r.PostFormValue("do"); (do == "add" || do == "remove") && !render.Confirmed(r) {
		op, group := "group.add_member", "acct:"+in.Account
		cf := render.Confirm{Heading: s.rd.T(r, &c.User, "Add {{.User}} to the group of {{.Account}}?", "User", s.userName(in.User), "Account", s.accountName(v, in.Account)),
			Summary: s.rd.T(r, &c.User, "{{.User}} gets the access the group has on {{.Account}}.", "User", s.userName(in.User), "Account", s.accountName(v, in.Account)),
			Button:  s.rd.T(r, &c.User, "Add to the group"), Cancel: v.accountURL() + "users#people"}
		if do == "remove" {
			op = "group.remove_member"
			cf.Heading = s.rd.T(r, &c.User, "Remove {{.User}} from the group of {{.Account}}?", "User", s.userName(in.User), "Account", s.accountName(v, in.Account))
			cf.Summary = s.rd.T(r, &c.User, "{{.User}} loses the access the group has on {{.Account}}, at once.", "User", s.userName(in.User), "Account", s.accountName(v, in.Account))
			cf.Button, cf.Danger = s.rd.T(r, &c.User, "Remove from the group"), true
		}
		if cf.Impact, err = s.preview(r, c, app.PreviewChange{Op: op, Group: group, User: in.User}); err == nil {
			return s.renderConfirm(w, r, c, v, cf)
		}
		return s.personFailed(w, r, c, v, co, err)
	}
	switch r.PostFormValue("do") {
	case "add":
		_, err = s.app.AddAccountGroupMember(r.Context(), c, in)
		done = "group_joined"
	case "remove":
		_, err = s.app.RemoveAccountGroupMember(r.Context(), c, in)
		done = "group_left"
	default:
		err = access.FieldErrorf(access.CodeInvalid, "do", "do must be add or remove")
	}
	if err != nil {
		return s.personFailed(w, r, c, v, co, err)
	}
	render.RedirectDone(w, r, v.accountURL()+"users#people", done)
	return nil
}

// csvInputs place a CSV's errors next to its inputs.
var csvInputs = map[string]string{"csv": "csv_file", "home_account": "csv_account", "locale": "csv_locale"}

// handleInviteCSV previews a CSV of invitations (step "preview": the
// errors per line, nothing sent) or sends it (step "send": all or
// nothing). Everyone in it is homed in the chosen account, with one grant
// there of the line's role.
func (s *Surface) handleInviteCSV(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, co, err := s.companyCtx(r, c)
	if err != nil {
		return err
	}
	if err := r.ParseMultipartForm(4 << 20); err != nil && err != http.ErrNotMultipart {
		return access.Errorf(access.CodeInvalid, "the form could not be read")
	}
	d := &companyData{CSV: csvData{Account: r.FormValue("account"), Locale: r.FormValue("locale"), Text: r.FormValue("csv")}}
	if d.CSV.Account == "" {
		d.CSV.Account = v.current.ID
	}
	if file, _, err := r.FormFile("csv_file"); err == nil {
		b, rerr := io.ReadAll(io.LimitReader(file, 4<<20))
		file.Close()
		if rerr != nil {
			return access.Errorf(access.CodeInvalid, "the file could not be read")
		}
		d.CSV.Text = string(b)
	}
	p := companyPage(v)
	fail := func(err error) error {
		status, ierr := render.FormError(p, err, csvInputs)
		if ierr != nil {
			return ierr
		}
		return s.renderCompany(w, r, c, v, co, p, d, status)
	}
	reqs, lines, err := render.InvitationCSV(d.CSV.Text, d.CSV.Account, d.CSV.Locale)
	if err != nil {
		return fail(err)
	}
	items, err := s.app.PreviewInvitations(r.Context(), c, reqs)
	if err != nil {
		return fail(err)
	}
	d.CSV.Lines, d.CSV.OK = lines, render.MarkCSV(lines, items)
	if r.FormValue("step") != "send" || !d.CSV.OK {
		return s.renderCompany(w, r, c, v, co, p, d, http.StatusOK)
	}
	if _, _, err := s.app.InviteBatch(r.Context(), c, reqs); err != nil {
		if e, ok := err.(*access.Error); ok && len(e.Items) > 0 {
			d.CSV.OK = render.MarkCSV(lines, e.Items)
		}
		return fail(err)
	}
	render.RedirectDone(w, r, v.accountURL()+"users#people", "invitations_sent")
	return nil
}
