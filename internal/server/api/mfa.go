package api

import (
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// Multi-factor authentication (identity.md §6): the second sign-in step,
// the caller's own TOTP enrolment, and staff's view and reset of a user's.

func (s *Surface) mfaRoutes() []surface.Route {
	return []surface.Route{
		{Method: "POST", Pattern: "/api/v1/session/mfa", Public: true, Summary: "Sign in, second step: a TOTP or recovery code", Handle: s.handleLoginMFA},
		{Method: "GET", Pattern: "/api/v1/me/mfa", Summary: "The caller's multi-factor authentication", MFAEnrol: true, Handle: s.handleMyMFA},
		{Method: "POST", Pattern: "/api/v1/me/mfa/totp", Summary: "Start a TOTP enrolment", MFAEnrol: true, Handle: s.handleStartTOTP},
		{Method: "POST", Pattern: "/api/v1/me/mfa/totp/confirm", Summary: "Turn TOTP on with its first code", MFAEnrol: true, Handle: s.handleConfirmTOTP},
		{Method: "DELETE", Pattern: "/api/v1/me/mfa", Summary: "Turn multi-factor authentication off", Handle: s.handleDisableMFA},
		{Method: "GET", Pattern: "/api/v1/users/{id}/mfa", Summary: "A user's multi-factor authentication (staff)", Handle: s.handleUserMFA},
		{Method: "DELETE", Pattern: "/api/v1/users/{id}/mfa", Summary: "Reset a user's multi-factor authentication (staff)", Handle: s.handleResetMFA},
	}
}

// writeSignIn answers a sign-in step: 200 with the mfa_token when a second
// factor is due, else 201 with the user (and mfa_enrolment_required for a
// session restricted to enrolment).
func writeSignIn(w http.ResponseWriter, res app.SignInResult) {
	if res.MFAToken != "" {
		writeJSON(w, http.StatusOK, map[string]any{"mfa_required": true, "mfa_token": res.MFAToken})
		return
	}
	body := map[string]any{"user": res.User}
	if res.MFAEnrol {
		body["mfa_enrolment_required"] = true
	}
	writeJSON(w, http.StatusCreated, body)
}

func (s *Surface) handleLoginMFA(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	var req app.MFASignIn
	if err := decode(r, &req); err != nil {
		return err
	}
	res, err := surface.SignInMFA(w, r, s.app, req)
	if err != nil {
		return err
	}
	writeSignIn(w, res)
	return nil
}

func (s *Surface) handleMyMFA(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	st, err := s.app.GetMFAStatus(r.Context(), c, c.ID())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Surface) handleStartTOTP(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	e, err := s.app.StartTOTP(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}

// handleConfirmTOTP turns TOTP on and answers the recovery codes, this
// once; a session restricted to enrolment is replaced by a full one.
func (s *Surface) handleConfirmTOTP(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var req app.TOTPConfirm
	if err := decode(r, &req); err != nil {
		return err
	}
	req.IP = surface.ClientIP(r)
	res, err := s.app.ConfirmTOTP(r.Context(), c, req)
	if err != nil {
		return err
	}
	surface.ReplaceSession(w, r, res.Session)
	surface.Revision(w, res.Revision)
	writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": res.RecoveryCodes})
	return nil
}

func (s *Surface) handleDisableMFA(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var req app.MFADisable
	if err := decode(r, &req); err != nil {
		return err
	}
	req.IP = surface.ClientIP(r)
	rev, err := s.app.DisableMFA(r.Context(), c, req)
	if err != nil {
		return err
	}
	return noContent(w, rev)
}

func (s *Surface) handleUserMFA(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	st, err := s.app.GetMFAStatus(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Surface) handleResetMFA(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rev, err := s.app.ResetMFA(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return noContent(w, rev)
}
