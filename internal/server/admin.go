package server

import "net/http"

// adminRoutes lists the admin console's pages (/admin), for staff.
func (s *Server) adminRoutes() []webRouteDef {
	return []webRouteDef{
		{pattern: "GET /admin", h: s.handleAdminHome},
	}
}

// requireStaffPage lets staff through.
func requireStaffPage(c *caller) error { return requireStaff(c) }

func (s *Server) handleAdminHome(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffPage(c); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "admin_home", &page{Title: "Console", User: &c.user, Nav: adminNav("")})
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
		{Label: "Audit log", Href: "/admin/audit"},
	}
	for i := range items {
		items[i].Current = items[i].Href == "/admin/"+active
	}
	return items
}
