package server

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Users in the console: a searchable, paged list and a page per user with
// its details, ticket constraints, password, grants and a "view the portal
// as this user" entry. Every change goes through saveUser (validateUser and
// engine.CheckUser, like the API), so an access manager cannot create or
// change admins here either.

type admUserForm struct {
	ID, Kind, Name, Email, HomeAccount, Status, StaffRole string
}

type admUsersData struct {
	adminBase
	Query, Kind string
	Rows        []access.User
	Next, First string
	Create      admUserForm
}

var admUserHints = []fieldHint{
	{"user id", "user_id"}, {"already exists", "user_id"},
	{"email", "user_email"},
	{"home_account", "user_home_account"}, {"home account", "user_home_account"},
	{"staff_role", "user_staff_role"}, {"staff role", "user_staff_role"}, {"admins", "user_staff_role"},
	{"status", "user_status"},
	{"kind", "user_kind"},
}

func (s *Server) handleAdminUsers(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	form := admUserForm{Kind: access.KindExternal, Status: access.StatusActive}
	return s.admRenderUsers(w, r, c, s.admPage(r, c, "Users", "users"), http.StatusOK, form)
}

func (s *Server) admRenderUsers(w http.ResponseWriter, r *http.Request, c *caller, p *page, status int, form admUserForm) error {
	q := r.URL.Query()
	d := admUsersData{adminBase: admBaseOf(c), Query: strings.TrimSpace(q.Get("q")), Kind: q.Get("kind"), Create: form}
	if d.Kind != access.KindInternal && d.Kind != access.KindExternal {
		d.Kind = ""
	}
	items, next, err := s.store.ListUsers(r.Context(), store.UserFilter{Kind: d.Kind, Query: d.Query, Limit: 50, Cursor: q.Get("cursor")})
	if access.ErrorCode(err) == access.CodeInvalid {
		p.Error, status = err.(*access.Error).Message, http.StatusBadRequest
	} else if err != nil {
		return err
	}
	d.Rows = items
	base := url.Values{}
	if d.Query != "" {
		base.Set("q", d.Query)
	}
	if d.Kind != "" {
		base.Set("kind", d.Kind)
	}
	if next != "" {
		nq := cloneValues(base)
		nq.Set("cursor", next)
		d.Next = "/admin/users?" + nq.Encode()
	}
	if q.Get("cursor") != "" {
		d.First = "/admin/users?" + base.Encode()
	}
	p.Data = d
	s.render(w, r, status, "admin_users", p)
	return nil
}

// admFormUser reads the user form.
func admFormUser(r *http.Request) admUserForm {
	return admUserForm{ID: strings.TrimSpace(r.PostFormValue("id")), Kind: r.PostFormValue("kind"), Name: r.PostFormValue("name"),
		Email: strings.TrimSpace(r.PostFormValue("email")), HomeAccount: strings.TrimSpace(r.PostFormValue("home_account")),
		Status: r.PostFormValue("status"), StaffRole: r.PostFormValue("staff_role")}
}

// apply sets u's fields from the form. Fields that belong to the other
// kind are cleared (home account and constraints are for external users,
// a staff role for internal ones), so changing the kind is one step.
func (f admUserForm) apply(u *access.User) {
	u.Kind, u.Name, u.Email, u.Status = f.Kind, f.Name, f.Email, f.Status
	if f.Kind == access.KindInternal {
		u.HomeAccount, u.Constraints, u.StaffRole = "", nil, f.StaffRole
	} else {
		u.HomeAccount, u.StaffRole = f.HomeAccount, ""
	}
}

// handleAdminCreateUser creates a user; an existing id is a conflict.
func (s *Server) handleAdminCreateUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriterPage(c); err != nil {
		return err
	}
	form := admFormUser(r)
	err := checkID("user", form.ID)
	if err == nil {
		if _, exists := s.engine.User(form.ID); exists {
			err = access.Errorf(access.CodeConflict, "user %s already exists", form.ID)
		}
	}
	if err == nil {
		u := access.User{ID: form.ID}
		form.apply(&u)
		_, _, err = s.saveUser(r.Context(), c, nil, u)
	}
	if err != nil {
		p := s.admPage(r, c, "Users", "users")
		status, ierr := formError(p, err, admUserHints...)
		if ierr != nil {
			return ierr
		}
		return s.admRenderUsers(w, r, c, p, status, form)
	}
	admRedirectDone(w, r, "/admin/users/"+url.PathEscape(form.ID), "user_created")
	return nil
}

type admUserGrantRow struct {
	access.Grant
	AccountName string
	// Via is the group the grant comes through, "" for a direct grant.
	Via       string
	Protected bool
}

// admConstraintBox is the editor of one object type's constraints.
type admConstraintBox struct {
	Type, Title string
	// Text is "attribute: value1, value2" per line.
	Text string
	// Choices are the type's declared fields with allowed values, as hints.
	Choices []admFieldChoices
}

type admFieldChoices struct {
	Name   string
	Values []string
}

type admUserData struct {
	adminBase
	User        access.User
	Form        admUserForm
	Home        *access.Account
	Grants      []admUserGrantRow
	MoreGrants  int
	Groups      []string
	Constraints []admConstraintBox
	// ViewAs is the view-as entry, for external users who reach an account.
	ViewAs string
	Reach  int
	Self   string
	IsSelf bool
}

// admUserState is what a failed POST puts back into the user page.
type admUserState struct {
	form        *admUserForm
	constraints map[string]string
}

// admMaxUserGrants bounds the grants listed on a user's page.
const admMaxUserGrants = 200

func (s *Server) handleAdminUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	u, err := s.store.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.admRenderUser(w, r, c, s.admPage(r, c, u.Name, "users"), http.StatusOK, u, admUserState{})
}

func (s *Server) admRenderUser(w http.ResponseWriter, r *http.Request, c *caller, p *page, status int, u access.User, st admUserState) error {
	d := admUserData{adminBase: admBaseOf(c), User: u, Self: "/admin/users/" + url.PathEscape(u.ID), IsSelf: u.ID == c.user.ID,
		Form: admUserForm{ID: u.ID, Kind: u.Kind, Name: u.Name, Email: u.Email, HomeAccount: u.HomeAccount, Status: u.Status, StaffRole: u.StaffRole}}
	if st.form != nil {
		d.Form = *st.form
	}
	if a, ok := s.engine.Account(u.HomeAccount); ok {
		d.Home = &a
	}
	pol := s.engine.Policy()
	groups := map[string]bool{}
	for _, g := range s.engine.UserGrants(u.ID) {
		row := admUserGrantRow{Grant: g, Protected: admProtected(pol, g.Role)}
		if a, ok := s.engine.Account(g.Account); ok {
			row.AccountName = a.Name
		}
		if gid, ok := strings.CutPrefix(g.Principal, "group:"); ok {
			row.Via = gid
			groups[gid] = true
		}
		if len(d.Grants) < admMaxUserGrants {
			d.Grants = append(d.Grants, row)
		} else {
			d.MoreGrants++
		}
	}
	for g := range groups {
		d.Groups = append(d.Groups, g)
	}
	sort.Strings(d.Groups)
	if u.Kind == access.KindExternal {
		d.Reach = len(s.engine.Reach(u.ID))
		if d.Reach > 0 {
			d.ViewAs = "/admin/view-as?" + url.Values{"user": {u.ID}}.Encode()
		}
		d.Constraints = s.admConstraintBoxes(u, st.constraints)
	}
	p.Data = d
	s.render(w, r, status, "admin_user", p)
	return nil
}

// admConstraintBoxes offers an editor for every object type that declares
// fields with allowed values (tickets: type, status...) or on which the
// user already has constraints.
func (s *Server) admConstraintBoxes(u access.User, typed map[string]string) []admConstraintBox {
	var out []admConstraintBox
	for _, t := range s.engine.Policy().Types() {
		box := admConstraintBox{Type: t.Name, Title: typeTitle(t)}
		for _, f := range t.FieldList {
			if len(f.Values) > 0 {
				box.Choices = append(box.Choices, admFieldChoices{f.Name, f.Values})
			}
		}
		cons := u.Constraints[t.Name]
		if len(box.Choices) == 0 && len(cons) == 0 {
			continue
		}
		if v, ok := typed[t.Name]; ok {
			box.Text = v
		} else {
			box.Text = admFormatConstraints(cons)
		}
		out = append(out, box)
	}
	return out
}

// admFormatConstraints writes one type's constraints as "attr: v1, v2" lines.
func admFormatConstraints(cons map[string][]string) string {
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

// admParseConstraints reads "attr: v1, v2" lines; blank lines and lines
// starting with # are skipped. Values are trimmed; none is an error.
func admParseConstraints(text string) (map[string][]string, error) {
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

func (s *Server) handleAdminUpdateUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriterPage(c); err != nil {
		return err
	}
	old, err := s.store.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	form := admFormUser(r)
	form.ID = old.ID
	u := old
	form.apply(&u)
	if _, _, err := s.saveUser(r.Context(), c, &old, u); err != nil {
		p := s.admPage(r, c, old.Name, "users")
		status, ierr := formError(p, err, admUserHints...)
		if ierr != nil {
			return ierr
		}
		return s.admRenderUser(w, r, c, p, status, old, admUserState{form: &form})
	}
	admRedirectDone(w, r, "/admin/users/"+url.PathEscape(old.ID), "user_saved")
	return nil
}

// handleAdminUserConstraints saves the constraints editor: one textarea per
// object type (constraints.<type>); an empty one removes that type's
// constraints.
func (s *Server) handleAdminUserConstraints(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriterPage(c); err != nil {
		return err
	}
	old, err := s.store.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if old.Kind != access.KindExternal {
		return access.Errorf(access.CodeInvalid, "constraints are for external users")
	}
	if err := r.ParseForm(); err != nil {
		return access.Errorf(access.CodeInvalid, "the form could not be read")
	}
	u := old
	u.Constraints = map[string]map[string][]string{}
	for t, cons := range old.Constraints { // types without an editor keep theirs
		u.Constraints[t] = cons
	}
	typed := map[string]string{}
	p := s.admPage(r, c, old.Name, "users")
	for key, vals := range r.PostForm {
		typ, ok := strings.CutPrefix(key, "constraints.")
		if !ok {
			continue
		}
		typed[typ] = vals[0]
		if s.engine.Policy().Type(typ) == nil {
			p.Errors["constraints_"+typ] = "unknown object type " + typ
			continue
		}
		cons, err := admParseConstraints(vals[0])
		if err != nil {
			p.Errors["constraints_"+typ] = err.Error()
			continue
		}
		if len(cons) == 0 {
			delete(u.Constraints, typ)
		} else {
			u.Constraints[typ] = cons
		}
	}
	if len(p.Errors) > 0 {
		p.Error = "The constraints were not saved: see the messages next to the editors."
		return s.admRenderUser(w, r, c, p, http.StatusBadRequest, old, admUserState{constraints: typed})
	}
	if len(u.Constraints) == 0 {
		u.Constraints = nil
	}
	if _, _, err := s.saveUser(r.Context(), c, &old, u); err != nil {
		status, ierr := formError(p, err)
		if ierr != nil {
			return ierr
		}
		return s.admRenderUser(w, r, c, p, status, old, admUserState{constraints: typed})
	}
	admRedirectDone(w, r, "/admin/users/"+url.PathEscape(old.ID)+"#constraints", "constraints")
	return nil
}

// handleAdminUserPassword sets another user's password (mayResetPassword
// and storePassword, like the API); staff change their own on the profile
// page, with their current password.
func (s *Server) handleAdminUserPassword(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriterPage(c); err != nil {
		return err
	}
	u, err := s.store.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	pw := r.PostFormValue("password")
	switch {
	case u.ID == c.user.ID:
		err = access.Errorf(access.CodeForbidden, "change your own password on your profile page, with your current password")
	case pw != r.PostFormValue("confirm"):
		err = access.Errorf(access.CodeInvalid, "the two passwords differ")
	default:
		if err = s.mayResetPassword(r.Context(), c, u.ID); err == nil {
			_, err = s.storePassword(r.Context(), c.user.ID, u.ID, pw)
		}
	}
	if err != nil {
		p := s.admPage(r, c, u.Name, "users")
		status, ierr := formError(p, err, fieldHint{"differ", "password_confirm"}, fieldHint{"password", "password"})
		if ierr != nil {
			return ierr
		}
		if _, ok := p.Errors["password"]; !ok && p.Errors["password_confirm"] == "" {
			p.Errors["password"] = p.Error
		}
		return s.admRenderUser(w, r, c, p, status, u, admUserState{})
	}
	admRedirectDone(w, r, "/admin/users/"+url.PathEscape(u.ID)+"#password", "password_set")
	return nil
}
