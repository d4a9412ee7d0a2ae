package scim

import (
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/app"
)

// The discovery endpoints (RFC 7644 §4) describe what this service
// provider supports; they are the same for every token and public.

func (s *Surface) handleSPC(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	type supported struct {
		Supported bool `json:"supported"`
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":          []string{schemaSPC},
		"documentationUri": "https://github.com/portcullis-dev/portcullis#provisioning-from-microsoft-entra-id-or-okta-scim-20",
		"patch":            supported{true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": MaxResults},
		"changePassword":   supported{false},
		"sort":             supported{false},
		"etag":             supported{false},
		"authenticationSchemes": []map[string]any{{
			"type": "oauthbearertoken", "name": "SCIM token", "primary": true,
			"description": "A SCIM token created in the console (SCIM tokens) or with POST /api/v1/scim-tokens, sent as Authorization: Bearer.",
		}},
		"meta": meta{ResourceType: "ServiceProviderConfig", Location: s.baseURL(r) + Prefix + "/ServiceProviderConfig"},
	})
	return nil
}

func (s *Surface) handleResourceTypes(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	base := s.baseURL(r) + Prefix
	rt := func(name, endpoint, schema string, ext []map[string]any) map[string]any {
		m := map[string]any{"schemas": []string{schemaRT}, "id": name, "name": name, "endpoint": endpoint, "schema": schema,
			"meta": meta{ResourceType: "ResourceType", Location: base + "/ResourceTypes/" + name}}
		if ext != nil {
			m["schemaExtensions"] = ext
		}
		return m
	}
	items := []map[string]any{
		rt("User", "/Users", SchemaUser, []map[string]any{{"schema": SchemaEnterprise, "required": false}}),
		rt("Group", "/Groups", SchemaGroup, nil),
	}
	writeJSON(w, http.StatusOK, listResponse[map[string]any]{Schemas: []string{schemaList}, TotalResults: len(items),
		StartIndex: 1, ItemsPerPage: len(items), Resources: items})
	return nil
}

// attribute describes one attribute of a schema (RFC 7643 §7).
func attribute(name, typ string, multi, required bool, mutability, uniqueness string, sub ...map[string]any) map[string]any {
	a := map[string]any{"name": name, "type": typ, "multiValued": multi, "required": required, "caseExact": false,
		"mutability": mutability, "returned": "default", "uniqueness": uniqueness}
	if sub != nil {
		a["subAttributes"] = sub
	}
	return a
}

func (s *Surface) handleSchemas(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	base := s.baseURL(r) + Prefix
	schema := func(id, name string, attrs ...map[string]any) map[string]any {
		return map[string]any{"schemas": []string{schemaSchema}, "id": id, "name": name, "attributes": attrs,
			"meta": meta{ResourceType: "Schema", Location: base + "/Schemas/" + id}}
	}
	rw, ro := "readWrite", "readOnly"
	items := []map[string]any{
		schema(SchemaUser, "User",
			attribute("userName", "string", false, true, rw, "server"),
			attribute("displayName", "string", false, false, rw, "none"),
			attribute("name", "complex", false, false, rw, "none",
				attribute("formatted", "string", false, false, rw, "none"),
				attribute("givenName", "string", false, false, rw, "none"),
				attribute("familyName", "string", false, false, rw, "none")),
			attribute("emails", "complex", true, false, rw, "none",
				attribute("value", "string", false, false, rw, "none"),
				attribute("type", "string", false, false, rw, "none"),
				attribute("primary", "boolean", false, false, rw, "none")),
			attribute("active", "boolean", false, false, rw, "none"),
			attribute("locale", "string", false, false, rw, "none"),
			attribute("groups", "complex", true, false, ro, "none",
				attribute("value", "string", false, false, ro, "none"),
				attribute("display", "string", false, false, ro, "none"))),
		schema(SchemaEnterprise, "EnterpriseUser",
			attribute("organization", "string", false, false, rw, "none")),
		schema(SchemaGroup, "Group",
			attribute("displayName", "string", false, true, rw, "none"),
			attribute("members", "complex", true, false, rw, "none",
				attribute("value", "string", false, false, "immutable", "none"),
				attribute("display", "string", false, false, ro, "none"))),
	}
	writeJSON(w, http.StatusOK, listResponse[map[string]any]{Schemas: []string{schemaList}, TotalResults: len(items),
		StartIndex: 1, ItemsPerPage: len(items), Resources: items})
	return nil
}
