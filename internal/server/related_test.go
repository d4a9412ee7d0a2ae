package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestRelatedRecords checks the parent filter (records.md §3) on the API,
// as_user, the CSV download and the record pages of the portal and the
// console: the visible children of a record, newest first; a parent the
// user cannot read lists nothing, even when it sees a child of it through
// teams (else the filter would tell it the child's hidden parent); bad
// values are 400.
func TestRelatedRecords(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		defer env.use(t)()
		tok := env.bearer()
		batch := map[string]any{"upsert": []any{
			// SH2 is newer than SH1; SH3 is shared with C2's people by a
			// team entry, so other sees it without seeing its order.
			map[string]any{"type": "shipment", "id": "SH2", "date": "2999-01-01", "parent": map[string]any{"type": "sales_order", "id": "SO1"}, "attributes": map[string]any{"number": "SH2", "status": "in_transit"}},
			map[string]any{"type": "shipment", "id": "SH3", "date": "2000-01-01", "parent": map[string]any{"type": "sales_order", "id": "SO1"}, "owner": "C2",
				"teams": []any{map[string]any{"principal": "account:C2", "access": "read"}}, "attributes": map[string]any{"number": "SH3"}},
			map[string]any{"type": "shipment", "id": "SH9", "parent": map[string]any{"type": "sales_order", "id": "SO2"}, "attributes": map[string]any{"number": "SH9"}},
		}}
		if res := tok.do("POST", "/api/v1/records:batch", batch); res.status != http.StatusOK {
			t.Fatalf("batch: %d %s", res.status, res.body)
		}
		ids := func(res response) []string {
			t.Helper()
			if res.status != http.StatusOK {
				t.Fatalf("list: %d %s", res.status, res.body)
			}
			var out []string
			for _, it := range res.json(t)["items"].([]any) {
				out = append(out, it.(map[string]any)["id"].(string))
			}
			return out
		}
		const so1 = "/api/v1/records/shipment?parent=sales_order:SO1"
		for _, tc := range []struct {
			who  string
			path string
			want []string
		}{
			{"u20", so1, []string{"SH2", "SH1", "SH3"}},
			{"u20", so1 + "&limit=1", []string{"SH2"}},
			{"u20", "/api/v1/records/shipment?parent=sales_order:SO2", nil},
			{"other", so1, nil}, // SO1 is not other's: nothing, not SH3
			{"other", "/api/v1/records/shipment", []string{"SH3", "SH9"}}, // ... which other does see
			{"other", "/api/v1/records/shipment?parent=sales_order:SO2", []string{"SH9"}},
			{"u10", so1, nil}, // L10 reads no shipments
			{"admin", so1, []string{"SH2", "SH1", "SH3"}},
			{"admin", "/api/v1/records/shipment?parent=sales_order:SO404", nil},
		} {
			if got := ids(env.as(tc.who).do("GET", tc.path, nil)); !slices.Equal(got, tc.want) {
				t.Errorf("%s GET %s = %v, want %v", tc.who, tc.path, got, tc.want)
			}
		}
		if got := ids(tok.do("GET", so1+"&as_user=other", nil)); got != nil {
			t.Errorf("as_user=other: %v, want none", got)
		}
		if got := ids(tok.do("GET", so1+"&as_user=u20&sort=id", nil)); !slices.Equal(got, []string{"SH1", "SH2", "SH3"}) {
			t.Errorf("as_user=u20 sort=id: %v", got)
		}
		for _, bad := range []string{
			"/api/v1/records/shipment?parent=SO1",
			"/api/v1/records/shipment?parent=sales_order:",
			"/api/v1/records/shipment?parent=invoice:IN1",
			"/api/v1/records/sales_order?parent=account:C1",
			"/api/v1/records/shipment?parent=sales_order:a%2Fb",
		} {
			if res := env.as("u20").do("GET", bad, nil); res.status != http.StatusBadRequest || res.code() != "invalid" ||
				!strings.Contains(res.body, "parent") {
				t.Errorf("GET %s: %d %s; want 400 invalid naming parent", bad, res.status, res.body)
			}
		}
		csv := env.as("u20").send("GET", so1+"&format=csv", "", "", nil)
		if csv.status != http.StatusOK || !strings.Contains(csv.body, "SH1") || !strings.Contains(csv.body, "SH2") || strings.Contains(csv.body, "SH9") {
			t.Errorf("CSV: %d %s", csv.status, csv.body)
		}
		if csv := env.as("other").send("GET", so1+"&format=csv", "", "", nil); strings.Contains(csv.body, "SH3") {
			t.Errorf("other's CSV of SO1's shipments: %s", csv.body)
		}

		// The record pages link the children, newest first.
		page := env.browse("u20").get("/a/C1/sales_order/SO1")
		i1, i2 := strings.Index(page.body, `href="/a/C1/shipment/SH1"`), strings.Index(page.body, `href="/a/C1/shipment/SH2"`)
		if page.status != http.StatusOK || i1 < 0 || i2 < 0 || i2 > i1 || strings.Contains(page.body, "SH9") {
			t.Errorf("portal SO1 page (%d): shipments SH2 then SH1 expected:\n%s", page.status, page.body)
		}
		if page := env.browse("u10").get("/a/C1/ticket/T1"); page.status != http.StatusOK || strings.Contains(page.body, "related-") {
			t.Errorf("portal T1 page (%d) has a related list", page.status)
		}
		adm := env.as("admin").admGet("/admin/records/sales_order/SO1")
		for _, sh := range []string{"SH1", "SH2", "SH3"} {
			if !strings.Contains(adm.body, `href="/admin/records/shipment/`+sh+`"`) {
				t.Errorf("console SO1 page lacks %s", sh)
			}
		}
		if strings.Contains(adm.body, "SH9") {
			t.Errorf("console SO1 page lists SO2's shipment")
		}
		// A filtered portal list keeps to the parent too.
		if list := env.browse("u20").get("/a/C1/shipment?parent=sales_order:SO1"); list.status != http.StatusOK || !strings.Contains(list.body, "SH2") || strings.Contains(list.body, "SH9") {
			t.Errorf("portal list with parent (%d): %s", list.status, list.body)
		}
	})
}
