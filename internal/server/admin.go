package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The admin console (/admin) is for staff (DESIGN.md §3 "Admin console").
// Its pages are rendered on the server and need no JavaScript. Decisions
// the design leaves open:
//
//   - Roles: admins and access managers change access data; auditors see
//     every page but no write form is rendered for them, and every POST
//     they send is refused with 403. Policy changes are for admins only.
//     External users get the 403 page on every console page.
//   - Every change goes through the same shared functions as the JSON API
//     (saveAccount, createGrant/updateGrant/deleteGrant, saveUser,
//     saveGroup, addMember, putPolicy, storePassword), so the engine's
//     checks (CheckGrant, CheckUser) and the store's audit apply alike.
//   - After a successful POST the console redirects (post/redirect/get)
//     with a ?done=<key> naming a fixed message, so reloading never posts
//     twice and no free text travels in the URL. A failed POST renders
//     the same page again with the error's status, the message in the
//     layout's aria-live region and next to the field it concerns.
//   - Pages load at most one page of anything (accounts, users, grants,
//     audit entries, records: 50 by default, cursor pagination); what is
//     derived (names, tree paths) comes from the engine's memory.
//   - Reads that are not changes stay GET, so auditors can use them: the
//     access checker, the audit log's "Verify chain", and the view-as
//     entry (which writes an audit entry, as an access log would).

// adminRoutes lists the admin console's pages (/admin), for staff.
func (s *Server) adminRoutes() []webRouteDef {
	return []webRouteDef{
		{pattern: "GET /admin", h: s.handleAdminHome},
		{pattern: "GET /admin/{$}", h: s.handleAdminHome},

		{pattern: "GET /admin/accounts", h: s.handleAdminAccounts},
		{pattern: "POST /admin/accounts", h: s.handleAdminCreateAccount},
		{pattern: "GET /admin/accounts/{id}", h: s.handleAdminAccount},
		{pattern: "POST /admin/accounts/{id}", h: s.handleAdminUpdateAccount},
		{pattern: "POST /admin/accounts/{id}/external-access", h: s.handleAdminExternalAccess},
		{pattern: "POST /admin/accounts/{id}/grants", h: s.handleAdminAddGrant},
		{pattern: "POST /admin/accounts/{id}/grants/{grant}", h: s.handleAdminEditGrant},
		{pattern: "POST /admin/accounts/{id}/grants/{grant}/remove", h: s.handleAdminRemoveGrant},

		{pattern: "GET /admin/users", h: s.handleAdminUsers},
		{pattern: "POST /admin/users", h: s.handleAdminCreateUser},
		{pattern: "GET /admin/users/{id}", h: s.handleAdminUser},
		{pattern: "POST /admin/users/{id}", h: s.handleAdminUpdateUser},
		{pattern: "POST /admin/users/{id}/constraints", h: s.handleAdminUserConstraints},
		{pattern: "POST /admin/users/{id}/password", h: s.handleAdminUserPassword},

		{pattern: "GET /admin/groups", h: s.handleAdminGroups},
		{pattern: "POST /admin/groups", h: s.handleAdminCreateGroup},
		{pattern: "GET /admin/groups/{id}", h: s.handleAdminGroup},
		{pattern: "POST /admin/groups/{id}", h: s.handleAdminRenameGroup},
		{pattern: "POST /admin/groups/{id}/members", h: s.handleAdminAddMember},
		{pattern: "POST /admin/groups/{id}/members/{user}/remove", h: s.handleAdminRemoveMember},

		{pattern: "GET /admin/policy", h: s.handleAdminPolicy},
		{pattern: "POST /admin/policy", h: s.handleAdminSavePolicy},
		{pattern: "GET /admin/policy/versions/{version}", h: s.handleAdminPolicyVersion},

		{pattern: "GET /admin/records", h: s.handleAdminRecords},
		{pattern: "GET /admin/records/{type}/{id}", h: s.handleAdminRecord},

		{pattern: "GET /admin/check", h: s.handleAdminCheck},
		{pattern: "GET /admin/view-as", h: s.handleAdminViewAs},

		{pattern: "GET /admin/audit", h: s.handleAdminAudit},
		{pattern: "GET /admin/audit/verify", h: s.handleAdminAuditVerify},
	}
}

// requireStaffWriterPage lets admins and access managers through: every
// console POST starts with it, so an auditor's forged POST is 403.
func requireStaffWriterPage(c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	if !c.staffWriter() {
		return access.Errorf(access.CodeForbidden, "your staff role is read-only: you may not change anything")
	}
	return nil
}

// adminBase is part of every console page's data: what the viewer's staff
// role may do, so templates render write forms only for those who may use
// them.
type adminBase struct {
	// CanWrite: admin or access manager (access data).
	CanWrite bool
	// IsAdmin: the policy editor.
	IsAdmin bool
}

func admBaseOf(c *caller) adminBase { return adminBase{CanWrite: c.staffWriter(), IsAdmin: c.admin()} }

// admPage is the frame of a console page; active names the navigation
// entry ("accounts", "users", ...).
func (s *Server) admPage(r *http.Request, c *caller, title, active string) *page {
	p := &page{Title: title, User: &c.user, Nav: adminNav(active), Errors: map[string]string{}}
	return p
}

// admRedirectDone sends the browser to path with a confirmation.
func admRedirectDone(w http.ResponseWriter, r *http.Request, path, done string) {
	path, frag, hasFrag := strings.Cut(path, "#")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	path += sep + "done=" + url.QueryEscape(done)
	if hasFrag {
		path += "#" + frag
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// fieldHint maps an error message to the form field it concerns: the
// first hint whose text the message contains wins.
type fieldHint struct{ text, field string }

// formError shows a domain error of a form on p: the message in the live
// region and, when a hint matches, next to its field. It returns the
// status to render with; an internal error is returned for the error page.
func formError(p *page, err error, hints ...fieldHint) (int, error) {
	e, ok := err.(*access.Error)
	if !ok || e.Code == access.CodeInternal {
		return 0, err
	}
	p.Error = e.Message
	for _, h := range hints {
		if strings.Contains(e.Message, h.text) {
			p.Errors[h.field] = e.Message
			break
		}
	}
	status := statusOf[e.Code]
	if status == 0 {
		status = http.StatusBadRequest
	}
	return status, nil
}

type admHomeData struct {
	adminBase
	PolicyVersion int
	Revision      int64
	Recent        []store.AuditEntry
}

// handleAdminHome is the console's overview: what each section is for,
// the policy version in force and the latest audit entries (one small
// page; no counts, which would scan tables).
func (s *Server) handleAdminHome(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	d := admHomeData{adminBase: admBaseOf(c), Revision: s.store.Revision()}
	if pv, err := s.store.Policy(r.Context()); err == nil {
		d.PolicyVersion = pv.Version
	} else {
		return err
	}
	recent, _, err := s.store.ListAudit(r.Context(), store.AuditFilter{Limit: 8})
	if err != nil {
		return err
	}
	d.Recent = recent
	p := s.admPage(r, c, "Console", "")
	p.Data = d
	s.render(w, r, http.StatusOK, "admin_home", p)
	return nil
}

// adminNav is the console's navigation.
func adminNav(active string) []navItem {
	items := []navItem{
		{Label: "Accounts", Href: "/admin/accounts"},
		{Label: "Users", Href: "/admin/users"},
		{Label: "Groups", Href: "/admin/groups"},
		{Label: "Policy", Href: "/admin/policy"},
		{Label: "Records", Href: "/admin/records"},
		{Label: "Access checker", Href: "/admin/check"},
		{Label: "View as", Href: "/admin/view-as"},
		{Label: "Audit log", Href: "/admin/audit"},
	}
	for i := range items {
		items[i].Current = items[i].Href == "/admin/"+active
	}
	return items
}
