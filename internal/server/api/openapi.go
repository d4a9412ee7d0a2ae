package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"gopkg.in/yaml.v3"
)

// openAPIYAML is the OpenAPI 3.1 document of the JSON API, written by hand:
// the one place where request and response shapes are described. The API
// scenario tests of internal/server validate every response they receive
// against it, and a test holds it to the route table.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPIJSON returns the OpenAPI document as JSON, for GET
// /api/openapi.json. It is converted from the embedded YAML once, on first
// use; every call returns the same bytes, which the caller must not modify.
// An error means the embedded document is not valid YAML, which the tests
// catch before a build ships.
func OpenAPIJSON() ([]byte, error) { return openAPIJSON() }

var openAPIJSON = sync.OnceValues(func() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(openAPIYAML, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	doc, err := yamlToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
})

// yamlToJSON turns a decoded YAML value into one encoding/json can encode:
// mappings with non-string keys (a status code written without quotes)
// become objects keyed by the key's text.
func yamlToJSON(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			je, err := yamlToJSON(e)
			if err != nil {
				return nil, err
			}
			v[k] = je
		}
		return v, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			je, err := yamlToJSON(e)
			if err != nil {
				return nil, err
			}
			switch k.(type) {
			case string, int, bool:
				out[fmt.Sprint(k)] = je
			default:
				return nil, fmt.Errorf("mapping key %v (%T) is not a string", k, k)
			}
		}
		return out, nil
	case []any:
		for i, e := range v {
			je, err := yamlToJSON(e)
			if err != nil {
				return nil, err
			}
			v[i] = je
		}
		return v, nil
	}
	return v, nil
}
