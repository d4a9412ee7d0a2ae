package admin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
)

// Confirmations of the console's access changes (governance.md §1): the
// External Access panel, the external-access switch, inherit and parent,
// group membership, user status and the policy editor post once to see
// the change's impact (render.Confirm) and again with confirm=yes to save.

// preview is the impact of changes for the console: users link to their
// page, sample records to theirs.
func (s *Surface) preview(r *http.Request, c *app.Actor, changes ...app.PreviewChange) (render.Impact, error) {
	return render.PreviewImpact(r.Context(), s.app, c, s.log, s.rd.Locale(nil, r, &c.User), changes, render.ImpactOptions{
		UserURL:   func(id string) string { return "/admin/users/" + url.PathEscape(id) },
		RecordURL: func(typ, id string) string { return "/admin/records/" + url.PathEscape(typ) + "/" + url.PathEscape(id) },
	})
}

// renderConfirm shows a change's confirmation in the console's frame; the
// form posts the request's values again with confirm=yes to action.
func (s *Surface) renderConfirm(w http.ResponseWriter, r *http.Request, c *app.Actor, title, active string, cf render.Confirm) error {
	if cf.Values == nil {
		cf.Values = render.Resubmit(r.PostForm)
	}
	if cf.Button == "" {
		cf.Button = s.rd.T(r, &c.User, "Save")
	}
	p := page(c, title, active)
	p.Data = cf
	s.rd.Render(w, r, http.StatusOK, "confirm_change", p)
	return nil
}

// principalName names a grant principal: the user's or group's name, else
// the principal itself.
func (s *Surface) principalName(principal string) string {
	eng := s.app.Engine()
	kind, id, _ := strings.Cut(principal, ":")
	switch kind {
	case "user":
		if u, ok := eng.User(id); ok && u.Name != "" {
			return u.Name
		}
	case "group":
		if g, ok := eng.Group(id); ok && g.Name != "" {
			return g.Name
		}
	}
	return principal
}

// accountName is an account's name with its id ("Acme (C-ACME)").
func accountName(a access.Account) string {
	if a.Name == "" || a.Name == a.ID {
		return a.ID
	}
	return a.Name + " (" + a.ID + ")"
}

// accountLabel names the account id for a confirmation; "" is the top
// level.
func (s *Surface) accountLabel(r *http.Request, c *app.Actor, id string) string {
	if id == "" {
		return s.rd.T(r, &c.User, "the top level")
	}
	if a, ok := s.app.Engine().Account(id); ok {
		return accountName(a)
	}
	return id
}

// defaultRoleTitle is the title of the role of an account group's grant.
func (s *Surface) defaultRoleTitle(r *http.Request, c *app.Actor) string {
	if role := s.app.Engine().Policy().DefaultGroupRole; role != nil {
		return s.rd.RoleTitle(r, &c.User, role.Name)
	}
	return ""
}
