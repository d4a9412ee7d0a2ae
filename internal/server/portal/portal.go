package portal

import (
	"log/slog"
	"net/http"
	"net/url"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// Surface is the customer portal. Create it with New; it is safe for
// concurrent use.
type Surface struct {
	app *app.App
	rd  *render.Renderer
	log *slog.Logger
}

// New returns the portal over the use cases a, rendering with rd.
func New(a *app.App, rd *render.Renderer, log *slog.Logger) *Surface {
	if log == nil {
		log = slog.Default()
	}
	return &Surface{app: a, rd: rd, log: log}
}

// Routes lists the portal's pages. The GET pages of an account
// (/a/{account}/...) are ReadOnly: the server mounts them again under
// /admin/view-as/{as} for staff.
func (s *Surface) Routes() []surface.Route {
	routes := []surface.Route{
		{Method: "GET", Pattern: "/login", Public: true, Handle: s.handleLoginPage},
		{Method: "POST", Pattern: "/login", Public: true, Handle: s.handleLoginForm},
		{Method: "POST", Pattern: "/logout", MFAEnrol: true, Handle: s.handleLogout},
		{Method: "GET", Pattern: "/{$}", Handle: s.handleHome},
		{Method: "GET", Pattern: "/switch", Handle: s.handleRootSwitch},
		{Method: "GET", Pattern: "/profile", MFAEnrol: true, Handle: s.handleProfile},
		{Method: "POST", Pattern: "/profile/password", Handle: s.handleProfilePassword},
		{Method: "POST", Pattern: "/profile/locale", MFAEnrol: true, Handle: s.handleProfileLocale},

		{Method: "GET", Pattern: "/a/{account}/{$}", ReadOnly: true, Handle: s.handleAccountHome},
		{Method: "GET", Pattern: "/a/{account}/switch", ReadOnly: true, Handle: s.handleSwitch},
		{Method: "GET", Pattern: "/a/{account}/{type}", ReadOnly: true, Handle: s.handleList},
		{Method: "GET", Pattern: "/a/{account}/{type}/{id}", ReadOnly: true, Handle: s.handleRecord},
		{Method: "GET", Pattern: "/a/{account}/{type}/new", ReadOnly: true, Handle: s.handleNew},
		{Method: "POST", Pattern: "/a/{account}/{type}/new", Handle: s.handleCreate},
		{Method: "GET", Pattern: "/a/{account}/{type}/{id}/edit", ReadOnly: true, Handle: s.handleEdit},
		{Method: "POST", Pattern: "/a/{account}/{type}/{id}/edit", Handle: s.handleUpdate},
		{Method: "GET", Pattern: "/a/{account}/users", ReadOnly: true, Handle: s.handleUsers},
		{Method: "POST", Pattern: "/a/{account}/users/add", Handle: s.handleUsersAdd},
		{Method: "GET", Pattern: "/a/{account}/users/change", ReadOnly: true, Handle: s.handleGrantForm("change")},
		{Method: "POST", Pattern: "/a/{account}/users/change", Handle: s.handleGrantChange},
		{Method: "GET", Pattern: "/a/{account}/users/revoke", ReadOnly: true, Handle: s.handleGrantForm("revoke")},
		{Method: "POST", Pattern: "/a/{account}/users/revoke", Handle: s.handleGrantRevoke},
	}
	routes = append(routes, s.mailRoutes()...)
	routes = append(routes, s.mfaRoutes()...)
	routes = append(routes, s.peopleRoutes()...)
	routes = append(routes, s.talkRoutes()...)
	routes = append(routes, s.reviewRoutes()...)
	return routes
}

// view is who a portal page is for: the signed-in external user, or, for
// staff viewing the portal as someone (the {as} of the view-as mount),
// that user.
type view struct {
	actor    *app.Actor
	subject  access.User
	viewAs   bool
	base     string // URL prefix: "" or /admin/view-as/<user>
	accounts []access.AccountAccess
	current  *access.AccountAccess
	pol      *policy.Policy
	eng      *access.Engine
}

// portal resolves the view of a request whose pattern has {account} (and
// {as} under view as): app.Portal refuses staff without {as} and external
// users with it. An account the subject cannot act on is 404.
func (s *Surface) portal(r *http.Request, c *app.Actor) (*view, error) {
	as := r.PathValue("as")
	pv, err := s.app.Portal(r.Context(), c, as)
	if err != nil {
		return nil, err
	}
	v := s.viewOf(c, pv)
	if pv.ViewAs {
		v.base = "/admin/view-as/" + url.PathEscape(as)
	}
	if id := r.PathValue("account"); id != "" {
		v.current = v.account(id)
		if v.current == nil {
			return nil, access.Errorf(access.CodeNotFound, "no such account")
		}
	}
	return v, nil
}

func (s *Surface) viewOf(c *app.Actor, pv app.PortalView) *view {
	eng := s.app.Engine()
	return &view{actor: c, subject: pv.Subject, viewAs: pv.ViewAs, accounts: pv.Accounts, pol: eng.Policy(), eng: eng}
}

// account returns the reached account id, or nil.
func (v *view) account(id string) *access.AccountAccess {
	for i := range v.accounts {
		if v.accounts[i].ID == id {
			return &v.accounts[i]
		}
	}
	return nil
}

// asUser is the AsUser of app's reads: the subject under view as, else ""
// (the actor itself).
func (v *view) asUser() string {
	if v.viewAs {
		return v.subject.ID
	}
	return ""
}

// page builds the frame of a portal page.
func (v *view) page(title, active string) *render.Page {
	p := &render.Page{Title: title, User: &v.actor.User, Accounts: v.switcher(), Current: v.current, Base: v.base}
	if v.viewAs {
		p.ViewAs = &v.subject
	}
	if v.current == nil {
		return p
	}
	prefix := v.accountURL()
	for _, t := range v.readableTypes() {
		p.Nav = append(p.Nav, render.NavItem{Label: render.TypeTitle(t), Href: prefix + t.Name, Current: active == t.Name, Type: t})
	}
	if v.current.ManageUsers {
		p.Nav = append(p.Nav, render.NavItem{Label: "Company users", Href: prefix + "users", Current: active == "users"})
		if !v.viewAs { // reviews are the admin's own work: no view-as page
			p.Nav = append(p.Nav, render.NavItem{Label: "Access review", Href: prefix + "reviews", Current: active == "reviews"})
		}
	}
	return p
}

// switcher lists the accounts the account switcher offers: the top of each
// reached subtree (an account's page already shows its subtree, so its
// sold-tos and sites would only be noise), plus the current account when a
// deep link opened a sub-account. A user with one company sees no switcher.
func (v *view) switcher() []access.AccountAccess {
	reach := map[string]bool{}
	for _, a := range v.accounts {
		reach[a.ID] = true
	}
	var out []access.AccountAccess
	for _, a := range v.accounts {
		acct, _ := v.eng.Account(a.ID)
		if !reach[acct.Parent] || (v.current != nil && a.ID == v.current.ID) {
			out = append(out, a)
		}
	}
	return out
}

// readableTypes are the object types the current account allows reading,
// in policy order.
func (v *view) readableTypes() []*policy.Type {
	var out []*policy.Type
	for _, t := range v.pol.Types() {
		if acts := v.current.Types[t.Name]; len(acts) > 0 && acts[0] == policy.ActionRead {
			out = append(out, t)
		}
	}
	return out
}

func (v *view) accountURL() string {
	return v.base + "/a/" + url.PathEscape(v.current.ID) + "/"
}

// allows reports whether the current account allows action on typ (what
// the pages offer; app decides every read and write).
func (v *view) allows(typ, action string) bool {
	for _, a := range v.current.Types[typ] {
		if a == action {
			return true
		}
	}
	return false
}

// scope is the set of accounts the current account's pages show: its
// subtree as far as the subject reaches it.
func (v *view) scope() map[string]bool {
	reach := map[string]bool{}
	for _, a := range v.accounts {
		reach[a.ID] = true
	}
	out := map[string]bool{}
	for _, id := range v.eng.Subtree(v.current.ID) {
		if reach[id] {
			out[id] = true
		}
	}
	return out
}

// handleHome sends staff to the console and portal users to their
// preferred account.
func (s *Surface) handleHome(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	if r.URL.Path != "/" {
		return access.Errorf(access.CodeNotFound, "no such page")
	}
	if c.Internal() {
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
		return nil
	}
	accts := s.app.Me(c)
	if len(accts) == 0 {
		s.rd.Render(w, r, http.StatusOK, "noaccess", &render.Page{Title: "No access", User: &c.User})
		return nil
	}
	http.Redirect(w, r, "/a/"+url.PathEscape(app.PreferredAccount(c.User, accts))+"/", http.StatusSeeOther)
	return nil
}

// handleRootSwitch serves the switcher on pages without an account.
func (s *Surface) handleRootSwitch(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	http.Redirect(w, r, "/a/"+url.PathEscape(r.URL.Query().Get("account"))+"/", http.StatusSeeOther)
	return nil
}

// handleSwitch serves the switcher on an account's pages: 404 for an
// account the subject does not reach.
func (s *Surface) handleSwitch(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.portal(r, c)
	if err != nil {
		return err
	}
	to := r.URL.Query().Get("account")
	if v.account(to) == nil {
		return access.Errorf(access.CodeNotFound, "no such account")
	}
	http.Redirect(w, r, v.base+"/a/"+url.PathEscape(to)+"/", http.StatusSeeOther)
	return nil
}

type dashboardData struct {
	Base   string
	Limits app.AccessLimit // the user's own limits on this account
	Home   app.Home
	// Lists link each type to its list; OpenTickets, OpenInvoices and
	// Overdue link the figures to the lists they count.
	Lists                              map[string]string
	OpenTickets, OpenInvoices, Overdue string
}

// handleAccountHome is an account's start page (portal.md §3): per type
// the count of visible records and the newest ones, open tickets, open
// and overdue invoices for billing roles, and the user's own limits.
func (s *Surface) handleAccountHome(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.portal(r, c)
	if err != nil {
		return err
	}
	limits, err := s.app.AccessLimits(r.Context(), c, v.asUser(), v.current.ID)
	if err != nil {
		return err
	}
	home, err := s.app.PortalHome(r.Context(), c, v.asUser(), v.current.ID)
	if err != nil {
		return err
	}
	d := dashboardData{Base: v.accountURL(), Limits: limits, Home: home, Lists: map[string]string{}}
	for _, ht := range home.Types {
		d.Lists[ht.Type.Name] = v.accountURL() + url.PathEscape(ht.Type.Name)
	}
	status := func(typ string, extra url.Values) string {
		q := url.Values{}
		for _, st := range app.OpenStatuses(v.pol.Type(typ)) {
			q.Add("attr.status", st)
		}
		for k, vs := range extra {
			q[k] = vs
		}
		return d.Lists[typ] + "?" + q.Encode()
	}
	if home.OpenTickets != nil {
		d.OpenTickets = status("ticket", nil)
	}
	if home.OpenInvoices != nil {
		d.OpenInvoices = status("invoice", nil)
		d.Overdue = status("invoice", url.Values{"attr.due_date.to": {home.OverdueUntil}})
	}
	p := v.page(v.current.Name, "")
	p.Data = d
	s.rd.Render(w, r, http.StatusOK, "portal_home", p)
	return nil
}

// accountNames maps the accounts the subject reaches to their names.
func (v *view) accountNames() map[string]string {
	out := make(map[string]string, len(v.accounts))
	for _, a := range v.accounts {
		out[a.ID] = a.Name
	}
	return out
}
