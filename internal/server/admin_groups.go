package server

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Groups in the console: the list (filterable by account), create, rename,
// members added by id or email and removed, and the group's grants. A
// group's members come with the group; the page shows them a page at a
// time.

type admGroupForm struct{ ID, Name, Account string }

type admGroupsData struct {
	adminBase
	Account     string
	Rows        []store.GroupWithMembers
	Next, First string
	Create      admGroupForm
}

var admGroupHints = []fieldHint{
	{"group id", "group_id"}, {"already exists", "group_id"}, {"account", "group_account"},
}

func (s *Server) handleAdminGroups(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	return s.admRenderGroups(w, r, c, s.admPage(r, c, "Groups", "groups"), http.StatusOK, admGroupForm{})
}

func (s *Server) admRenderGroups(w http.ResponseWriter, r *http.Request, c *caller, p *page, status int, form admGroupForm) error {
	q := r.URL.Query()
	d := admGroupsData{adminBase: admBaseOf(c), Account: strings.TrimSpace(q.Get("account")), Create: form}
	items, next, err := s.store.ListGroups(r.Context(), store.GroupFilter{Account: d.Account, Limit: 50, Cursor: q.Get("cursor")})
	if access.ErrorCode(err) == access.CodeInvalid {
		p.Error, status = err.(*access.Error).Message, http.StatusBadRequest
	} else if err != nil {
		return err
	}
	d.Rows = items
	base := url.Values{}
	if d.Account != "" {
		base.Set("account", d.Account)
	}
	if next != "" {
		nq := cloneValues(base)
		nq.Set("cursor", next)
		d.Next = "/admin/groups?" + nq.Encode()
	}
	if q.Get("cursor") != "" {
		d.First = "/admin/groups?" + base.Encode()
	}
	p.Data = d
	s.render(w, r, status, "admin_groups", p)
	return nil
}

// handleAdminCreateGroup creates a group; an existing id is a conflict.
func (s *Server) handleAdminCreateGroup(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriterPage(c); err != nil {
		return err
	}
	form := admGroupForm{ID: strings.TrimSpace(r.PostFormValue("id")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Account: strings.TrimSpace(r.PostFormValue("account"))}
	var err error
	if _, gerr := s.store.GetGroup(r.Context(), form.ID); gerr == nil {
		err = access.Errorf(access.CodeConflict, "group %s already exists", form.ID)
	} else if access.ErrorCode(gerr) != access.CodeNotFound {
		return gerr
	}
	if err == nil {
		_, _, err = s.saveGroup(r.Context(), c.user.ID, access.Group{ID: form.ID, Name: form.Name, Account: form.Account})
	}
	if err != nil {
		p := s.admPage(r, c, "Groups", "groups")
		status, ierr := formError(p, err, admGroupHints...)
		if ierr != nil {
			return ierr
		}
		return s.admRenderGroups(w, r, c, p, status, form)
	}
	admRedirectDone(w, r, "/admin/groups/"+url.PathEscape(form.ID), "group_created")
	return nil
}

type admMemberRow struct {
	ID, Name, Email, Kind, Status string
	Known                         bool
}

type admGroupData struct {
	adminBase
	Group       store.GroupWithMembers
	AccountName string
	Name        string
	Members     []admMemberRow
	MembersNext string
	Grants      []grantRow
	GrantsNext  string
	AddUser     string
	Self        string
}

// admMembersPage is how many members the group page shows at a time.
const admMembersPage = 100

func (s *Server) handleAdminGroup(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	g, err := s.store.GetGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.admRenderGroup(w, r, c, s.admPage(r, c, g.Name, "groups"), http.StatusOK, g, "", "")
}

func (s *Server) admRenderGroup(w http.ResponseWriter, r *http.Request, c *caller, p *page, status int, g store.GroupWithMembers, name, addUser string) error {
	q := r.URL.Query()
	d := admGroupData{adminBase: admBaseOf(c), Group: g, Name: g.Name, AddUser: addUser, Self: "/admin/groups/" + url.PathEscape(g.ID)}
	if name != "" {
		d.Name = name
	}
	if a, ok := s.engine.Account(g.Account); ok {
		d.AccountName = a.Name
	}
	members := g.Members
	sort.Strings(members)
	after := q.Get("after")
	start := sort.SearchStrings(members, after)
	if after != "" && start < len(members) && members[start] == after {
		start++
	}
	end := min(start+admMembersPage, len(members))
	for _, id := range members[start:end] {
		row := admMemberRow{ID: id}
		if u, ok := s.engine.User(id); ok {
			row = admMemberRow{ID: id, Name: u.Name, Email: u.Email, Kind: u.Kind, Status: u.Status, Known: true}
		}
		d.Members = append(d.Members, row)
	}
	if end < len(members) {
		d.MembersNext = d.Self + "?" + url.Values{"after": {members[end-1]}}.Encode() + "#members"
	}
	grants, gnext, err := s.store.ListGrants(r.Context(), store.GrantFilter{Principal: "group:" + g.ID, Limit: 100, Cursor: q.Get("grants")})
	if err != nil && access.ErrorCode(err) != access.CodeInvalid {
		return err
	}
	now := s.engine.Now()
	for _, gr := range grants {
		a, _ := s.engine.Account(gr.Account)
		d.Grants = append(d.Grants, s.grantRow(r, gr, a, now, false))
	}
	if gnext != "" {
		d.GrantsNext = d.Self + "?" + url.Values{"grants": {gnext}}.Encode() + "#grants"
	}
	p.Data = d
	s.render(w, r, status, "admin_group", p)
	return nil
}

// handleAdminRenameGroup changes a group's name (its id and account stay).
func (s *Server) handleAdminRenameGroup(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriterPage(c); err != nil {
		return err
	}
	g, err := s.store.GetGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	next := g.Group
	next.Name = name
	if _, _, err := s.saveGroup(r.Context(), c.user.ID, next); err != nil {
		p := s.admPage(r, c, g.Name, "groups")
		status, ierr := formError(p, err, fieldHint{"", "group_name"})
		if ierr != nil {
			return ierr
		}
		return s.admRenderGroup(w, r, c, p, status, g, name, "")
	}
	admRedirectDone(w, r, "/admin/groups/"+url.PathEscape(g.ID), "group_saved")
	return nil
}

// handleAdminAddMember adds a user named by id or email.
func (s *Server) handleAdminAddMember(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriterPage(c); err != nil {
		return err
	}
	g, err := s.store.GetGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	who := strings.TrimSpace(r.PostFormValue("user"))
	id, err := s.admResolveUser(r, who)
	if err == nil {
		_, err = s.addMember(r.Context(), c.user.ID, g.ID, id)
	}
	if err != nil {
		if access.ErrorCode(err) == access.CodeNotFound {
			err = access.Errorf(access.CodeInvalid, "no user has the id or email %q", who)
		}
		p := s.admPage(r, c, g.Name, "groups")
		status, ierr := formError(p, err, fieldHint{"", "member_user"})
		if ierr != nil {
			return ierr
		}
		return s.admRenderGroup(w, r, c, p, status, g, "", who)
	}
	admRedirectDone(w, r, "/admin/groups/"+url.PathEscape(g.ID)+"#members", "member_added")
	return nil
}

// admResolveUser finds a user by id or, when v holds an @, by email.
func (s *Server) admResolveUser(r *http.Request, v string) (string, error) {
	if v == "" {
		return "", access.Errorf(access.CodeInvalid, "name a user by id or email")
	}
	if strings.Contains(v, "@") {
		u, err := s.store.GetUserByEmail(r.Context(), v)
		if err != nil {
			return "", err
		}
		return u.ID, nil
	}
	if _, ok := s.engine.User(v); !ok {
		return "", access.Errorf(access.CodeNotFound, "user %s not found", v)
	}
	return v, nil
}

func (s *Server) handleAdminRemoveMember(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriterPage(c); err != nil {
		return err
	}
	g, err := s.store.GetGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if _, err := s.store.RemoveMember(r.Context(), c.user.ID, g.ID, r.PathValue("user")); err != nil {
		return err
	}
	admRedirectDone(w, r, "/admin/groups/"+url.PathEscape(g.ID)+"#members", "member_removed")
	return nil
}
