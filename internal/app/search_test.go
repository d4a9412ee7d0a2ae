package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// TestSearch_HiddenFieldNeverSearched: a restricted string field is
// searched for a user whose role shows it, and for a user whose role hides
// it a search on its value finds nothing, as if the value did not exist;
// the owner field is never searched.
func TestSearch_HiddenFieldNeverSearched(t *testing.T) {
	backends(t, func(t *testing.T, a *app.App, st store.Store) {
		ctx := context.Background()
		staff := app.SystemActor("test")
		// The built-in policy, with a restricted string field that L30 sees.
		doc := string(policy.DefaultYAML())
		for _, r := range []struct{ old, new string }{
			{"      - {name: currency, type: string}\n    # Prices are for L30", "      - {name: currency, type: string}\n      - {name: margin_note, type: string}\n    # Prices are for L30"},
			{"    restricted_fields:\n      - price\n", "    restricted_fields:\n      - margin_note\n      - price\n"},
			{"      sales_order:\n        fields:\n          - price\n", "      sales_order:\n        fields:\n          - margin_note\n          - price\n"},
		} {
			if !strings.Contains(doc, r.old) {
				t.Fatalf("the default policy changed: no %q", r.old)
			}
			doc = strings.Replace(doc, r.old, r.new, 1)
		}
		if _, _, err := a.PutPolicy(ctx, staff, []byte(doc)); err != nil {
			t.Fatal(err)
		}
		u20, _ := writableWorld(t, a)
		if _, _, _, err := a.PutUser(ctx, staff, "u30", app.UserUpdate{Email: app.Some("u30@example.com"), HomeAccount: app.Some("C1")}, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.CreateGrant(ctx, staff, app.GrantUpdate{Principal: app.Some("user:u30"), Account: app.Some("C1"), Role: app.Some("L30")}); err != nil {
			t.Fatal(err)
		}
		u30 := &app.Actor{User: must[access.User](t)(a.GetUser(ctx, staff, "u30"))}
		if _, err := a.PutRecord(ctx, staff, "sales_order", "SO-77", app.RecordUpdate{Owner: app.Some("C1"),
			Attributes: app.Some(map[string]any{"number": "SO-77", "customer": "C1", "margin_note": "thin-margin", "po_number": "PO-9"})}); err != nil {
			t.Fatal(err)
		}
		search := func(c *app.Actor, q string) int {
			t.Helper()
			p, err := a.ListRecords(ctx, c, app.RecordList{Type: "sales_order", Search: q})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			n, err := a.CountRecords(ctx, c, app.RecordList{Type: "sales_order", Search: q})
			if err != nil || n.N != len(p.Items) {
				t.Fatalf("count of search %q: %v, %v; the list has %d", q, n, err, len(p.Items))
			}
			return len(p.Items)
		}
		for _, tc := range []struct {
			who  string
			c    *app.Actor
			q    string
			want int
		}{
			{"L30", u30, "THIN-margin", 1},
			{"L20", u20, "thin-margin", 0},
			{"L20", u20, "po-9", 1},
			{"L20", u20, "so-77", 1},
			{"L30", u30, "C1", 0}, // the owner field is not searched
		} {
			if got := search(tc.c, tc.q); got != tc.want {
				t.Errorf("%s searching %q: %d records, want %d", tc.who, tc.q, got, tc.want)
			}
		}
		long := strings.Repeat("x", app.MaxSearch+1)
		if _, err := a.ListRecords(ctx, u20, app.RecordList{Type: "sales_order", Search: long}); access.ErrorCode(err) != access.CodeInvalid {
			t.Errorf("a search of %d characters: %v, want invalid", len(long), err)
		}
	})
}
