package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/render"
)

// Users in the console: a searchable, paged list and a page per user with
// its details, ticket constraints, password, grants and a "view the portal
// as this user" entry. Every change goes through app (User.Validate and
// the engine's CheckUser inside the write transaction, like the API), so
// an access manager cannot create or change admins here either.

// userInputs map the fields of user errors to the user forms' inputs.
var userInputs = map[string]string{
	"id":           "user_id",
	"email":        "user_email",
	"home_account": "user_home_account",
	"staff_role":   "user_staff_role",
	"status":       "user_status",
	"kind":         "user_kind",
}

// passwordInputs map the fields of password errors to the password form's
// inputs; every other error of that form is shown by the password.
var passwordInputs = map[string]string{"password": "password", "confirm": "password_confirm"}

type userForm struct {
	ID, Kind, Name, Email, HomeAccount, Status, StaffRole string
}

type usersData struct {
	roles
	Query, Kind string
	Rows        []access.User
	Next, First string
	Create      userForm
	// AccountNames name the rows' home accounts.
	AccountNames map[string]string
}

func (s *Surface) handleUsers(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	form := userForm{Kind: access.KindExternal, Status: access.StatusActive}
	return s.renderUsers(w, r, c, page(c, "Users", "users"), http.StatusOK, form)
}

func (s *Surface) renderUsers(w http.ResponseWriter, r *http.Request, c *app.Actor, p *render.Page, status int, form userForm) error {
	q := r.URL.Query()
	d := usersData{roles: rolesOf(c), Query: strings.TrimSpace(q.Get("q")), Kind: q.Get("kind"), Create: form}
	if d.Kind != access.KindInternal && d.Kind != access.KindExternal {
		d.Kind = ""
	}
	list, err := s.app.ListUsers(r.Context(), c, app.UserFilter{Kind: d.Kind, Query: d.Query,
		ListParams: app.ListParams{Limit: 50, Cursor: q.Get("cursor")}})
	if err != nil {
		if status, err = listError(p, err); err != nil {
			return err
		}
	}
	d.Rows = list.Items
	d.AccountNames = map[string]string{}
	for _, u := range d.Rows {
		d.AccountNames[u.HomeAccount] = s.accountName(u.HomeAccount)
	}
	base := url.Values{}
	if d.Query != "" {
		base.Set("q", d.Query)
	}
	if d.Kind != "" {
		base.Set("kind", d.Kind)
	}
	d.Next, d.First = render.PageLinks("/admin/users", base, q.Get("cursor"), list.Next)
	p.Data = d
	s.rd.Render(w, r, status, "admin_users", p)
	return nil
}

// formUser reads the user form.
func formUser(r *http.Request) userForm {
	return userForm{ID: strings.TrimSpace(r.PostFormValue("id")), Kind: r.PostFormValue("kind"), Name: r.PostFormValue("name"),
		Email: strings.TrimSpace(r.PostFormValue("email")), HomeAccount: strings.TrimSpace(r.PostFormValue("home_account")),
		Status: r.PostFormValue("status"), StaffRole: r.PostFormValue("staff_role")}
}

// update is the user write the form asks for: every field it shows, as
// typed. Fields that belong to the other kind are cleared (home account
// and constraints are for external users, a staff role for internal
// ones), so changing the kind is one step.
func (f userForm) update() app.UserUpdate {
	u := app.UserUpdate{Kind: app.Some(f.Kind), Name: app.Some(f.Name), Email: app.Some(f.Email), Status: app.Some(f.Status)}
	if f.Kind == access.KindInternal {
		u.HomeAccount, u.Constraints, u.StaffRole = app.Null[string](), app.Null[map[string]map[string][]string](), app.Some(f.StaffRole)
	} else {
		u.HomeAccount, u.StaffRole = app.Some(f.HomeAccount), app.Null[string]()
	}
	return u
}

// handleCreateUser creates a user; an existing id is a conflict.
func (s *Surface) handleCreateUser(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	form := formUser(r)
	if _, _, err := s.app.CreateUser(r.Context(), c, form.ID, form.update()); err != nil {
		p := page(c, "Users", "users")
		status, ierr := render.FormError(p, err, userInputs)
		if ierr != nil {
			return ierr
		}
		return s.renderUsers(w, r, c, p, status, form)
	}
	render.RedirectDone(w, r, "/admin/users/"+url.PathEscape(form.ID), "user_created")
	return nil
}

type userGrantRow struct {
	access.Grant
	AccountName string
	// Via is the group the grant comes through, "" for a direct grant;
	// ViaName is its name.
	Via, ViaName string
	Protected    bool
}

// groupRef is a group by id and name.
type groupRef struct{ ID, Name string }

// constraintBox is the editor of one object type's constraints: a
// checkbox per declared value of the fields that declare values
// (records.md §4), and a text box for the other fields.
type constraintBox struct {
	Type, Title string
	// T is the object type, for its value labels.
	T *policy.Type
	// Choices are the type's declared fields with allowed values, each
	// value checked when the user is constrained to it.
	Choices []fieldChoices
	// Text is "attribute: value1, value2" per line, for fields without
	// declared values (and anything stored that no checkbox shows, so a
	// stale value is seen and fixed rather than silently dropped).
	Text string
	// Summary is every constraint of the type as text, for readers.
	Summary string
}

type fieldChoices struct {
	Name   string
	Values []choice
}

type choice struct {
	Value   string
	Checked bool
}

type userData struct {
	roles
	User        access.User
	Form        userForm
	Home        *access.Account
	Grants      []userGrantRow
	MoreGrants  int
	Groups      []groupRef
	Constraints []constraintBox
	// ViewAs is the view-as entry, for external users who reach an account.
	ViewAs string
	Reach  int
	Self   string
	IsSelf bool
	// MFA is the user's two-factor status (a reset button for writers).
	MFA app.MFAStatus
	// Delete asks to confirm the user's deletion (?delete=1; portal.md
	// §5): what it loses is Grants, MoreGrants and Groups.
	Delete *deletePreview
}

// deletePreview is the confirmation of a user's deletion.
type deletePreview struct {
	// Protected: a protected grant forbids the deletion.
	Protected bool
}

// userState is what a failed POST puts back into the user page.
type userState struct {
	form *userForm
	// constraints is the constraints form as posted, nil for none.
	constraints url.Values
}

// maxUserGrants bounds the grants listed on a user's page.
const maxUserGrants = 200

func (s *Surface) handleUser(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	u, err := s.app.GetUser(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.renderUser(w, r, c, page(c, u.Name, "users"), http.StatusOK, u, userState{})
}

func (s *Surface) renderUser(w http.ResponseWriter, r *http.Request, c *app.Actor, p *render.Page, status int, u access.User, st userState) error {
	eng := s.app.Engine()
	d := userData{roles: rolesOf(c), User: u, Self: "/admin/users/" + url.PathEscape(u.ID), IsSelf: u.ID == c.ID(),
		Form: userForm{ID: u.ID, Kind: u.Kind, Name: u.Name, Email: u.Email, HomeAccount: u.HomeAccount, Status: u.Status, StaffRole: u.StaffRole}}
	if st.form != nil {
		d.Form = *st.form
	}
	if a, ok := eng.Account(u.HomeAccount); ok {
		d.Home = &a
	}
	d.MFA = s.mfaStatus(r, c, u.ID)
	pol := eng.Policy()
	groups := map[string]bool{}
	for _, g := range eng.UserGrants(u.ID) {
		row := userGrantRow{Grant: g, Protected: protected(pol, g.Role)}
		if a, ok := eng.Account(g.Account); ok {
			row.AccountName = a.Name
		}
		if gid, ok := strings.CutPrefix(g.Principal, "group:"); ok {
			row.Via = gid
			groups[gid] = true
		}
		if len(d.Grants) < maxUserGrants {
			d.Grants = append(d.Grants, row)
		} else {
			d.MoreGrants++
		}
	}
	names := map[string]string{}
	for g := range groups {
		ref := groupRef{ID: g, Name: g}
		if gr, err := s.app.GetGroup(r.Context(), c, g); err == nil {
			ref.Name = gr.Name
		}
		names[g] = ref.Name
		d.Groups = append(d.Groups, ref)
	}
	sort.Slice(d.Groups, func(i, j int) bool { return d.Groups[i].Name < d.Groups[j].Name })
	for i := range d.Grants {
		d.Grants[i].ViaName = names[d.Grants[i].Via]
	}
	if u.Kind == access.KindExternal {
		d.Reach = len(eng.Reach(u.ID))
		if d.Reach > 0 {
			d.ViewAs = "/admin/view-as?" + url.Values{"user": {u.ID}}.Encode()
		}
		d.Constraints = s.constraintBoxes(u, st.constraints)
	}
	if r.URL.Query().Get("delete") != "" && d.CanWrite && !d.IsSelf {
		d.Delete = &deletePreview{}
		for _, g := range d.Grants {
			d.Delete.Protected = d.Delete.Protected || (g.Protected && g.Via == "")
		}
	}
	p.Data = d
	s.rd.Render(w, r, status, "admin_user", p)
	return nil
}

// handleDeleteUser deletes a user (app.DeleteUser: with its grants,
// memberships, sessions and tokens) once confirmed; without the
// confirmation it shows what the deletion changes.
func (s *Surface) handleDeleteUser(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	u, err := s.app.GetUser(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	self := "/admin/users/" + url.PathEscape(u.ID)
	if r.PostFormValue("confirm") != "yes" {
		http.Redirect(w, r, self+"?delete=1#delete-user", http.StatusSeeOther)
		return nil
	}
	if _, err := s.app.DeleteUser(r.Context(), c, u.ID); err != nil {
		p := page(c, u.Name, "users")
		status, ierr := render.FormError(p, err, nil)
		if ierr != nil {
			return ierr
		}
		return s.renderUser(w, r, c, p, status, u, userState{})
	}
	render.RedirectDone(w, r, "/admin/users", "user_deleted")
	return nil
}

// constraintBoxes offers an editor for every object type that declares
// fields with allowed values (tickets: type, status...) or on which the
// user already has constraints. posted, when set, is a refused form to
// show again as it was sent.
func (s *Surface) constraintBoxes(u access.User, posted url.Values) []constraintBox {
	var out []constraintBox
	for _, t := range s.app.Engine().Policy().Types() {
		box := constraintBox{Type: t.Name, Title: render.TypeTitle(t), T: t}
		cons := u.Constraints[t.Name]
		text, again := posted["constraints."+t.Name]
		rest := map[string][]string{}
		for a, vals := range cons {
			rest[a] = vals
		}
		for _, f := range t.FieldList {
			if len(f.Values) == 0 {
				continue
			}
			checked := cons[f.Name]
			if again {
				checked = posted["constraints."+t.Name+"."+f.Name]
			}
			fc := fieldChoices{Name: f.Name}
			for _, v := range f.Values {
				fc.Values = append(fc.Values, choice{Value: v, Checked: slices.Contains(checked, v)})
			}
			box.Choices = append(box.Choices, fc)
			var stale []string
			for _, v := range cons[f.Name] {
				if !slices.Contains(f.Values, v) {
					stale = append(stale, v)
				}
			}
			if delete(rest, f.Name); len(stale) > 0 {
				rest[f.Name] = stale
			}
		}
		if len(box.Choices) == 0 && len(cons) == 0 {
			continue
		}
		box.Summary = formatConstraints(cons)
		if again {
			box.Text = text[0]
		} else {
			box.Text = formatConstraints(rest)
		}
		out = append(out, box)
	}
	return out
}

// formatConstraints writes one type's constraints as "attr: v1, v2" lines.
func formatConstraints(cons map[string][]string) string {
	attrs := make([]string, 0, len(cons))
	for a := range cons {
		attrs = append(attrs, a)
	}
	sort.Strings(attrs)
	var b strings.Builder
	for _, a := range attrs {
		fmt.Fprintf(&b, "%s: %s\n", a, strings.Join(cons[a], ", "))
	}
	return b.String()
}

// parseConstraints reads "attr: v1, v2" lines; blank lines and lines
// starting with # are skipped. Values are trimmed; none is an error.
func parseConstraints(text string) (map[string][]string, error) {
	out := map[string][]string{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		attr, vals, ok := strings.Cut(line, ":")
		attr = strings.TrimSpace(attr)
		if !ok || attr == "" {
			return nil, fmt.Errorf("line %d: write “attribute: value1, value2”", i+1)
		}
		if _, dup := out[attr]; dup {
			return nil, fmt.Errorf("line %d: attribute %s is listed twice", i+1, attr)
		}
		var list []string
		for _, v := range strings.Split(vals, ",") {
			if v = strings.TrimSpace(v); v != "" {
				list = append(list, v)
			}
		}
		if len(list) == 0 {
			return nil, fmt.Errorf("line %d: attribute %s lists no values", i+1, attr)
		}
		out[attr] = list
	}
	return out, nil
}

// constraintMessage is the text shown next to a constraints editor: the
// domain's message for a validation error, the parse error otherwise.
func constraintMessage(err error) string {
	var de *access.Error
	if errors.As(err, &de) {
		return de.Message
	}
	return err.Error()
}

func (s *Surface) handleUpdateUser(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	old, err := s.app.GetUser(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	form := formUser(r)
	form.ID = old.ID
	if form.Status != old.Status && !render.Confirmed(r) {
		imp, err := s.preview(r, c, app.PreviewChange{Op: "user.update", ID: old.ID, Patch: render.Patch(map[string]any{"status": form.Status})})
		if err == nil {
			return s.renderConfirm(w, r, c, old.Name, "users", render.Confirm{
				Heading: s.rd.T(r, &c.User, "Change the status of {{.User}}?", "User", old.Name),
				Summary: s.rd.T(r, &c.User, "The status of {{.User}} changes from {{.Old}} to {{.New}}.", "User", old.Name,
					"Old", s.rd.T(r, &c.User, old.Status), "New", s.rd.T(r, &c.User, form.Status)),
				Action: "/admin/users/" + url.PathEscape(old.ID), Button: s.rd.T(r, &c.User, "Save user"),
				Danger: form.Status != access.StatusActive, Cancel: "/admin/users/" + url.PathEscape(old.ID), Impact: imp,
				Edit: "/admin/users/" + url.PathEscape(old.ID)})
		}
		return s.userFailed(w, r, c, old, form, err)
	}
	if _, _, _, err := s.app.PutUser(r.Context(), c, old.ID, form.update(), false); err != nil {
		return s.userFailed(w, r, c, old, form, err)
	}
	render.RedirectDone(w, r, "/admin/users/"+url.PathEscape(old.ID), "user_saved")
	return nil
}

// userFailed shows the user's page with the form as posted and its error.
func (s *Surface) userFailed(w http.ResponseWriter, r *http.Request, c *app.Actor, old access.User, form userForm, err error) error {
	p := page(c, old.Name, "users")
	status, ierr := render.FormError(p, err, userInputs)
	if ierr != nil {
		return ierr
	}
	return s.renderUser(w, r, c, p, status, old, userState{form: &form})
}

// handleUserConstraints saves the constraints editor: one textarea per
// object type (constraints.<type>); an empty one removes that type's
// constraints, and types without an editor keep theirs.
func (s *Surface) handleUserConstraints(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	old, err := s.app.GetUser(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	if old.Kind != access.KindExternal {
		return access.Errorf(access.CodeInvalid, "constraints are for external users")
	}
	if err := r.ParseForm(); err != nil {
		return access.Errorf(access.CodeInvalid, "the form could not be read")
	}
	cons := map[string]map[string][]string{}
	for t, tc := range old.Constraints {
		cons[t] = tc
	}
	pol := s.app.Engine().Policy()
	p := page(c, old.Name, "users")
	for key, vals := range r.PostForm {
		typ, ok := strings.CutPrefix(key, "constraints.")
		if !ok || strings.Contains(typ, ".") {
			continue // a checkbox: read with its type's text box
		}
		t := pol.Type(typ)
		if t == nil {
			p.Errors["constraints_"+typ] = "unknown object type " + typ
			continue
		}
		tc, err := parseConstraints(vals[0])
		if err == nil {
			// The checked values of the fields that declare values.
			for _, f := range t.FieldList {
				for _, v := range r.PostForm["constraints."+typ+"."+f.Name] {
					if len(f.Values) > 0 && !slices.Contains(tc[f.Name], v) {
						tc[f.Name] = append(tc[f.Name], v)
					}
				}
			}
			err = access.ValidateTypeConstraints(t, tc)
		}
		if err != nil {
			p.Errors["constraints_"+typ] = constraintMessage(err)
			continue
		}
		if len(tc) == 0 {
			delete(cons, typ)
		} else {
			cons[typ] = tc
		}
	}
	if len(p.Errors) > 0 {
		p.Error = "The constraints were not saved: see the messages next to the editors."
		return s.renderUser(w, r, c, p, http.StatusBadRequest, old, userState{constraints: r.PostForm})
	}
	u := app.UserUpdate{Constraints: app.Some(cons)}
	if len(cons) == 0 {
		u.Constraints = app.Null[map[string]map[string][]string]()
	}
	if _, _, _, err := s.app.PutUser(r.Context(), c, old.ID, u, false); err != nil {
		status, ierr := render.FormError(p, err, nil)
		if ierr != nil {
			return ierr
		}
		return s.renderUser(w, r, c, p, status, old, userState{constraints: r.PostForm})
	}
	render.RedirectDone(w, r, "/admin/users/"+url.PathEscape(old.ID)+"#constraints", "constraints")
	return nil
}

// handleUserPassword sets another user's password (app.SetPassword, like
// the API); staff change their own on the profile page, with their
// current password.
func (s *Surface) handleUserPassword(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	u, err := s.app.GetUser(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	pw := r.PostFormValue("password")
	switch {
	case u.ID == c.ID():
		err = access.Errorf(access.CodeForbidden, "change your own password on your profile page, with your current password")
	case pw != r.PostFormValue("confirm"):
		err = access.FieldErrorf(access.CodeInvalid, "confirm", "the two passwords differ")
	default:
		_, err = s.app.SetPassword(r.Context(), c, u.ID, app.PasswordChange{Password: pw})
	}
	if err != nil {
		p := page(c, u.Name, "users")
		status, ierr := render.FormError(p, err, passwordInputs)
		if ierr != nil {
			return ierr
		}
		if _, ok := p.Errors["password"]; !ok && p.Errors["password_confirm"] == "" {
			p.Errors["password"] = p.Error
		}
		return s.renderUser(w, r, c, p, status, u, userState{})
	}
	render.RedirectDone(w, r, "/admin/users/"+url.PathEscape(u.ID)+"#password", "password_set")
	return nil
}
