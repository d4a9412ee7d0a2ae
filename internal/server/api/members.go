package api

import (
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// memberRoutes are the memberships of account groups (acct:<id>), which
// customer admins change too (identity.md §5): the answer is 204 without
// the group, whose other members may lie outside the caller's reach.
func (s *Surface) memberRoutes() []surface.Route {
	return []surface.Route{
		{Method: "PUT", Pattern: "/api/v1/accounts/{id}/members/{user}", Summary: "Add a user to the account's group", Handle: s.handleAddAccountMember},
		{Method: "DELETE", Pattern: "/api/v1/accounts/{id}/members/{user}", Summary: "Remove a user from the account's group", Handle: s.handleRemoveAccountMember},
	}
}

func (s *Surface) handleAddAccountMember(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rev, err := s.app.AddAccountGroupMember(r.Context(), c, app.MemberChange{Account: r.PathValue("id"), User: r.PathValue("user")})
	if err != nil {
		return err
	}
	return noContent(w, rev)
}

func (s *Surface) handleRemoveAccountMember(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rev, err := s.app.RemoveAccountGroupMember(r.Context(), c, app.MemberChange{Account: r.PathValue("id"), User: r.PathValue("user")})
	if err != nil {
		return err
	}
	return noContent(w, rev)
}
