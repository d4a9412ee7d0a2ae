package api

import (
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// scimTokenRoutes are the SCIM tokens of identity.md §8 (admin and
// access_manager); the SCIM service provider itself is package scim.
func (s *Surface) scimTokenRoutes() []surface.Route {
	return []surface.Route{
		{Method: "POST", Pattern: "/api/v1/scim-tokens", Summary: "Create a SCIM token", Handle: s.handleCreateSCIMToken},
		{Method: "GET", Pattern: "/api/v1/scim-tokens", Summary: "List SCIM tokens", Handle: s.handleListSCIMTokens},
		{Method: "GET", Pattern: "/api/v1/scim-tokens/{id}", Summary: "Get a SCIM token", Handle: s.handleGetSCIMToken},
		{Method: "DELETE", Pattern: "/api/v1/scim-tokens/{id}", Summary: "Revoke a SCIM token", Handle: s.handleDeleteSCIMToken},
	}
}

type scimTokenCreated struct {
	store.SCIMToken
	Secret string `json:"token"`
}

func (s *Surface) handleCreateSCIMToken(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var req app.SCIMTokenRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	tok, secret, rev, err := s.app.CreateSCIMToken(r.Context(), c, req)
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, http.StatusCreated, scimTokenCreated{SCIMToken: tok, Secret: secret})
	return nil
}

func (s *Surface) handleListSCIMTokens(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return listOrExport(s, w, r, "scim-tokens", app.ListParams{}, whole(func() ([]store.SCIMToken, error) {
		return s.app.ListSCIMTokens(r.Context(), c)
	}))
}

func (s *Surface) handleGetSCIMToken(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	tok, err := s.app.GetSCIMToken(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tok)
	return nil
}

func (s *Surface) handleDeleteSCIMToken(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rev, err := s.app.DeleteSCIMToken(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return noContent(w, rev)
}
