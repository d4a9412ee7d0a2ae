package server

import (
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// apiRoutes lists every route of the JSON API (DESIGN.md §3).
func (s *Server) apiRoutes() []route {
	return []route{
		{Method: "GET", Pattern: "/healthz", Public: true, Summary: "Liveness", handle: s.handleHealthz},
		{Method: "GET", Pattern: "/readyz", Public: true, Summary: "Readiness: database reachable, migrations applied", handle: s.handleReadyz},
		{Method: "GET", Pattern: "/api/openapi.json", Public: true, Summary: "This OpenAPI document", handle: s.handleOpenAPI},

		{Method: "POST", Pattern: "/api/v1/session", Public: true, Summary: "Sign in", handle: s.handleLogin},
		{Method: "DELETE", Pattern: "/api/v1/session", Summary: "Sign out", handle: s.handleLogout},
		{Method: "GET", Pattern: "/api/v1/me", Summary: "The caller and the accounts it can act on", handle: s.handleMe},

		{Method: "GET", Pattern: "/api/v1/accounts", Summary: "List accounts", handle: s.handleListAccounts},
		{Method: "GET", Pattern: "/api/v1/accounts/{id}", Summary: "Get an account", handle: s.handleGetAccount},
		{Method: "PUT", Pattern: "/api/v1/accounts/{id}", Summary: "Create or update an account", handle: s.handlePutAccount},
		{Method: "PATCH", Pattern: "/api/v1/accounts/{id}", Summary: "Update an account", handle: s.handlePatchAccount},
		{Method: "DELETE", Pattern: "/api/v1/accounts/{id}", Summary: "Delete an account", handle: s.handleDeleteAccount},

		{Method: "GET", Pattern: "/api/v1/users", Summary: "List users", handle: s.handleListUsers},
		{Method: "GET", Pattern: "/api/v1/users/{id}", Summary: "Get a user", handle: s.handleGetUser},
		{Method: "PUT", Pattern: "/api/v1/users/{id}", Summary: "Create or update a user", handle: s.handlePutUser},
		{Method: "PATCH", Pattern: "/api/v1/users/{id}", Summary: "Update a user", handle: s.handlePatchUser},
		{Method: "DELETE", Pattern: "/api/v1/users/{id}", Summary: "Delete a user", handle: s.handleDeleteUser},
		{Method: "POST", Pattern: "/api/v1/users/{id}/password", Summary: "Set a user's password", handle: s.handleSetPassword},

		{Method: "GET", Pattern: "/api/v1/groups", Summary: "List groups", handle: s.handleListGroups},
		{Method: "GET", Pattern: "/api/v1/groups/{id}", Summary: "Get a group", handle: s.handleGetGroup},
		{Method: "PUT", Pattern: "/api/v1/groups/{id}", Summary: "Create or update a group", handle: s.handlePutGroup},
		{Method: "DELETE", Pattern: "/api/v1/groups/{id}", Summary: "Delete a group", handle: s.handleDeleteGroup},
		{Method: "PUT", Pattern: "/api/v1/groups/{id}/members/{user}", Summary: "Add a member", handle: s.handleAddMember},
		{Method: "DELETE", Pattern: "/api/v1/groups/{id}/members/{user}", Summary: "Remove a member", handle: s.handleRemoveMember},

		{Method: "POST", Pattern: "/api/v1/grants", Summary: "Create a grant", handle: s.handleCreateGrant},
		{Method: "GET", Pattern: "/api/v1/grants", Summary: "List grants", handle: s.handleListGrants},
		{Method: "GET", Pattern: "/api/v1/grants/{id}", Summary: "Get a grant", handle: s.handleGetGrant},
		{Method: "PATCH", Pattern: "/api/v1/grants/{id}", Summary: "Update a grant", handle: s.handlePatchGrant},
		{Method: "DELETE", Pattern: "/api/v1/grants/{id}", Summary: "Delete a grant", handle: s.handleDeleteGrant},

		{Method: "GET", Pattern: "/api/v1/policy", Summary: "The current policy", handle: s.handleGetPolicy},
		{Method: "PUT", Pattern: "/api/v1/policy", Summary: "Store a new policy version", handle: s.handlePutPolicy},
		{Method: "GET", Pattern: "/api/v1/policy/versions", Summary: "Policy history", handle: s.handlePolicyVersions},

		{Method: "POST", Pattern: "/api/v1/records:batch", Summary: "Bulk upsert and delete records", handle: s.handleBatch},
		{Method: "GET", Pattern: "/api/v1/records/{type}", Summary: "List visible records", handle: s.handleListRecords},
		{Method: "POST", Pattern: "/api/v1/records/{type}", Summary: "Create a record as the caller", handle: s.handleCreateRecord},
		{Method: "GET", Pattern: "/api/v1/records/{type}/{id}", Summary: "Get a record", handle: s.handleGetRecord},
		{Method: "PUT", Pattern: "/api/v1/records/{type}/{id}", Summary: "Create or replace a record", handle: s.handlePutRecord},
		{Method: "PATCH", Pattern: "/api/v1/records/{type}/{id}", Summary: "Update a record", handle: s.handlePatchRecord},
		{Method: "DELETE", Pattern: "/api/v1/records/{type}/{id}", Summary: "Delete a record", handle: s.handleDeleteRecord},
		{Method: "GET", Pattern: "/api/v1/records/{type}/{id}/viewers", Summary: "Who can read a record, and how", handle: s.handleViewers},

		{Method: "POST", Pattern: "/api/v1/check", Summary: "May a user do an action on a record?", handle: s.handleCheck},
		{Method: "POST", Pattern: "/api/v1/check:batch", Summary: "Many checks at once", handle: s.handleCheckBatch},
		{Method: "GET", Pattern: "/api/v1/explain", Summary: "Why a user may or may not do an action", handle: s.handleExplain},

		{Method: "POST", Pattern: "/api/v1/tokens", Summary: "Create an API token", handle: s.handleCreateToken},
		{Method: "GET", Pattern: "/api/v1/tokens", Summary: "List API tokens", handle: s.handleListTokens},
		{Method: "DELETE", Pattern: "/api/v1/tokens/{id}", Summary: "Revoke an API token", handle: s.handleDeleteToken},

		{Method: "GET", Pattern: "/api/v1/audit", Summary: "The audit log", handle: s.handleAudit},
		{Method: "GET", Pattern: "/api/v1/audit/verify", Summary: "Verify the audit hash chain", handle: s.handleAuditVerify},
	}
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request, _ *caller) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
	return nil
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if err := s.store.Ping(r.Context()); err != nil {
		s.log.Warn("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{errorDetail{Code: access.CodeUnavailable, Message: "database not ready"}})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "revision": s.store.Revision()})
	return nil
}
