package server_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestReviewsAPI walks the access review endpoints (governance.md §2) as
// a customer admin and staff, every answer checked against the OpenAPI
// document: the customer admin's review leaves the Owner's grant to
// staff, which the admin can neither answer nor see beyond its reach;
// revoking the Owner is 409 protected; the counts follow the answers.
func TestReviewsAPI(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		defer env.use(t)()
		cadm, admin := env.as("adm80"), env.as("admin")
		res := cadm.do("POST", "/api/v1/reviews", map[string]any{"account": "C1", "due": "2031-03-31", "on_no_answer": "keep", "schedule": "quarterly"})
		if res.status != 201 {
			t.Fatalf("create: %d %s", res.status, res.body)
		}
		rv := res.json(t)
		id := rv["id"].(string)
		var ownerItem, mine string
		for _, x := range rv["items"].([]any) {
			it := x.(map[string]any)
			user := it["user"].(map[string]any)["id"]
			if it["level"].(float64) > 80 && it["reviewer"] != "staff" {
				t.Errorf("item above the admin's level goes to %v: %v", it["reviewer"], it)
			}
			if user == "owner" && it["kind"] == "grant" {
				ownerItem = it["id"].(string)
			}
			if it["reviewer"] == "adm80" && mine == "" {
				mine = it["id"].(string)
			}
		}
		if ownerItem == "" || mine == "" {
			t.Fatalf("no Owner item or no item for the admin: %s", res.body)
		}
		for _, c := range []struct {
			as, method, path string
			body             any
			status           int
			code             string
		}{
			{"adm80", "POST", "/api/v1/reviews/" + id + "/items/" + ownerItem, map[string]any{"decision": "keep"}, 403, "forbidden"},
			{"admin", "POST", "/api/v1/reviews/" + id + "/items/" + ownerItem, map[string]any{"decision": "revoke"}, 409, "protected"},
			{"admin", "POST", "/api/v1/reviews/" + id + "/items/" + ownerItem, map[string]any{"decision": "maybe"}, 400, "invalid"},
			{"adm80", "POST", "/api/v1/reviews/" + id + "/items/999", map[string]any{"decision": "keep"}, 404, "not_found"},
			{"u20", "GET", "/api/v1/reviews", nil, 403, "forbidden"},
			{"other", "GET", "/api/v1/reviews/" + id, nil, 403, "forbidden"},
			{"adm80", "POST", "/api/v1/reviews", map[string]any{"account": "C2", "due": "2031-03-31"}, 403, "forbidden"},
			{"admin", "POST", "/api/v1/reviews", map[string]any{"account": "C1", "reviewer": "u20", "due": "2031-03-31"}, 400, "invalid"},
			{"admin", "POST", "/api/v1/reviews", map[string]any{"account": "C1", "reviewer": "admin", "due": "soon"}, 400, "invalid"},
		} {
			if res := env.as(c.as).do(c.method, c.path, c.body); res.status != c.status || res.code() != c.code {
				t.Errorf("%s %s as %s: %d %s, want %d %s", c.method, c.path, c.as, res.status, res.body, c.status, c.code)
			}
		}
		if res := admin.do("POST", "/api/v1/reviews/"+id+"/items/"+ownerItem, map[string]any{"decision": "keep", "note": "the owner"}); res.status != 200 {
			t.Errorf("staff keeps the Owner: %d %s", res.status, res.body)
		}
		if res := cadm.do("POST", "/api/v1/reviews/"+id+"/items/"+mine, map[string]any{"decision": "revoke"}); res.status != 200 {
			t.Errorf("the admin revokes: %d %s", res.status, res.body)
		}
		got := cadm.do("GET", "/api/v1/reviews/"+id, nil).json(t)
		counts := got["counts"].(map[string]any)
		if counts["kept"] != 1.0 || counts["revoked"] != 1.0 || counts["open"] != counts["total"].(float64)-2 {
			t.Errorf("counts %v", counts)
		}
		items := cadm.do("GET", "/api/v1/reviews/"+id+"/items", nil)
		if !strings.Contains(items.body, `"email":"owner@example.com"`) || !strings.Contains(items.body, `"last_login_at"`) {
			t.Errorf("items: %s", items.body)
		}
		if l := cadm.do("GET", "/api/v1/reviews?status=open&account=C1", nil); !strings.Contains(l.body, id) {
			t.Errorf("list: %s", l.body)
		}
		if csv := admin.do("GET", "/api/v1/reviews?format=csv", nil); csv.status != 200 || !strings.HasPrefix(csv.body, "id,account,reviewer,due") {
			t.Errorf("csv: %d %.200s", csv.status, csv.body)
		}
		closed := cadm.do("POST", "/api/v1/reviews/"+id+"/close", nil)
		if closed.status != 200 || closed.json(t)["status"] != "closed" || closed.json(t)["next"] == nil {
			t.Fatalf("close: %d %s", closed.status, closed.body)
		}
		if again := cadm.do("POST", "/api/v1/reviews/"+id+"/close", nil); again.status != 409 || again.code() != "conflict" {
			t.Errorf("close again: %d %s", again.status, again.body)
		}
		next := closed.json(t)["next"].(string)
		if n := cadm.do("GET", "/api/v1/reviews/"+next, nil).json(t); n["status"] != "open" || n["previous"] != id || n["schedule"] != "quarterly" {
			t.Errorf("next review: %v", n)
		}
	})
}

// TestConsoleClosesReviewOnlyConfirmed: the console's Close revokes at
// once, so it asks for the tick box first, as the portal does; without it
// the review stays open.
func TestConsoleClosesReviewOnlyConfirmed(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		defer env.use(t)()
		admin := env.as("admin")
		res := admin.do("POST", "/api/v1/reviews", map[string]any{"account": "C1", "due": "2031-03-31", "on_no_answer": "keep"})
		if res.status != 201 {
			t.Fatalf("create: %d %s", res.status, res.body)
		}
		id := res.json(t)["id"].(string)
		page := admin.admGet("/admin/reviews/" + id)
		admHas(t, page, `name="confirm" type="checkbox" value="yes"`)
		unconfirmed := admin.admPost("/admin/reviews/"+id+"/close", url.Values{})
		admStatus(t, unconfirmed, 400)
		admHas(t, unconfirmed, "Tick the box to confirm that the review closes now.")
		if st := admin.do("GET", "/api/v1/reviews/"+id, nil).json(t)["status"]; st != "open" {
			t.Fatalf("closed without confirmation: %v", st)
		}
		admStatus(t, admin.admPost("/admin/reviews/"+id+"/close", url.Values{"confirm": {"yes"}}), 200)
		if st := admin.do("GET", "/api/v1/reviews/"+id, nil).json(t)["status"]; st != "closed" {
			t.Fatalf("confirmed close: status %v", st)
		}
	})
}
