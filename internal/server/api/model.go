package api

import (
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Accounts, users, groups, grants, policy: the access model. Who may do
// what is documented on the use cases of package app.

func (s *Surface) handleListAccounts(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	q := r.URL.Query()
	lp, err := app.ParseListParams(q)
	if err != nil {
		return err
	}
	f := app.AccountFilter{Query: q.Get("q"), ListParams: lp}
	if q.Has("parent") {
		p := q.Get("parent")
		f.Parent = &p
	}
	return listOrExport(s, w, r, "accounts", lp, func(lp app.ListParams) (app.Page[access.Account], error) {
		f.ListParams = lp
		return s.app.ListAccounts(r.Context(), c, f)
	})
}

func (s *Surface) handleGetAccount(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	a, err := s.app.GetAccount(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Surface) putAccount(w http.ResponseWriter, r *http.Request, c *app.Actor, create bool) error {
	var in app.AccountUpdate
	if err := decode(r, &in); err != nil {
		return err
	}
	a, isNew, rev, err := s.app.PutAccount(r.Context(), c, r.PathValue("id"), in, create)
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, created(isNew), a)
	return nil
}

func (s *Surface) handlePutAccount(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return s.putAccount(w, r, c, true)
}

func (s *Surface) handlePatchAccount(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return s.putAccount(w, r, c, false)
}

func (s *Surface) handleDeleteAccount(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rev, err := s.app.DeleteAccount(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return noContent(w, rev)
}

func (s *Surface) handleListUsers(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	q := r.URL.Query()
	lp, err := app.ParseListParams(q)
	if err != nil {
		return err
	}
	return listOrExport(s, w, r, "users", lp, func(lp app.ListParams) (app.Page[access.User], error) {
		return s.app.ListUsers(r.Context(), c, app.UserFilter{Kind: q.Get("kind"), Query: q.Get("q"), HomeAccount: q.Get("home_account"), ListParams: lp})
	})
}

func (s *Surface) handleGetUser(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	u, err := s.app.GetUser(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Surface) putUser(w http.ResponseWriter, r *http.Request, c *app.Actor, create bool) error {
	var in app.UserUpdate
	if err := decode(r, &in); err != nil {
		return err
	}
	in.IP = surface.ClientIP(r)
	u, isNew, rev, err := s.app.PutUser(r.Context(), c, r.PathValue("id"), in, create)
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, created(isNew), u)
	return nil
}

func (s *Surface) handlePutUser(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return s.putUser(w, r, c, true)
}

func (s *Surface) handlePatchUser(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return s.putUser(w, r, c, false)
}

func (s *Surface) handleDeleteUser(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rev, err := s.app.DeleteUser(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return noContent(w, rev)
}

func (s *Surface) handleSetPassword(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in app.PasswordChange
	if err := decode(r, &in); err != nil {
		return err
	}
	in.IP = surface.ClientIP(r)
	rev, err := s.app.SetPassword(r.Context(), c, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return noContent(w, rev)
}

func (s *Surface) handleListGroups(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	lp, err := app.ParseListParams(r.URL.Query())
	if err != nil {
		return err
	}
	return listOrExport(s, w, r, "groups", lp, func(lp app.ListParams) (app.Page[store.GroupWithMembers], error) {
		return s.app.ListGroups(r.Context(), c, app.GroupFilter{Account: r.URL.Query().Get("account"), ListParams: lp})
	})
}

func (s *Surface) handleGetGroup(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	g, err := s.app.GetGroup(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (s *Surface) handlePutGroup(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in app.GroupUpdate
	if err := decode(r, &in); err != nil {
		return err
	}
	g, isNew, rev, err := s.app.PutGroup(r.Context(), c, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, created(isNew), g)
	return nil
}

func (s *Surface) handleDeleteGroup(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rev, err := s.app.DeleteGroup(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return noContent(w, rev)
}

func (s *Surface) handleAddMember(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	g, rev, err := s.app.AddMember(r.Context(), c, r.PathValue("id"), r.PathValue("user"))
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (s *Surface) handleRemoveMember(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rev, err := s.app.RemoveMember(r.Context(), c, r.PathValue("id"), r.PathValue("user"))
	if err != nil {
		return err
	}
	return noContent(w, rev)
}

func (s *Surface) handleCreateGrant(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in app.GrantUpdate
	if err := decode(r, &in); err != nil {
		return err
	}
	g, rev, err := s.app.CreateGrant(r.Context(), c, in)
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, http.StatusCreated, g)
	return nil
}

func (s *Surface) handleListGrants(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	q := r.URL.Query()
	lp, err := app.ParseListParams(q)
	if err != nil {
		return err
	}
	return listOrExport(s, w, r, "grants", lp, func(lp app.ListParams) (app.Page[access.Grant], error) {
		return s.app.ListGrants(r.Context(), c, app.GrantFilter{Account: q.Get("account"), Principal: q.Get("principal"), ListParams: lp})
	})
}

func (s *Surface) handleGetGrant(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	g, err := s.app.GetGrant(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (s *Surface) handlePatchGrant(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in app.GrantUpdate
	if err := decode(r, &in); err != nil {
		return err
	}
	g, rev, err := s.app.UpdateGrant(r.Context(), c, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (s *Surface) handleDeleteGrant(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rev, err := s.app.DeleteGrant(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return noContent(w, rev)
}

// policyResponse is a policy version with its parsed document, for
// clients that want structure.
type policyResponse struct {
	store.PolicyVersion
	Document any `json:"document"`
}

func (s *Surface) handleGetPolicy(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	pv, err := s.app.Policy(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, policyResponse{PolicyVersion: pv, Document: pv.Policy.Document()})
	return nil
}

func (s *Surface) handlePutPolicy(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	src, err := readAll(r)
	if err != nil {
		return err
	}
	pv, rev, err := s.app.PutPolicy(r.Context(), c, src)
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, http.StatusOK, policyResponse{PolicyVersion: pv, Document: pv.Policy.Document()})
	return nil
}

func (s *Surface) handlePolicyVersions(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return listOrExport(s, w, r, "policy-versions", app.ListParams{}, whole(func() ([]store.PolicyVersion, error) {
		return s.app.PolicyVersions(r.Context(), c)
	}))
}

// meResponse is GET /api/v1/me (DESIGN.md §5.13).
type meResponse struct {
	User     access.User            `json:"user"`
	Accounts []access.AccountAccess `json:"accounts"`
}

func (s *Surface) handleMe(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	writeJSON(w, http.StatusOK, meResponse{User: c.User, Accounts: s.app.Me(c)})
	return nil
}
