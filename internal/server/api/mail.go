package api

import (
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Mail, invitations and password reset (identity.md §1-§3). Who may do
// what is documented on the use cases of package app.

func (s *Surface) mailRoutes() []surface.Route {
	return []surface.Route{
		{Method: "POST", Pattern: "/api/v1/invitations", Summary: "Invite a user", Handle: s.handleInvite},
		{Method: "GET", Pattern: "/api/v1/invitations", Summary: "List invitations", Handle: s.handleListInvitations},
		{Method: "POST", Pattern: "/api/v1/invitations:batch", Summary: "Invite many users, all or nothing", Handle: s.handleInviteBatch},
		{Method: "POST", Pattern: "/api/v1/invitations/accept", Public: true, Summary: "Accept an invitation and sign in", Handle: s.handleAcceptInvitation},
		{Method: "POST", Pattern: "/api/v1/invitations/{id}/resend", Summary: "Send an invitation again with a new link", Handle: s.handleResendInvitation},
		{Method: "DELETE", Pattern: "/api/v1/invitations/{id}", Summary: "Revoke an invitation", Handle: s.handleRevokeInvitation},

		{Method: "POST", Pattern: "/api/v1/password-reset", Public: true, Summary: "Ask for a password reset link", Handle: s.handleRequestReset},
		{Method: "POST", Pattern: "/api/v1/password-reset/{token}", Public: true, Summary: "Set a new password with a reset link", Handle: s.handleReset},
		{Method: "POST", Pattern: "/api/v1/users/{id}/password-reset", Summary: "Send a user a password reset link", Handle: s.handleSendReset},

		{Method: "GET", Pattern: "/api/v1/outbox", Summary: "Outgoing mail", Handle: s.handleOutbox},
	}
}

func (s *Surface) handleInvite(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in app.InvitationRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	inv, rev, err := s.app.Invite(r.Context(), c, in)
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, http.StatusCreated, inv)
	return nil
}

func (s *Surface) handleInviteBatch(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in struct {
		Invitations []app.InvitationRequest `json:"invitations"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	invs, rev, err := s.app.InviteBatch(r.Context(), c, in.Invitations)
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, http.StatusCreated, newList(invs, ""))
	return nil
}

func (s *Surface) handleListInvitations(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	q := r.URL.Query()
	lp, err := app.ParseListParams(q)
	if err != nil {
		return err
	}
	return listOrExport(s, w, r, "invitations", lp, func(lp app.ListParams) (app.Page[store.Invitation], error) {
		return s.app.ListInvitations(r.Context(), c, app.InvitationFilter{Account: q.Get("account"), Status: q.Get("status"),
			User: q.Get("user"), ListParams: lp})
	})
}

func (s *Surface) handleResendInvitation(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	inv, rev, err := s.app.ResendInvitation(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, http.StatusOK, inv)
	return nil
}

func (s *Surface) handleRevokeInvitation(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rev, err := s.app.RevokeInvitation(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return noContent(w, rev)
}

// handleAcceptInvitation accepts an invitation and signs its user in
// (a new session, like POST /api/v1/session).
func (s *Surface) handleAcceptInvitation(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	var in app.AcceptInvitation
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := s.app.AcceptInvitation(r.Context(), in)
	if err != nil {
		return err
	}
	if err := surface.BeginSession(w, r, s.app, u); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": u})
	return nil
}

func (s *Surface) handleRequestReset(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.app.RequestPasswordReset(r.Context(), in.Email, surface.ClientIP(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, struct{}{})
	return nil
}

func (s *Surface) handleReset(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	var in struct {
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	rev, err := s.app.ResetPassword(r.Context(), r.PathValue("token"), in.Password)
	if err != nil {
		return err
	}
	return noContent(w, rev)
}

func (s *Surface) handleSendReset(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rev, err := s.app.SendPasswordReset(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, http.StatusAccepted, struct{}{})
	return nil
}

func (s *Surface) handleOutbox(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	q := r.URL.Query()
	lp, err := app.ParseListParams(q)
	if err != nil {
		return err
	}
	return listOrExport(s, w, r, "outbox", lp, func(lp app.ListParams) (app.Page[app.OutboxItem], error) {
		return s.app.ListOutbox(r.Context(), c, app.OutboxFilter{Status: q.Get("status"), ListParams: lp})
	})
}
