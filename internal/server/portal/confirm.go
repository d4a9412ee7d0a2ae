package portal

import (
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
)

// Confirmations of Company users (governance.md §1): giving or changing a
// colleague's access, adding or removing it from an account group and
// changing its status post once to see a one-line summary per person of
// what it would gain or lose, and again with confirm=yes to save. The
// revoke page shows the same summary above its tick box.

// preview is the impact of changes as the portal summarises it: one line
// per person, no record links.
func (s *Surface) preview(r *http.Request, c *app.Actor, changes ...app.PreviewChange) (render.Impact, error) {
	return render.PreviewImpact(r.Context(), s.app, c, s.log, s.rd.Locale(nil, r, &c.User), changes, render.ImpactOptions{Brief: true})
}

// renderConfirm shows a change's confirmation in the portal's frame; its
// form posts the request's values again with confirm=yes.
func (s *Surface) renderConfirm(w http.ResponseWriter, r *http.Request, c *app.Actor, v *view, cf render.Confirm) error {
	cf.Values = render.Resubmit(r.PostForm)
	if cf.Button == "" {
		cf.Button = s.rd.T(r, &c.User, "Save")
	}
	if cf.Cancel == "" {
		cf.Cancel = v.accountURL() + "users"
	}
	p := companyPage(v)
	p.Data = cf
	s.rd.Render(w, r, http.StatusOK, "confirm_change", p)
	return nil
}

// userName is a user's name for a confirmation, else its id.
func (s *Surface) userName(id string) string {
	if u, ok := s.app.Engine().User(id); ok && u.Name != "" {
		return u.Name
	}
	return id
}
