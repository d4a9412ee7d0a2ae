package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/portcullis-dev/portcullis/internal/server/api"
)

// openAPIFile is the hand-written contract of the JSON API, read from the
// source tree so that a test failure points at the file to fix.
const openAPIFile = "api/openapi.yaml"

// contract is the OpenAPI document with a router that finds the operation
// of a request the way the server's own http.ServeMux does.
type contract struct {
	doc *openapi3.T
	mux *http.ServeMux
	ops map[string]*routers.Route // by ServeMux pattern, "GET /api/v1/me"
}

// loadContract parses and validates the document once per test binary.
var loadContract = sync.OnceValues(func() (*contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(openAPIFile)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", openAPIFile, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", openAPIFile, err)
	}
	c := &contract{doc: doc, mux: http.NewServeMux(), ops: map[string]*routers.Route{}}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			pattern := method + " " + path
			c.ops[pattern] = &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
			c.mux.Handle(pattern, http.NotFoundHandler())
		}
	}
	return c, nil
})

func mustContract(tb testing.TB) *contract {
	tb.Helper()
	c, err := loadContract()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// validates reports whether the contract covers responses to path: the
// JSON API and the health endpoints, not the HTML pages.
func validates(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/healthz" || path == "/readyz"
}

// check validates one response to req against the operation the request
// routes to: its status must be documented, its content type and body must
// match the documented response, and a response documented without a body
// must have none. A request no operation takes (an unknown endpoint, a
// method the path does not allow) must get the matching error body.
func (c *contract) check(req *http.Request, status int, header http.Header, body []byte) error {
	_, pattern := c.mux.Handler(req)
	route := c.ops[pattern]
	if route == nil {
		name := map[int]string{http.StatusNotFound: "ErrorOf404", http.StatusMethodNotAllowed: "ErrorOf405"}[status]
		if name == "" {
			return fmt.Errorf("no operation for %s %s, and status %d is not 404 or 405", req.Method, req.URL.Path, status)
		}
		return c.checkSchema(name, header, body)
	}
	op := route.Operation
	ref := op.Responses.Status(status)
	if ref == nil {
		return fmt.Errorf("%s (%s): status %d is not documented", op.OperationID, pattern, status)
	}
	if len(ref.Value.Content) == 0 && len(body) > 0 {
		return fmt.Errorf("%s: status %d is documented without a body, got %q", op.OperationID, status, body)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s (%s) status %d: %w", op.OperationID, pattern, status, err)
	}
	return nil
}

// checkSchema validates a JSON body against a named component schema.
func (c *contract) checkSchema(name string, header http.Header, body []byte) error {
	if ct := header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("%s: content type %q, want application/json", name, ct)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s: body is not JSON: %w", name, err)
	}
	if err := c.doc.Components.Schemas[name].Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("body does not match %s: %w", name, err)
	}
	return nil
}

// TestOpenAPIMatchesRoutes holds the document to the route table: every
// route of the server has exactly one operation and every operation is a
// route; operation ids are unique.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	c := mustContract(t)
	env := newEnv(t, t.TempDir()+"/o.db")
	routes := map[string]bool{}
	for _, rt := range env.server.Routes() {
		key := rt.Method + " " + rt.Pattern
		if routes[key] {
			t.Errorf("route %s is registered twice", key)
		}
		routes[key] = true
		route := c.ops[key]
		if route == nil {
			t.Errorf("route %s has no operation in %s", key, openAPIFile)
			continue
		}
		if public := route.Operation.Security != nil && len(*route.Operation.Security) == 0; public != rt.Public {
			t.Errorf("%s: public is %v in the route table, %v in the document (security: [])", key, rt.Public, public)
		}
	}
	ids := map[string]string{}
	var extra []string
	for key, route := range c.ops {
		if !routes[key] {
			extra = append(extra, key)
		}
		id := route.Operation.OperationID
		if id == "" {
			t.Errorf("%s has no operationId", key)
		} else if other, dup := ids[id]; dup {
			t.Errorf("operationId %s is used by %s and %s", id, other, key)
		}
		ids[id] = key
	}
	sort.Strings(extra)
	for _, key := range extra {
		t.Errorf("%s has an operation in %s but no route", key, openAPIFile)
	}
}

// TestOpenAPIJSON checks that the embedded document the server serves is
// the YAML file, as JSON.
func TestOpenAPIJSON(t *testing.T) {
	c := mustContract(t)
	data, err := api.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("OpenAPIJSON does not load: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Paths.Len() != c.doc.Paths.Len() || len(doc.Components.Schemas) != len(c.doc.Components.Schemas) {
		t.Errorf("OpenAPIJSON: openapi %s, %d paths, %d schemas; the YAML has %d paths, %d schemas",
			doc.OpenAPI, doc.Paths.Len(), len(doc.Components.Schemas), c.doc.Paths.Len(), len(c.doc.Components.Schemas))
	}
	again, _ := api.OpenAPIJSON()
	if !bytes.Equal(data, again) {
		t.Error("OpenAPIJSON changes between calls")
	}
}

// TestOpenAPIServed fetches the document the server serves and validates
// the answer like any other; once the server serves api.OpenAPIJSON, it
// must be exactly that.
func TestOpenAPIServed(t *testing.T) {
	env := newEnv(t, t.TempDir()+"/o.db")
	res := env.anonymous().do("GET", "/api/openapi.json", nil)
	doc := res.json(t)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v", doc["openapi"])
	}
	want, err := api.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := doc["info"].(map[string]any); info["version"] != "v1" {
		t.Skip("the server still builds its own document (internal/server/openapi.go); it should serve api.OpenAPIJSON")
	}
	var got, exp any
	_ = json.Unmarshal([]byte(res.body), &got)
	_ = json.Unmarshal(want, &exp)
	g, _ := json.Marshal(got)
	e, _ := json.Marshal(exp)
	if !bytes.Equal(g, e) {
		t.Error("the served document is not api.OpenAPIJSON")
	}
}

// TestContractRejects proves the validator is not a rubber stamp: a
// response with an undocumented status, a leaked field or a wrong type
// fails.
func TestContractRejects(t *testing.T) {
	c := mustContract(t)
	hdr := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"undocumented status", "GET", "/api/v1/me", http.StatusTeapot, `{"error":{"code":"invalid","message":"x"}}`},
		{"wrong error code for the status", "GET", "/api/v1/me", 401, `{"error":{"code":"forbidden","message":"x"}}`},
		{"an extra field", "GET", "/api/v1/accounts/C1", 200, `{"id":"C1","name":"n","kind":"k","parent":null,"external_access":true,"inherit":true,"secret":1}`},
		{"a missing field", "GET", "/api/v1/grants/g1", 200, `{"id":"g1"}`},
		{"a body on 204", "DELETE", "/api/v1/grants/g1", 204, `{}`},
		{"an unknown endpoint without the error body", "GET", "/api/v1/nothing", 404, `not found`},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		if err := c.check(req, tc.status, hdr, []byte(tc.body)); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
