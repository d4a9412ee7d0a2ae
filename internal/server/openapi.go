package server

import (
	"net/http"
	"regexp"
	"strings"
)

// The OpenAPI 3.1 document is generated from the route table, so a route
// cannot be added without appearing in it; schemas are written here once.

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

// schemaOf names the request and response schemas of routes, by
// "METHOD pattern"; routes not listed answer with a generic object.
var schemaOf = map[string][2]string{
	"POST /api/v1/session":                    {"Login", "Me"},
	"GET /api/v1/me":                          {"", "Me"},
	"GET /api/v1/accounts":                    {"", "AccountList"},
	"GET /api/v1/accounts/{id}":               {"", "Account"},
	"PUT /api/v1/accounts/{id}":               {"Account", "Account"},
	"PATCH /api/v1/accounts/{id}":             {"Account", "Account"},
	"GET /api/v1/users":                       {"", "UserList"},
	"GET /api/v1/users/{id}":                  {"", "User"},
	"PUT /api/v1/users/{id}":                  {"User", "User"},
	"PATCH /api/v1/users/{id}":                {"User", "User"},
	"POST /api/v1/users/{id}/password":        {"Password", ""},
	"GET /api/v1/groups":                      {"", "GroupList"},
	"GET /api/v1/groups/{id}":                 {"", "Group"},
	"PUT /api/v1/groups/{id}":                 {"Group", "Group"},
	"PUT /api/v1/groups/{id}/members/{user}":  {"", "Group"},
	"POST /api/v1/grants":                     {"Grant", "Grant"},
	"GET /api/v1/grants":                      {"", "GrantList"},
	"GET /api/v1/grants/{id}":                 {"", "Grant"},
	"PATCH /api/v1/grants/{id}":               {"Grant", "Grant"},
	"GET /api/v1/policy":                      {"", "Policy"},
	"PUT /api/v1/policy":                      {"PolicyDocument", "Policy"},
	"GET /api/v1/policy/versions":             {"", "PolicyList"},
	"POST /api/v1/records:batch":              {"Batch", "BatchResult"},
	"GET /api/v1/records/{type}":              {"", "RecordList"},
	"POST /api/v1/records/{type}":             {"Record", "Record"},
	"GET /api/v1/records/{type}/{id}":         {"", "Record"},
	"PUT /api/v1/records/{type}/{id}":         {"Record", "Record"},
	"PATCH /api/v1/records/{type}/{id}":       {"Record", "Record"},
	"GET /api/v1/records/{type}/{id}/viewers": {"", "ViewerList"},
	"POST /api/v1/check":                      {"Check", "CheckResult"},
	"POST /api/v1/check:batch":                {"CheckBatch", "CheckBatchResult"},
	"GET /api/v1/explain":                     {"", "Explanation"},
	"POST /api/v1/tokens":                     {"TokenRequest", "TokenCreated"},
	"GET /api/v1/tokens":                      {"", "TokenList"},
	"GET /api/v1/audit":                       {"", "AuditList"},
	"GET /api/v1/audit/verify":                {"", "AuditVerification"},
}

// queryParams documents the query parameters of list and decision routes.
var queryParams = map[string][]string{
	"GET /api/v1/accounts":                    {"parent", "q", "limit", "cursor"},
	"GET /api/v1/users":                       {"kind", "q", "home_account", "limit", "cursor"},
	"GET /api/v1/groups":                      {"account", "limit", "cursor"},
	"GET /api/v1/grants":                      {"account", "principal", "limit", "cursor"},
	"GET /api/v1/records/{type}":              {"account", "date_from", "date_to", "sort", "limit", "cursor", "as_user", "updated_since", "min_revision"},
	"GET /api/v1/records/{type}/{id}":         {"as_user", "min_revision"},
	"GET /api/v1/records/{type}/{id}/viewers": {"limit", "cursor"},
	"GET /api/v1/explain":                     {"user", "type", "id", "action", "min_revision"},
	"GET /api/v1/tokens":                      {"user"},
	"GET /api/v1/audit":                       {"actor", "target", "action", "since", "until", "limit", "cursor"},
}

func obj(props map[string]any, required ...string) map[string]any {
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func listOf(name string) map[string]any {
	return obj(map[string]any{"items": map[string]any{"type": "array", "items": ref(name)}, "next_cursor": str()}, "items")
}

func str() map[string]any             { return map[string]any{"type": "string"} }
func strs() map[string]any            { return map[string]any{"type": "array", "items": str()} }
func boolean() map[string]any         { return map[string]any{"type": "boolean"} }
func integer() map[string]any         { return map[string]any{"type": "integer"} }
func nullStr() map[string]any         { return map[string]any{"type": []string{"string", "null"}} }
func nullInt() map[string]any         { return map[string]any{"type": []string{"integer", "null"}} }
func anyObj() map[string]any          { return map[string]any{"type": "object"} }
func enum(v ...string) map[string]any { return map[string]any{"type": "string", "enum": v} }

func schemas() map[string]any {
	pathInfo := obj(map[string]any{"kind": enum("owner", "team_account", "team_user", "sharing"), "grant": str(),
		"account": str(), "role": str(), "access": enum("read", "read_write"), "via": ref("Ref")})
	return map[string]any{
		"Error": obj(map[string]any{"error": obj(map[string]any{"code": str(), "message": str(), "existing_id": str(),
			"items": map[string]any{"type": "array", "items": obj(map[string]any{"index": integer(), "message": str()})}}, "code", "message")}, "error"),
		"Login":    obj(map[string]any{"email": str(), "password": str()}, "email", "password"),
		"Password": obj(map[string]any{"password": str(), "current_password": str()}, "password"),
		"Me": obj(map[string]any{"user": ref("User"), "accounts": map[string]any{"type": "array", "items": obj(map[string]any{
			"id": str(), "name": str(), "role": str(), "access": str(), "manage_users": boolean(),
			"types": map[string]any{"type": "object", "additionalProperties": strs()}})}}),
		"Account": obj(map[string]any{"id": str(), "name": str(), "kind": str(), "parent": nullStr(),
			"external_access": boolean(), "inherit": boolean()}),
		"AccountList": listOf("Account"),
		"User": obj(map[string]any{"id": str(), "kind": enum("internal", "external"), "name": str(), "email": str(),
			"home_account": str(), "status": enum("active", "invited", "disabled"), "staff_role": enum("admin", "access_manager", "auditor"),
			"constraints": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "object", "additionalProperties": strs()}}}),
		"UserList":  listOf("User"),
		"Group":     obj(map[string]any{"id": str(), "name": str(), "account": str(), "members": strs()}),
		"GroupList": listOf("Group"),
		"Grant": obj(map[string]any{"id": str(), "principal": str(), "account": str(), "role": str(),
			"scope": enum("subtree", "account"), "access": enum("read", "read_write"), "days_back": nullInt(),
			"valid_from": nullStr(), "valid_until": nullStr(), "notes": str(), "created_by": str(), "created_at": str(), "updated_at": str()}),
		"GrantList":      listOf("Grant"),
		"PolicyDocument": obj(map[string]any{"roles": map[string]any{"type": "array"}, "object_types": map[string]any{"type": "array"}, "sharing_rules": map[string]any{"type": "array"}, "default_group_role": str()}),
		"Policy":         obj(map[string]any{"version": integer(), "source": str(), "created_by": str(), "created_at": str(), "document": ref("PolicyDocument")}),
		"PolicyList":     listOf("Policy"),
		"Ref":            obj(map[string]any{"type": str(), "id": str()}, "type", "id"),
		"Record": obj(map[string]any{"type": str(), "id": str(), "owner": nullStr(), "date": nullStr(), "parent": ref("Ref"),
			"teams":   map[string]any{"type": "array", "items": obj(map[string]any{"principal": str(), "access": enum("read", "read_write")})},
			"creator": nullStr(), "attributes": anyObj(), "updated_at": str(), "revision": integer()}),
		"RecordList":  listOf("Record"),
		"Batch":       obj(map[string]any{"upsert": map[string]any{"type": "array", "items": ref("Record")}, "delete": map[string]any{"type": "array", "items": ref("Ref")}}),
		"BatchResult": obj(map[string]any{"upserted": integer(), "deleted": integer(), "revision": integer()}),
		"Check": obj(map[string]any{"user": str(), "action": enum("read", "update", "delete"), "type": str(), "id": str(),
			"min_revision": integer()}, "user", "type", "id"),
		"CheckResult":      obj(map[string]any{"allowed": boolean(), "fields": strs(), "revision": integer()}),
		"CheckBatch":       obj(map[string]any{"checks": map[string]any{"type": "array", "items": ref("Check")}, "min_revision": integer()}),
		"CheckBatchResult": obj(map[string]any{"results": map[string]any{"type": "array", "items": ref("CheckResult")}}),
		"Explanation": obj(map[string]any{"allowed": boolean(), "paths": map[string]any{"type": "array", "items": pathInfo},
			"reasons": map[string]any{"type": "array", "items": obj(map[string]any{"code": str(), "message": str()})},
			"fields":  obj(map[string]any{"visible": strs(), "hidden": map[string]any{"type": "array", "items": obj(map[string]any{"field": str(), "reason": str()})}})}),
		"ViewerList":        listOf("Viewer"),
		"Viewer":            obj(map[string]any{"user": str(), "paths": map[string]any{"type": "array", "items": pathInfo}}),
		"TokenRequest":      obj(map[string]any{"name": str(), "user": str()}, "name"),
		"Token":             obj(map[string]any{"id": str(), "user": str(), "name": str(), "created_at": str(), "last_used": nullStr()}),
		"TokenCreated":      obj(map[string]any{"id": str(), "user": str(), "name": str(), "created_at": str(), "token": str()}),
		"TokenList":         listOf("Token"),
		"AuditEntry":        obj(map[string]any{"id": integer(), "time": str(), "actor": str(), "action": str(), "target": str(), "before": anyObj(), "after": anyObj(), "hash": str()}),
		"AuditList":         listOf("AuditEntry"),
		"AuditVerification": obj(map[string]any{"ok": boolean(), "entries": integer(), "first_bad": integer()}),
	}
}

// openAPI builds the document from the route table.
func (s *Server) openAPI() map[string]any {
	paths := map[string]map[string]any{}
	errResp := map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": ref("Error")}}}
	for _, rt := range s.routes {
		key := rt.Method + " " + rt.Pattern
		op := map[string]any{"summary": rt.Summary, "operationId": operationID(rt)}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Pattern, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": str()})
		}
		for _, q := range queryParams[key] {
			params = append(params, map[string]any{"name": q, "in": "query", "schema": str()})
		}
		if strings.HasSuffix(rt.Pattern, "/records/{type}") && rt.Method == "GET" {
			params = append(params, map[string]any{"name": "attr.{name}", "in": "query", "description": "filter on a declared field; repeat for OR", "schema": str()})
		}
		if params != nil {
			op["parameters"] = params
		}
		sc := schemaOf[key]
		if sc[0] != "" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref(sc[0])}}}
		}
		okStatus := "200"
		switch {
		case rt.Method == "DELETE" || key == "POST /api/v1/users/{id}/password":
			okStatus = "204"
		case rt.Method == "POST" && key != "POST /api/v1/check" && key != "POST /api/v1/check:batch" && key != "POST /api/v1/records:batch":
			okStatus = "201"
		}
		okResp := map[string]any{"description": "success"}
		if sc[1] != "" {
			okResp["content"] = map[string]any{"application/json": map[string]any{"schema": ref(sc[1])}}
		}
		op["responses"] = map[string]any{okStatus: okResp, "default": errResp}
		if !rt.Public {
			op["security"] = []any{map[string]any{"session": []string{}}, map[string]any{"token": []string{}}}
		}
		if paths[rt.Pattern] == nil {
			paths[rt.Pattern] = map[string]any{}
		}
		paths[rt.Pattern][strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "Portcullis API", "version": s.cfg.Version, "description": "External access server: sync, Check, List, Explain."},
		"paths":   paths,
		"components": map[string]any{
			"schemas": schemas(),
			"securitySchemes": map[string]any{
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": SessionCookie},
				"token":   map[string]any{"type": "http", "scheme": "bearer"},
			},
		},
	}
}

func operationID(rt route) string {
	id := strings.ToLower(rt.Method)
	for _, part := range strings.FieldsFunc(rt.Pattern, func(r rune) bool { return r == '/' || r == ':' || r == '{' || r == '}' || r == '.' }) {
		if part == "api" || part == "v1" {
			continue
		}
		id += strings.ToUpper(part[:1]) + part[1:]
	}
	return id
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request, _ *caller) error {
	writeJSON(w, http.StatusOK, s.openapi)
	return nil
}
