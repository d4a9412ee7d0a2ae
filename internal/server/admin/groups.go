package admin

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Groups in the console: the list (filterable by account), create, rename,
// members added by id or email and removed, and the group's grants. A
// group's members come with the group; the page shows them a page at a
// time.

// groupInputs map the fields of group errors to the create form's inputs.
var groupInputs = map[string]string{"id": "group_id", "account": "group_account"}

type groupForm struct{ ID, Name, Account string }

type groupsData struct {
	roles
	Account     string
	Rows        []store.GroupWithMembers
	Next, First string
	Create      groupForm
	// AccountNames name the rows' accounts.
	AccountNames map[string]string
}

func (s *Surface) handleGroups(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return s.renderGroups(w, r, c, page(c, "Groups", "groups"), http.StatusOK, groupForm{})
}

func (s *Surface) renderGroups(w http.ResponseWriter, r *http.Request, c *app.Actor, p *render.Page, status int, form groupForm) error {
	q := r.URL.Query()
	d := groupsData{roles: rolesOf(c), Account: strings.TrimSpace(q.Get("account")), Create: form}
	list, err := s.app.ListGroups(r.Context(), c, app.GroupFilter{Account: d.Account, ListParams: app.ListParams{Limit: 50, Cursor: q.Get("cursor")}})
	if err != nil {
		if status, err = listError(p, err); err != nil {
			return err
		}
	}
	d.Rows = list.Items
	d.AccountNames = map[string]string{}
	for _, g := range d.Rows {
		d.AccountNames[g.Account] = s.accountName(g.Account)
	}
	base := url.Values{}
	if d.Account != "" {
		base.Set("account", d.Account)
	}
	d.Next, d.First = render.PageLinks("/admin/groups", base, q.Get("cursor"), list.Next)
	p.Data = d
	s.rd.Render(w, r, status, "admin_groups", p)
	return nil
}

// handleCreateGroup creates a group; an existing id is a conflict.
func (s *Surface) handleCreateGroup(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	form := groupForm{ID: strings.TrimSpace(r.PostFormValue("id")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Account: strings.TrimSpace(r.PostFormValue("account"))}
	_, _, err := s.app.CreateGroup(r.Context(), c, form.ID, app.GroupUpdate{Name: app.Some(form.Name), Account: app.Some(form.Account)})
	if err != nil {
		p := page(c, "Groups", "groups")
		status, ierr := render.FormError(p, err, groupInputs)
		if ierr != nil {
			return ierr
		}
		return s.renderGroups(w, r, c, p, status, form)
	}
	render.RedirectDone(w, r, "/admin/groups/"+url.PathEscape(form.ID), "group_created")
	return nil
}

type memberRow struct {
	ID, Name, Email, Kind, Status string
	Known                         bool
}

type groupData struct {
	roles
	Group       store.GroupWithMembers
	AccountName string
	Name        string
	Members     []memberRow
	MembersNext string
	Grants      []grantRow
	GrantsNext  string
	// Picker picks the user of the add member form.
	Picker picker
	Self   string
}

// membersPage is how many members the group page shows at a time.
const membersPage = 100

func (s *Surface) handleGroup(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	g, err := s.app.GetGroup(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.renderGroup(w, r, c, page(c, g.Name, "groups"), http.StatusOK, g, "", "")
}

func (s *Surface) renderGroup(w http.ResponseWriter, r *http.Request, c *app.Actor, p *render.Page, status int, g store.GroupWithMembers, name, addUser string) error {
	eng := s.app.Engine()
	q := r.URL.Query()
	d := groupData{roles: rolesOf(c), Group: g, Name: g.Name, Self: "/admin/groups/" + url.PathEscape(g.ID)}
	if name != "" {
		d.Name = name
	}
	if d.CanWrite {
		if addUser == "" && q.Get("pick") != "" {
			addUser = pickedValue(q, "user")
		}
		d.Picker = picker{Field: "user", ID: "member", Action: d.Self + "#members", TextLabel: "Or type a user id or email",
			Find: strings.TrimSpace(r.FormValue("find")), Error: p.Errors["member_user"]}
		d.Picker.Searched = d.Picker.Find != ""
		if err := s.fill(r, c, &d.Picker, addUser, func(id string) string { return id }); err != nil {
			return err
		}
	}
	if a, ok := eng.Account(g.Account); ok {
		d.AccountName = a.Name
	}
	members := append([]string(nil), g.Members...)
	sort.Strings(members)
	after := q.Get("after")
	start := sort.SearchStrings(members, after)
	if after != "" && start < len(members) && members[start] == after {
		start++
	}
	end := min(start+membersPage, len(members))
	for _, id := range members[start:end] {
		row := memberRow{ID: id}
		if u, ok := eng.User(id); ok {
			row = memberRow{ID: id, Name: u.Name, Email: u.Email, Kind: u.Kind, Status: u.Status, Known: true}
		}
		d.Members = append(d.Members, row)
	}
	if end < len(members) {
		d.MembersNext = d.Self + "?" + url.Values{"after": {members[end-1]}}.Encode() + "#members"
	}
	grants, err := s.app.ListGrants(r.Context(), c, app.GrantFilter{Principal: "group:" + g.ID, ListParams: app.ListParams{Limit: 100, Cursor: q.Get("grants")}})
	if err != nil && !isCode(err, access.CodeInvalid) {
		return err
	}
	now := s.app.Now()
	for _, gr := range grants.Items {
		a, _ := eng.Account(gr.Account)
		d.Grants = append(d.Grants, s.grantRow(r, c, gr, a, now, false))
	}
	if grants.Next != "" {
		d.GrantsNext = d.Self + "?" + url.Values{"grants": {grants.Next}}.Encode() + "#grants"
	}
	p.Data = d
	s.rd.Render(w, r, status, "admin_group", p)
	return nil
}

// handleRenameGroup changes a group's name (its id and account stay).
func (s *Surface) handleRenameGroup(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	g, err := s.app.GetGroup(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if _, _, _, err := s.app.PutGroup(r.Context(), c, g.ID, app.GroupUpdate{Name: app.Some(name)}); err != nil {
		p := page(c, g.Name, "groups")
		status, ierr := oneInput(p, err, "group_name")
		if ierr != nil {
			return ierr
		}
		return s.renderGroup(w, r, c, p, status, g, name, "")
	}
	render.RedirectDone(w, r, "/admin/groups/"+url.PathEscape(g.ID), "group_saved")
	return nil
}

// handleAddMember adds a user named by id or email.
func (s *Surface) handleAddMember(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	ctx := r.Context()
	g, err := s.app.GetGroup(ctx, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	_ = r.PostFormValue("user") // parses the form
	who := pickedValue(r.PostForm, "user")
	id, err := s.app.ResolveUser(ctx, c, who)
	if err == nil && !render.Confirmed(r) {
		var imp render.Impact
		if imp, err = s.preview(r, c, app.PreviewChange{Op: "group.add_member", Group: g.ID, User: id}); err == nil {
			return s.renderConfirm(w, r, c, g.Name, "groups", render.Confirm{
				Heading: s.rd.T(r, &c.User, "Add {{.User}} to {{.Group}}?", "User", s.principalName("user:"+id), "Group", g.Name),
				Summary: s.rd.T(r, &c.User, "{{.User}} gets every grant of the group {{.Group}}.", "User", s.principalName("user:"+id), "Group", g.Name),
				Action:  "/admin/groups/" + url.PathEscape(g.ID) + "/members", Button: s.rd.T(r, &c.User, "Add member"),
				Cancel: "/admin/groups/" + url.PathEscape(g.ID) + "#members", Impact: imp, Edit: "/admin/groups/" + url.PathEscape(g.ID) + "#members"})
		}
	} else if err == nil {
		_, _, err = s.app.AddMember(ctx, c, g.ID, id)
	}
	if err != nil {
		if isCode(err, access.CodeNotFound) {
			// A name that matches nobody is a mistake in the form, not a
			// missing page.
			err = access.FieldErrorf(access.CodeInvalid, "user", "no user has the id or email %q", who)
		}
		p := page(c, g.Name, "groups")
		status, ierr := oneInput(p, err, "member_user")
		if ierr != nil {
			return ierr
		}
		return s.renderGroup(w, r, c, p, status, g, "", who)
	}
	render.RedirectDone(w, r, "/admin/groups/"+url.PathEscape(g.ID)+"#members", "member_added")
	return nil
}

func (s *Surface) handleRemoveMember(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	g, err := s.app.GetGroup(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	user := r.PathValue("user")
	if !render.Confirmed(r) {
		// Removing asks first and says what the member loses.
		imp, err := s.preview(r, c, app.PreviewChange{Op: "group.remove_member", Group: g.ID, User: user})
		if err != nil {
			return err
		}
		return s.renderConfirm(w, r, c, g.Name, "groups", render.Confirm{
			Heading: s.rd.T(r, &c.User, "Remove {{.User}} from {{.Group}}?", "User", s.principalName("user:"+user), "Group", g.Name),
			Summary: s.rd.T(r, &c.User, "{{.User}} loses the grants of the group {{.Group}} at once, on every node.", "User", s.principalName("user:"+user), "Group", g.Name),
			Action:  "/admin/groups/" + url.PathEscape(g.ID) + "/members/" + url.PathEscape(user) + "/remove", Button: s.rd.T(r, &c.User, "Remove member"),
			Danger: true, Cancel: "/admin/groups/" + url.PathEscape(g.ID) + "#members", Impact: imp})
	}
	if _, err := s.app.RemoveMember(r.Context(), c, g.ID, user); err != nil {
		return err
	}
	render.RedirectDone(w, r, "/admin/groups/"+url.PathEscape(g.ID)+"#members", "member_removed")
	return nil
}
