package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// azScenario is one AuthZEN request and what its response must be
// (testdata/authzen.json).
type azScenario struct {
	Name string `json:"name"`
	// As is who asks: "" the admin's API token, "anonymous", or a user
	// signed in with a session.
	As     string `json:"as"`
	Method string `json:"method"`
	Path   string `json:"path"`
	// ContentType defaults to application/json; "-" sends none.
	ContentType string            `json:"content_type"`
	Headers     map[string]string `json:"headers"`
	Body        any               `json:"body"`
	// Raw, when present, is sent as the body verbatim.
	Raw         *string           `json:"raw"`
	Status      int               `json:"status"`
	WantHeaders map[string]string `json:"want_headers"`
	Want        any               `json:"want"`
	Absent      []string          `json:"absent"`
	AbsentKeys  []string          `json:"absent_keys"`
}

// azResponse is an AuthZEN response.
type azResponse struct {
	status int
	header http.Header
	body   string
}

func (r azResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// azDo sends an AuthZEN request with the client's credentials.
func azDo(t *testing.T, c *client, method, path, contentType string, headers map[string]string, body []byte) azResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.env.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return azResponse{status: res.StatusCode, header: res.Header, body: string(data)}
}

// azPost posts v as JSON with the admin's token.
func azPost(t *testing.T, env *testEnv, path string, v any) azResponse {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return azDo(t, env.bearer(), "POST", path, "application/json", nil, b)
}

// matchJSON reports how got differs from want: want's members must be in
// got and match, arrays match element by element with the same length, and
// "*" matches anything present.
func matchJSON(path string, want, got any) error {
	if s, ok := want.(string); ok && s == "*" {
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %v, want an object", path, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s.%s is missing", path, k)
			}
			if err := matchJSON(path+"."+k, wv, gv); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %v, want %d elements", path, got, len(w))
		}
		for i := range w {
			if err := matchJSON(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if !reflect.DeepEqual(want, got) {
		return fmt.Errorf("%s: got %v, want %v", path, got, want)
	}
	return nil
}

// TestAuthZENScenarios runs the request/response examples of the
// specification, the certification scenario's shapes and the search
// interop's shapes (testdata/authzen.json) against the test world.
func TestAuthZENScenarios(t *testing.T) {
	data, err := os.ReadFile("testdata/authzen.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Scenarios []azScenario `json:"scenarios"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	backends(t, func(t *testing.T, env *testEnv) {
		clients := map[string]*client{"": env.bearer(), "anonymous": env.anonymous()}
		for _, sc := range file.Scenarios {
			t.Run(sc.Name, func(t *testing.T) {
				defer env.use(t)()
				c := clients[sc.As]
				if c == nil {
					c = env.as(sc.As)
					clients[sc.As] = c
				}
				method := sc.Method
				if method == "" {
					method = "POST"
				}
				var body []byte
				switch {
				case sc.Raw != nil:
					body = []byte(*sc.Raw)
				case sc.Body != nil:
					body, _ = json.Marshal(sc.Body)
				}
				ct := sc.ContentType
				switch {
				case ct == "-":
					ct = ""
				case ct == "" && method == "POST":
					ct = "application/json"
				}
				res := azDo(t, c, method, sc.Path, ct, sc.Headers, body)
				if res.status != sc.Status {
					t.Fatalf("status %d, want %d: %s", res.status, sc.Status, res.body)
				}
				for k, v := range sc.WantHeaders {
					if got := res.header.Get(k); got != v {
						t.Errorf("header %s = %q, want %q", k, got, v)
					}
				}
				if res.status == http.StatusOK && res.header.Get("Content-Type") != "application/json" {
					t.Errorf("Content-Type %q on a 200", res.header.Get("Content-Type"))
				}
				if res.status >= 400 && (res.body == "" || strings.HasPrefix(res.body, "{")) {
					t.Errorf("error body %q, want a message string", res.body)
				}
				if sc.Want != nil {
					want := sc.Want
					b, _ := json.Marshal(want)
					_ = json.Unmarshal([]byte(strings.ReplaceAll(string(b), "{base}", env.srv.URL)), &want)
					var got any
					if err := json.Unmarshal([]byte(res.body), &got); err != nil {
						t.Fatalf("body is not JSON: %v: %s", err, res.body)
					}
					if err := matchJSON("$", want, got); err != nil {
						t.Errorf("%v\nbody: %s", err, res.body)
					}
				}
				for _, s := range sc.Absent {
					if strings.Contains(res.body, s) {
						t.Errorf("body contains %q: %s", s, res.body)
					}
				}
				for _, k := range sc.AbsentKeys {
					if _, ok := res.json(t)[k]; ok {
						t.Errorf("body has member %q: %s", k, res.body)
					}
				}
			})
		}
	})
}

// TestAuthZEN_Paging follows next_token to the end on every search and
// checks the token is only good for its own request.
func TestAuthZEN_Paging(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		subject := map[string]any{"type": "user", "id": "u20"}
		req := map[string]any{"subject": subject, "action": map[string]any{"name": "read"},
			"resource": map[string]any{"type": "sales_order"}, "page": map[string]any{"limit": 1}}
		var ids []string
		for range 10 {
			m := azPost(t, env, "/access/v1/search/resource", req).json(t)
			for _, r := range m["results"].([]any) {
				ids = append(ids, r.(map[string]any)["id"].(string))
			}
			next := m["page"].(map[string]any)["next_token"].(string)
			if next == "" {
				break
			}
			req["page"] = map[string]any{"limit": 1, "token": next}
		}
		if want := []string{"SO1", "SO3"}; !reflect.DeepEqual(ids, want) {
			t.Errorf("paged resource search = %v, want %v", ids, want)
		}

		// A token with another subject, or another limit, is refused.
		first := azPost(t, env, "/access/v1/search/resource", map[string]any{"subject": subject, "action": map[string]any{"name": "read"},
			"resource": map[string]any{"type": "sales_order"}, "page": map[string]any{"limit": 1}}).json(t)
		tok := first["page"].(map[string]any)["next_token"].(string)
		for name, page := range map[string]map[string]any{
			"other subject": {"limit": 1, "token": tok},
			"other limit":   {"limit": 2, "token": tok},
		} {
			s := subject
			if name == "other subject" {
				s = map[string]any{"type": "user", "id": "u30"}
			}
			res := azPost(t, env, "/access/v1/search/resource", map[string]any{"subject": s, "action": map[string]any{"name": "read"},
				"resource": map[string]any{"type": "sales_order"}, "page": page})
			if res.status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400: %s", name, res.status, res.body)
			}
		}
		// The ignored resource.id may change; members may come in any order.
		res := azPost(t, env, "/access/v1/search/resource", map[string]any{"page": map[string]any{"token": tok, "limit": 1},
			"resource": map[string]any{"id": "whatever", "type": "sales_order"}, "action": map[string]any{"name": "read"}, "subject": subject})
		if res.status != http.StatusOK || !strings.Contains(res.body, `"SO3"`) {
			t.Errorf("continuation: %d %s", res.status, res.body)
		}

		// Subject and action searches page too.
		var users []string
		sreq := map[string]any{"subject": map[string]any{"type": "user"}, "action": map[string]any{"name": "read"},
			"resource": map[string]any{"type": "sales_order", "id": "SO1"}, "page": map[string]any{"limit": 3}}
		for range 10 {
			m := azPost(t, env, "/access/v1/search/subject", sreq).json(t)
			for _, r := range m["results"].([]any) {
				users = append(users, r.(map[string]any)["id"].(string))
			}
			next := m["page"].(map[string]any)["next_token"].(string)
			if next == "" {
				break
			}
			sreq["page"] = map[string]any{"limit": 3, "token": next}
		}
		if want := []string{"adm80", "owner", "u20", "u30"}; !reflect.DeepEqual(users, want) {
			t.Errorf("paged subject search = %v, want %v", users, want)
		}
		var acts []string
		areq := map[string]any{"subject": map[string]any{"type": "user", "id": "u10"}, "resource": map[string]any{"type": "ticket", "id": "T1"},
			"page": map[string]any{"limit": 1}}
		for range 10 {
			m := azPost(t, env, "/access/v1/search/action", areq).json(t)
			for _, r := range m["results"].([]any) {
				acts = append(acts, r.(map[string]any)["name"].(string))
			}
			next := m["page"].(map[string]any)["next_token"].(string)
			if next == "" {
				break
			}
			areq["page"] = map[string]any{"limit": 1, "token": next}
		}
		if want := []string{"read", "update"}; !reflect.DeepEqual(acts, want) {
			t.Errorf("paged action search = %v, want %v", acts, want)
		}
	})
}

// TestAuthZEN_EvaluationsLimit takes 1,000 evaluations and refuses 1,001.
func TestAuthZEN_EvaluationsLimit(t *testing.T) {
	env := newEnv(t, t.TempDir()+"/az.db")
	items := make([]any, 1001)
	for i := range items {
		items[i] = map[string]any{"resource": map[string]any{"type": "sales_order", "id": fmt.Sprintf("SO%d", i%4)}}
	}
	req := map[string]any{"subject": map[string]any{"type": "user", "id": "u20"}, "action": map[string]any{"name": "read"}}
	req["evaluations"] = items[:1000]
	res := azPost(t, env, "/access/v1/evaluations", req)
	if res.status != http.StatusOK {
		t.Fatalf("1000 evaluations: %d %s", res.status, res.body)
	}
	got := res.json(t)["evaluations"].([]any)
	if len(got) != 1000 {
		t.Fatalf("%d answers", len(got))
	}
	var allowed []string
	for i, d := range got[:4] {
		if d.(map[string]any)["decision"] == true {
			allowed = append(allowed, fmt.Sprintf("SO%d", i))
		}
	}
	sort.Strings(allowed)
	if want := []string{"SO1", "SO3"}; !reflect.DeepEqual(allowed, want) {
		t.Errorf("allowed %v, want %v", allowed, want)
	}
	req["evaluations"] = items
	if res := azPost(t, env, "/access/v1/evaluations", req); res.status != http.StatusBadRequest {
		t.Errorf("1001 evaluations: %d %s", res.status, res.body)
	}
}
