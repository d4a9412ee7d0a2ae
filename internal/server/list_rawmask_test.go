package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestList_RawAndMaskedRowsOnOnePage: one page of the API list holds a row
// the viewer sees whole (its stored JSON passed through raw) and rows it
// sees masked (decoded, prices stripped). u20 has L20 on C1 (orders
// without prices) and here also L30 on C2 (with prices): SO2 (C2) comes
// with its price and owner, SO1 and SO3 (C1's subtree) without price,
// amount or the lines' prices, on both databases.
func TestList_RawAndMaskedRowsOnOnePage(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		defer env.use(t)()
		grant := map[string]any{"principal": "user:u20", "account": "C2", "role": "L30"}
		if res := env.bearer().do("POST", "/api/v1/grants", grant); res.status != http.StatusCreated {
			t.Fatalf("grant: %d %s", res.status, res.body)
		}
		u20 := env.as("u20")
		type row struct {
			ID         string         `json:"id"`
			Owner      *string        `json:"owner"`
			Attributes map[string]any `json:"attributes"`
		}
		var page struct{ Items []row }
		var body string
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			body = u20.do("GET", "/api/v1/records/sales_order?limit=50", nil).body
			page.Items = nil
			if err := json.Unmarshal([]byte(body), &page); err != nil {
				t.Fatalf("list: %v: %s", err, body)
			}
			if len(page.Items) == 3 || time.Now().After(deadline) {
				break
			}
		}
		got := map[string]row{}
		for _, r := range page.Items {
			got[r.ID] = r
		}
		if len(got) != 3 {
			t.Fatalf("want SO1, SO2, SO3 on the page: %s", body)
		}
		if so2 := got["SO2"]; so2.Attributes["price"] != 7.0 || so2.Owner == nil || *so2.Owner != "C2" || so2.Attributes["customer"] != "C2" {
			t.Errorf("SO2 should be whole (price 7, owner C2): %+v", so2)
		}
		for _, id := range []string{"SO1", "SO3"} {
			if _, ok := got[id].Attributes["price"]; ok {
				t.Errorf("%s shows its price to L20: %+v", id, got[id])
			}
			if got[id].Attributes["number"] != id {
				t.Errorf("%s lost its unrestricted fields: %+v", id, got[id])
			}
		}
		for _, secret := range []string{`"price":100`, `"price":3`, `"amount":95`, `"price":60`} {
			if strings.Contains(body, secret) {
				t.Errorf("the page carries %s: %s", secret, body)
			}
		}
		if got["SO1"].Attributes["note"] != "c1-secret-note" {
			t.Errorf("SO1's unrestricted note is missing: %+v", got["SO1"])
		}
	})
}
