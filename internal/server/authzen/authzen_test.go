package authzen

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"testing"
)

// TestMetadata_PublicURL: with --public-url the metadata names it, without
// trailing slash, whatever Host the request came to.
func TestMetadata_PublicURL(t *testing.T) {
	s := New(nil, slog.Default(), "https://pdp.example.com/")
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "http://10.0.0.1:8080"+MetadataPath, nil)
	if err := s.handleMetadata(w, r, nil); err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"policy_decision_point":       "https://pdp.example.com",
		"access_evaluation_endpoint":  "https://pdp.example.com/access/v1/evaluation",
		"access_evaluations_endpoint": "https://pdp.example.com/access/v1/evaluations",
		"search_subject_endpoint":     "https://pdp.example.com/access/v1/search/subject",
		"search_resource_endpoint":    "https://pdp.example.com/access/v1/search/resource",
		"search_action_endpoint":      "https://pdp.example.com/access/v1/search/action",
	}
	if len(m) != len(want) {
		t.Errorf("metadata %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}
