package server

import (
	"context"
	"io"
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The policy is read by staff and changed by admins only (access managers
// manage access data, not the policy); external users get 403.

type policyResponse struct {
	store.PolicyVersion
	// Document is the parsed policy, for clients that want structure.
	Document any `json:"document"`
}

func (s *Server) handleGetPolicy(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	pv, err := s.store.Policy(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, policyResponse{PolicyVersion: pv, Document: pv.Policy.Document()})
	return nil
}

// handlePutPolicy stores a new version from a JSON or YAML body; the store
// validates it and refuses changes that would orphan grants.
func (s *Server) handlePutPolicy(w http.ResponseWriter, r *http.Request, c *caller) error {
	if !c.admin() {
		return access.Errorf(access.CodeForbidden, "only admins change the policy")
	}
	src, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err)
	}
	pv, rev, err := s.putPolicy(r.Context(), c, src)
	if err != nil {
		return err
	}
	setRevision(w, rev)
	writeJSON(w, http.StatusOK, policyResponse{PolicyVersion: pv, Document: pv.Policy.Document()})
	return nil
}

// putPolicy stores a new policy version as an admin; the store validates
// it and refuses changes that would orphan grants or unprotect a role.
// Shared by the API and the console's policy editor.
func (s *Server) putPolicy(ctx context.Context, c *caller, src []byte) (store.PolicyVersion, int64, error) {
	if !c.admin() {
		return store.PolicyVersion{}, 0, access.Errorf(access.CodeForbidden, "only admins change the policy")
	}
	return s.store.PutPolicy(ctx, c.user.ID, src)
}

func (s *Server) handlePolicyVersions(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	vs, err := s.store.PolicyVersions(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(vs, ""))
	return nil
}
