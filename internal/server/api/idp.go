package api

import (
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Identity providers (identity.md §7): staff read them, admins and access
// managers change them; the client secret is write-only.

func (s *Surface) identityProviderRoutes() []surface.Route {
	return []surface.Route{
		{Method: "GET", Pattern: "/api/v1/identity-providers", Summary: "List identity providers", Handle: s.handleListIdentityProviders},
		{Method: "GET", Pattern: "/api/v1/identity-providers/{id}", Summary: "Get an identity provider", Handle: s.handleGetIdentityProvider},
		{Method: "PUT", Pattern: "/api/v1/identity-providers/{id}", Summary: "Create or update an identity provider", Handle: s.handlePutIdentityProvider},
		{Method: "DELETE", Pattern: "/api/v1/identity-providers/{id}", Summary: "Delete an identity provider", Handle: s.handleDeleteIdentityProvider},
	}
}

func (s *Surface) handleListIdentityProviders(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return listOrExport(s, w, r, "identity-providers", app.ListParams{}, whole(func() ([]store.IdentityProvider, error) {
		return s.app.ListIdentityProviders(r.Context(), c)
	}))
}

func (s *Surface) handleGetIdentityProvider(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	p, err := s.app.GetIdentityProvider(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Surface) handlePutIdentityProvider(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in app.IdentityProviderInput
	if err := decode(r, &in); err != nil {
		return err
	}
	p, isNew, rev, err := s.app.PutIdentityProvider(r.Context(), c, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, created(isNew), p)
	return nil
}

func (s *Surface) handleDeleteIdentityProvider(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rev, err := s.app.DeleteIdentityProvider(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return noContent(w, rev)
}
