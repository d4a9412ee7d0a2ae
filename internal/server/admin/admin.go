package admin

import (
	"log/slog"
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// Surface is the admin console. Create it with New; it is safe for
// concurrent use.
type Surface struct {
	app *app.App
	rd  *render.Renderer
	log *slog.Logger
}

// New returns the console over the use cases a, rendering with rd.
func New(a *app.App, rd *render.Renderer, log *slog.Logger) *Surface {
	if log == nil {
		log = slog.Default()
	}
	return &Surface{app: a, rd: rd, log: log}
}

// Routes lists the console's pages (/admin), for staff: every route
// answers 403 to external users, and every POST to auditors, before its
// handler runs. None is public, and none is mounted under view as.
func (s *Surface) Routes() []surface.Route {
	get := func(pattern string, h surface.Handler) surface.Route {
		return surface.Route{Method: http.MethodGet, Pattern: pattern, Handle: staffOnly(h)}
	}
	post := func(pattern string, h surface.Handler) surface.Route {
		return surface.Route{Method: http.MethodPost, Pattern: pattern, Handle: writersOnly(h)}
	}
	routes := []surface.Route{
		get("/admin", s.handleHome),
		get("/admin/{$}", s.handleHome),

		get("/admin/accounts", s.handleAccounts),
		post("/admin/accounts", s.handleCreateAccount),
		get("/admin/accounts/{id}", s.handleAccount),
		post("/admin/accounts/{id}", s.handleUpdateAccount),
		post("/admin/accounts/{id}/external-access", s.handleExternalAccess),
		post("/admin/accounts/{id}/grants", s.handleAddGrant),
		post("/admin/accounts/{id}/grants/{grant}", s.handleEditGrant),
		post("/admin/accounts/{id}/grants/{grant}/remove", s.handleRemoveGrant),

		get("/admin/users", s.handleUsers),
		post("/admin/users", s.handleCreateUser),
		get("/admin/users/{id}", s.handleUser),
		post("/admin/users/{id}", s.handleUpdateUser),
		post("/admin/users/{id}/constraints", s.handleUserConstraints),
		post("/admin/users/{id}/password", s.handleUserPassword),
		post("/admin/users/{id}/mfa/reset", s.handleResetMFA),
		post("/admin/users/{id}/delete", s.handleDeleteUser),

		get("/admin/groups", s.handleGroups),
		post("/admin/groups", s.handleCreateGroup),
		get("/admin/groups/{id}", s.handleGroup),
		post("/admin/groups/{id}", s.handleRenameGroup),
		post("/admin/groups/{id}/members", s.handleAddMember),
		post("/admin/groups/{id}/members/{user}/remove", s.handleRemoveMember),

		get("/admin/policy", s.handlePolicy),
		post("/admin/policy", s.handleSavePolicy),
		get("/admin/policy/versions/{version}", s.handlePolicyVersion),

		get("/admin/records", s.handleRecords),
		get("/admin/records/{type}/{id}", s.handleRecord),

		get("/admin/check", s.handleCheck),
		get("/admin/view-as", s.handleViewAs),

		get("/admin/audit", s.handleAudit),
		get("/admin/audit/verify", s.handleAuditVerify),
	}
	routes = append(routes, s.mailRoutes(get, post)...)
	routes = append(routes, s.talkRoutes(get, post)...)
	routes = append(routes, s.identityProviderRoutes(get, post)...)
	routes = append(routes, s.scimRoutes(get, post)...)
	routes = append(routes, s.pickerRoutes(get)...)
	routes = append(routes, s.reviewRoutes(get, post)...)
	return routes
}

// requireStaff answers 403 to external users: the console is for staff,
// even where a use case would serve an external user its own view.
func requireStaff(c *app.Actor) error {
	if c == nil || !c.Internal() {
		return access.Errorf(access.CodeForbidden, "this endpoint is for staff")
	}
	return nil
}

// requireStaffWriter lets admins and access managers through: every
// console POST starts with it, so an auditor's forged POST is 403.
func requireStaffWriter(c *app.Actor) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	if !c.StaffWriter() {
		return access.Errorf(access.CodeForbidden, "your staff role is read-only: you may not change anything")
	}
	return nil
}

// staffOnly runs h for staff only.
func staffOnly(h surface.Handler) surface.Handler {
	return func(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
		if err := requireStaff(c); err != nil {
			return err
		}
		return h(w, r, c)
	}
}

// writersOnly runs h for staff writers only.
func writersOnly(h surface.Handler) surface.Handler {
	return func(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
		if err := requireStaffWriter(c); err != nil {
			return err
		}
		return h(w, r, c)
	}
}

// roles is part of every console page's data: what the viewer's staff
// role may do, so templates render write forms only for those who may use
// them.
type roles struct {
	// CanWrite: admin or access manager (access data).
	CanWrite bool
	// IsAdmin: the policy editor.
	IsAdmin bool
}

func rolesOf(c *app.Actor) roles { return roles{CanWrite: c.StaffWriter(), IsAdmin: c.Admin()} }

// page is the frame of a console page; active names the navigation entry
// ("accounts", "users", ...).
func page(c *app.Actor, title, active string) *render.Page {
	return &render.Page{Title: title, User: &c.User, Nav: render.AdminNav(active), Errors: map[string]string{}}
}

type homeData struct {
	roles
	PolicyVersion int
	Revision      int64
	Recent        []auditRow
}

// handleHome is the console's overview: what each section is for, the
// policy version in force and the latest audit entries (one small page; no
// counts, which would scan tables).
func (s *Surface) handleHome(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	d := homeData{roles: rolesOf(c), Revision: s.app.Revision()}
	pv, err := s.app.Policy(r.Context(), c)
	if err != nil {
		return err
	}
	d.PolicyVersion = pv.Version
	recent, err := s.app.ListAudit(r.Context(), c, app.AuditFilter{ListParams: app.ListParams{Limit: 8}})
	if err != nil {
		return err
	}
	for _, e := range recent.Items {
		d.Recent = append(d.Recent, s.auditNamed(auditRow{AuditEntry: e}))
	}
	p := page(c, "Console", "")
	p.Data = d
	s.rd.Render(w, r, http.StatusOK, "admin_home", p)
	return nil
}
