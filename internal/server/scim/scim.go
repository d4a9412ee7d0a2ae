// Package scim is Portcullis' SCIM 2.0 service provider (RFC 7643, RFC
// 7644) under /scim/v2, the surface through which a customer's identity
// provider (Microsoft Entra ID, Okta, ...) provisions that customer's
// people (identity.md §8). It maps SCIM onto the use cases of package app
// (scim.go there), which decide what a SCIM token may see and change:
//
//   - authentication is "Authorization: Bearer <SCIM token>" only (API
//     tokens and sessions are refused); the discovery endpoints
//     (ServiceProviderConfig, ResourceTypes, Schemas) are public;
//   - a User is a Portcullis external user: id, userName (the email,
//     emails[0].value mirrors it), displayName (name.formatted too),
//     externalId, active, locale, groups (read-only) and the enterprise
//     extension's organization, the id of the user's home account in the
//     token's subtree (the token's account when absent);
//   - a Group is a Portcullis group on the token's account: id,
//     displayName, externalId, members (user ids);
//   - lists take filter (eq, ne, co, sw, ew, pr, gt, ge, lt, le, and, or,
//     not, value paths such as emails[value eq "x"]) on userName,
//     emails.value, externalId, displayName, active, id (Users) and
//     displayName, externalId, id, members.value (Groups), startIndex and
//     count (default and at most MaxResults); no sorting, no ETags, no bulk;
//   - PATCH takes add, replace and remove, with any case of op, string
//     booleans ("False") and a replace without path whose value is an
//     object of attributes, as Entra ID and Okta send them;
//   - errors are the SCIM error schema with status and, where RFC 7644
//     §3.12 defines one, scimType; bodies are application/scim+json.
package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// Prefix is the base path of the SCIM service provider: the "Tenant URL"
// (Entra ID) or "SCIM connector base URL" (Okta) is the public URL and
// Prefix.
const Prefix = "/scim/v2"

// MaxResults is the largest page of a list, and the page when the request
// names no count.
const MaxResults = 500

// Schema URNs of RFC 7643 and RFC 7644.
const (
	SchemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaList       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	schemaError      = "urn:ietf:params:scim:api:messages:2.0:Error"
	schemaPatch      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	schemaSPC        = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	schemaRT         = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	schemaSchema     = "urn:ietf:params:scim:schemas:core:2.0:Schema"
)

// ContentType is the media type of every SCIM body.
const ContentType = "application/scim+json"

// Surface serves SCIM over one app.
type Surface struct {
	app       *app.App
	log       *slog.Logger
	publicURL string
}

// New returns the surface; publicURL (--public-url) is the base of the
// meta.location of resources, else each request's scheme and Host.
func New(a *app.App, log *slog.Logger, publicURL string) *Surface {
	return &Surface{app: a, log: log, publicURL: strings.TrimRight(publicURL, "/")}
}

// Routes lists the surface's routes, with SCIM authentication and errors.
func (s *Surface) Routes() []surface.Route {
	rts := []surface.Route{
		{Method: "GET", Pattern: Prefix + "/ServiceProviderConfig", Public: true, Summary: "SCIM service provider configuration", Handle: s.handleSPC},
		{Method: "GET", Pattern: Prefix + "/ResourceTypes", Public: true, Summary: "SCIM resource types", Handle: s.handleResourceTypes},
		{Method: "GET", Pattern: Prefix + "/Schemas", Public: true, Summary: "SCIM schemas", Handle: s.handleSchemas},

		{Method: "GET", Pattern: Prefix + "/Users", Summary: "SCIM: list users", Handle: s.handleListUsers},
		{Method: "POST", Pattern: Prefix + "/Users", Summary: "SCIM: create a user", Handle: s.handleCreateUser},
		{Method: "GET", Pattern: Prefix + "/Users/{id}", Summary: "SCIM: get a user", Handle: s.handleGetUser},
		{Method: "PUT", Pattern: Prefix + "/Users/{id}", Summary: "SCIM: replace a user", Handle: s.handleReplaceUser},
		{Method: "PATCH", Pattern: Prefix + "/Users/{id}", Summary: "SCIM: patch a user", Handle: s.handlePatchUser},
		{Method: "DELETE", Pattern: Prefix + "/Users/{id}", Summary: "SCIM: delete a user", Handle: handleDelete(s.app.DeleteSCIMUser)},

		{Method: "GET", Pattern: Prefix + "/Groups", Summary: "SCIM: list groups", Handle: s.handleListGroups},
		{Method: "POST", Pattern: Prefix + "/Groups", Summary: "SCIM: create a group", Handle: s.handleCreateGroup},
		{Method: "GET", Pattern: Prefix + "/Groups/{id}", Summary: "SCIM: get a group", Handle: s.handleGetGroup},
		{Method: "PUT", Pattern: Prefix + "/Groups/{id}", Summary: "SCIM: replace a group", Handle: s.handleReplaceGroup},
		{Method: "PATCH", Pattern: Prefix + "/Groups/{id}", Summary: "SCIM: patch a group", Handle: s.handlePatchGroup},
		{Method: "DELETE", Pattern: Prefix + "/Groups/{id}", Summary: "SCIM: delete a group", Handle: handleDelete(s.app.DeleteSCIMGroup)},
	}
	for i := range rts {
		rts[i].WriteError = s.WriteError
		rts[i].AcceptSCIM = true
		rts[i].Authenticate = s.authenticate
	}
	return rts
}

// authenticate accepts SCIM tokens only.
func (s *Surface) authenticate(r *http.Request) (*app.Actor, error) {
	secret, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return s.app.AuthenticateSCIM(r.Context(), strings.TrimSpace(secret))
}

// Error is a SCIM error with its scimType (RFC 7644 §3.12).
type Error struct {
	Status   int
	SCIMType string
	Detail   string
}

func (e *Error) Error() string { return e.Detail }

func badRequest(scimType, format string, args ...any) error {
	return &Error{Status: http.StatusBadRequest, SCIMType: scimType, Detail: fmt.Sprintf(format, args...)}
}

type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	SCIMType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

// WriteError writes err in the SCIM error schema. Domain errors take the
// server's status table; conflict is scimType uniqueness, invalid input
// invalidValue. An internal error is logged and its cause never sent.
func (s *Surface) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var se *Error
	if !errors.As(err, &se) {
		e := surface.DomainError(err)
		if e == nil {
			s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
			e = &access.Error{Code: access.CodeInternal, Message: "internal error"}
		}
		se = &Error{Status: surface.Status(e.Code), Detail: e.Message}
		switch e.Code {
		case access.CodeConflict:
			se.SCIMType = "uniqueness"
		case access.CodeInvalid, access.CodeInvalidField:
			se.SCIMType = "invalidValue"
		case surface.CodeUnsupportedMediaType:
			se.Detail = "request bodies must be application/scim+json or application/json"
		}
	}
	if se.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="portcullis-scim"`)
		se.Detail = "send a SCIM token as Authorization: Bearer"
	}
	writeJSON(w, se.Status, errorBody{Schemas: []string{schemaError}, Status: strconv.Itoa(se.Status), SCIMType: se.SCIMType, Detail: se.Detail})
}

// writeJSON answers with v as application/scim+json.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decode reads a JSON object body into v; unknown attributes are ignored
// (clients send schemas and extensions Portcullis does not keep).
func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Detail: "request body is too large"}
	}
	if err != nil {
		return badRequest("invalidSyntax", "request body could not be read")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badRequest("invalidSyntax", "request body is not a valid SCIM JSON object")
	}
	return nil
}

// baseURL is the public URL, or the request's scheme and Host.
func (s *Surface) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if surface.ClientOf(r).Secure || r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

type meta struct {
	ResourceType string `json:"resourceType"`
	Location     string `json:"location,omitempty"`
}

type listResponse[T any] struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
	Resources    []T      `json:"Resources"`
}

// writeList answers a list: the items f matches (get reads an item's
// attributes), as out renders them, paged.
func writeList[T, R any](w http.ResponseWriter, r *http.Request, f filter.Expression, items []T, get func(T) attrs, out func(T) R) error {
	var res []R
	for _, it := range items {
		ok, err := match(f, get(it))
		if err != nil {
			return err
		}
		if ok {
			res = append(res, out(it))
		}
	}
	lr, err := page(r, res)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, lr)
	return nil
}

// page cuts items to startIndex (1-based) and count of the query.
func page[T any](r *http.Request, items []T) (listResponse[T], error) {
	start, err := intParam(r, "startIndex", 1)
	if err != nil {
		return listResponse[T]{}, err
	}
	count, err := intParam(r, "count", MaxResults)
	if err != nil {
		return listResponse[T]{}, err
	}
	start, count = max(start, 1), min(max(count, 0), MaxResults)
	out := listResponse[T]{Schemas: []string{schemaList}, TotalResults: len(items), StartIndex: start, Resources: []T{}}
	if start-1 < len(items) {
		end := min(start-1+count, len(items))
		out.Resources = items[start-1 : end]
	}
	out.ItemsPerPage = len(out.Resources)
	return out, nil
}

// intParam is the integer query parameter name, or def when absent.
func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, badRequest("invalidValue", "%s must be an integer", name)
	}
	return n, nil
}

// writeResource answers a written resource with the write's revision and,
// for 201, its Location.
func writeResource(w http.ResponseWriter, status int, rev int64, location string, v any) error {
	surface.Revision(w, rev)
	if status == http.StatusCreated {
		w.Header().Set("Location", location)
	}
	writeJSON(w, status, v)
	return nil
}

// handleDelete deletes the resource {id} with del and answers 204.
func handleDelete(del func(context.Context, *app.Actor, string) (int64, error)) surface.Handler {
	return func(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
		rev, err := del(r.Context(), c, r.PathValue("id"))
		if err != nil {
			return err
		}
		return noContent(w, rev)
	}
}

func noContent(w http.ResponseWriter, rev int64) error {
	surface.Revision(w, rev)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
