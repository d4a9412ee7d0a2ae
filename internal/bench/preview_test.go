package bench

import (
	"context"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/worldgen"
)

// keyTree200k is a dataset whose key account tree owns 200,000 sales
// orders (governance.md §1's subtree), small elsewhere so that it
// generates in seconds.
var keyTree200k = Size{Name: "key200k", Customers: 200, Distributors: 10, Users: 1_000, DirectGrants: 2_500, Records: 400_000, KeyOrders: 200_000}

// BenchmarkPreview_GrantOnKeySubtree times one impact preview of an L30
// grant on the key account's subtree (200,000 orders) on SQLite, in
// process: the target is ≤ 2 s (at large, `bench run --workload preview`
// measures it over HTTP).
func BenchmarkPreview_GrantOnKeySubtree(b *testing.B) {
	_, st, meta := mustGenerate(b, keyTree200k, 1)
	a := app.New(st, st.Engine(), app.Config{})
	admin, _ := st.Engine().User(meta.AdminUser)
	c := &app.Actor{User: admin}
	principal := "user:" + meta.RevokeUser
	changes := []app.PreviewChange{{Op: "grant.create", Grant: &app.GrantUpdate{Principal: app.Some(principal),
		Account: app.Some(worldgen.KeyAccount), Role: app.Some("L30")}}}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		p, err := a.PreviewChanges(ctx, c, changes)
		if err != nil {
			b.Fatal(err)
		}
		if p.Users != 1 {
			b.Fatalf("preview %+v", p)
		}
	}
}
