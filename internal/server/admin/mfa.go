package admin

import (
	"net/http"
	"net/url"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
)

// Two-factor authentication on a user's page: its status, and the reset
// staff writers may do for a user who lost its device (app.ResetMFA,
// audited mfa.reset).

// mfaStatus is the user's MFA status for the page; a failure to read it
// is logged and shows "off".
func (s *Surface) mfaStatus(r *http.Request, c *app.Actor, id string) app.MFAStatus {
	st, err := s.app.GetMFAStatus(r.Context(), c, id)
	if err != nil {
		s.log.Warn("mfa status", "user", id, "err", err)
	}
	return st
}

func (s *Surface) handleResetMFA(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	id := r.PathValue("id")
	if _, err := s.app.ResetMFA(r.Context(), c, id); err != nil {
		return err
	}
	render.RedirectDone(w, r, "/admin/users/"+url.PathEscape(id), "mfa_reset")
	return nil
}
