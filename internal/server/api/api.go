// Package api is the JSON API of DESIGN.md §3 (/api/v1): each handler
// decodes the request into a typed input of package app, calls one use
// case, and encodes the answer. Authorization, validation and audit are
// the use cases'; errors are returned to the server, which writes them as
// the API's error body with the status of one table (package surface).
// The routes are described by one hand-written OpenAPI document
// (openapi.yaml), served at /api/openapi.json.
package api

import (
	"log/slog"
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// Surface serves the JSON API. Create it with New.
type Surface struct {
	app     *app.App
	log     *slog.Logger
	version string
}

// New returns the API over a; version is reported by /healthz.
func New(a *app.App, log *slog.Logger, version string) *Surface {
	if log == nil {
		log = slog.Default()
	}
	return &Surface{app: a, log: log, version: version}
}

// Routes lists every route of the JSON API.
func (s *Surface) Routes() []surface.Route {
	routes := []surface.Route{
		{Method: "GET", Pattern: "/healthz", Public: true, Summary: "Liveness", Handle: s.handleHealthz},
		{Method: "GET", Pattern: "/readyz", Public: true, Summary: "Readiness: database reachable, migrations applied", Handle: s.handleReadyz},
		{Method: "GET", Pattern: "/api/openapi.json", Public: true, Summary: "This OpenAPI document", Handle: s.handleOpenAPI},

		{Method: "POST", Pattern: "/api/v1/session", Public: true, Summary: "Sign in", Handle: s.handleLogin},
		{Method: "DELETE", Pattern: "/api/v1/session", Summary: "Sign out", MFAEnrol: true, Handle: s.handleLogout},
		{Method: "GET", Pattern: "/api/v1/me", Summary: "The caller and the accounts it can act on", MFAEnrol: true, Handle: s.handleMe},

		{Method: "GET", Pattern: "/api/v1/accounts", Summary: "List accounts", Handle: s.handleListAccounts},
		{Method: "GET", Pattern: "/api/v1/accounts/{id}", Summary: "Get an account", Handle: s.handleGetAccount},
		{Method: "PUT", Pattern: "/api/v1/accounts/{id}", Summary: "Create or update an account", Handle: s.handlePutAccount},
		{Method: "PATCH", Pattern: "/api/v1/accounts/{id}", Summary: "Update an account", Handle: s.handlePatchAccount},
		{Method: "DELETE", Pattern: "/api/v1/accounts/{id}", Summary: "Delete an account", Handle: s.handleDeleteAccount},

		{Method: "GET", Pattern: "/api/v1/users", Summary: "List users", Handle: s.handleListUsers},
		{Method: "GET", Pattern: "/api/v1/users/{id}", Summary: "Get a user", Handle: s.handleGetUser},
		{Method: "PUT", Pattern: "/api/v1/users/{id}", Summary: "Create or update a user", Handle: s.handlePutUser},
		{Method: "PATCH", Pattern: "/api/v1/users/{id}", Summary: "Update a user", Handle: s.handlePatchUser},
		{Method: "DELETE", Pattern: "/api/v1/users/{id}", Summary: "Delete a user", Handle: s.handleDeleteUser},
		{Method: "POST", Pattern: "/api/v1/users/{id}/password", Summary: "Set a user's password", Handle: s.handleSetPassword},

		{Method: "GET", Pattern: "/api/v1/groups", Summary: "List groups", Handle: s.handleListGroups},
		{Method: "GET", Pattern: "/api/v1/groups/{id}", Summary: "Get a group", Handle: s.handleGetGroup},
		{Method: "PUT", Pattern: "/api/v1/groups/{id}", Summary: "Create or update a group", Handle: s.handlePutGroup},
		{Method: "DELETE", Pattern: "/api/v1/groups/{id}", Summary: "Delete a group", Handle: s.handleDeleteGroup},
		{Method: "PUT", Pattern: "/api/v1/groups/{id}/members/{user}", Summary: "Add a member", Handle: s.handleAddMember},
		{Method: "DELETE", Pattern: "/api/v1/groups/{id}/members/{user}", Summary: "Remove a member", Handle: s.handleRemoveMember},

		{Method: "POST", Pattern: "/api/v1/grants", Summary: "Create a grant", Handle: s.handleCreateGrant},
		{Method: "GET", Pattern: "/api/v1/grants", Summary: "List grants", Handle: s.handleListGrants},
		{Method: "GET", Pattern: "/api/v1/grants/{id}", Summary: "Get a grant", Handle: s.handleGetGrant},
		{Method: "PATCH", Pattern: "/api/v1/grants/{id}", Summary: "Update a grant", Handle: s.handlePatchGrant},
		{Method: "DELETE", Pattern: "/api/v1/grants/{id}", Summary: "Delete a grant", Handle: s.handleDeleteGrant},

		{Method: "GET", Pattern: "/api/v1/policy", Summary: "The current policy", Handle: s.handleGetPolicy},
		{Method: "PUT", Pattern: "/api/v1/policy", Summary: "Store a new policy version", AcceptYAML: true, Handle: s.handlePutPolicy},
		{Method: "GET", Pattern: "/api/v1/policy/versions", Summary: "Policy history", Handle: s.handlePolicyVersions},

		{Method: "POST", Pattern: "/api/v1/records:batch", Summary: "Bulk upsert and delete records", Handle: s.handleBatch},
		{Method: "GET", Pattern: "/api/v1/records/{type}", Summary: "List visible records", Handle: s.handleListRecords},
		{Method: "POST", Pattern: "/api/v1/records/{type}", Summary: "Create a record as the caller", Handle: s.handleCreateRecord},
		{Method: "GET", Pattern: "/api/v1/records/{type}/{id}", Summary: "Get a record", Handle: s.handleGetRecord},
		{Method: "PUT", Pattern: "/api/v1/records/{type}/{id}", Summary: "Create or replace a record", Handle: s.handlePutRecord},
		{Method: "PATCH", Pattern: "/api/v1/records/{type}/{id}", Summary: "Update a record", Handle: s.handlePatchRecord},
		{Method: "DELETE", Pattern: "/api/v1/records/{type}/{id}", Summary: "Delete a record", Handle: s.handleDeleteRecord},
		{Method: "GET", Pattern: "/api/v1/records/{type}/{id}/viewers", Summary: "Who can read a record, and how", Handle: s.handleViewers},

		{Method: "POST", Pattern: "/api/v1/check", Summary: "May a user do an action on a record?", Handle: s.handleCheck},
		{Method: "POST", Pattern: "/api/v1/check:batch", Summary: "Many checks at once", Handle: s.handleCheckBatch},
		{Method: "GET", Pattern: "/api/v1/explain", Summary: "Why a user may or may not do an action", Handle: s.handleExplain},

		{Method: "POST", Pattern: "/api/v1/tokens", Summary: "Create an API token", Handle: s.handleCreateToken},
		{Method: "GET", Pattern: "/api/v1/tokens", Summary: "List API tokens", Handle: s.handleListTokens},
		{Method: "DELETE", Pattern: "/api/v1/tokens/{id}", Summary: "Revoke an API token", Handle: s.handleDeleteToken},

		{Method: "GET", Pattern: "/api/v1/audit", Summary: "The audit log", Handle: s.handleAudit},
		{Method: "GET", Pattern: "/api/v1/audit/verify", Summary: "Verify the audit hash chain", Handle: s.handleAuditVerify},
	}
	routes = append(routes, s.mailRoutes()...)
	routes = append(routes, s.mfaRoutes()...)
	routes = append(routes, s.interopRoutes()...)
	routes = append(routes, s.memberRoutes()...)
	routes = append(routes, s.auditHeadRoutes()...)
	routes = append(routes, s.conversationRoutes()...)
	routes = append(routes, s.identityProviderRoutes()...)
	routes = append(routes, s.scimTokenRoutes()...)
	routes = append(routes, s.previewRoutes()...)
	routes = append(routes, s.reviewRoutes()...)
	return routes
}

func (s *Surface) handleHealthz(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
	return nil
}

func (s *Surface) handleReadyz(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	if err := s.app.Ready(r.Context()); err != nil {
		s.log.Warn("not ready", "err", err)
		return access.Errorf(access.CodeUnavailable, "database not ready")
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "revision": s.app.Revision()})
	return nil
}

func (s *Surface) handleOpenAPI(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	doc, err := OpenAPIJSON()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(doc)
	return err
}

// noContent answers a write that has nothing to return.
func noContent(w http.ResponseWriter, rev int64) error {
	surface.Revision(w, rev)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// created is 201 when created, else 200.
func created(c bool) int {
	if c {
		return http.StatusCreated
	}
	return http.StatusOK
}
