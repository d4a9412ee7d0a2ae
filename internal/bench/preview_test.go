package bench

import (
	"context"
	"os"
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
// measures it over HTTP). PORTCULLIS_PREVIEW_DB names a database `bench
// gen` wrote (medium or large: the same 200,000 orders among 1M or 10M
// records) to time instead of generating keyTree200k. It also reports
// the process's CPU time per preview (cpu-ms/op), the figure a shared
// machine leaves meaningful.
func BenchmarkPreview_GrantOnKeySubtree(b *testing.B) {
	var st *testStore
	var meta *Meta
	if dsn := os.Getenv("PORTCULLIS_PREVIEW_DB"); dsn != "" {
		st = mustOpen(b, dsn)
		var err error
		if meta, err = LoadMeta(context.Background(), st); err != nil {
			b.Fatal(err)
		}
	} else {
		_, st, meta = mustGenerate(b, keyTree200k, 1)
	}
	a := app.New(st, st.Engine(), app.Config{})
	admin, _ := st.Engine().User(meta.AdminUser)
	c := &app.Actor{User: admin}
	principal := "user:" + meta.RevokeUser
	changes := []app.PreviewChange{{Op: "grant.create", Grant: &app.GrantUpdate{Principal: app.Some(principal),
		Account: app.Some(worldgen.KeyAccount), Role: app.Some("L30")}}}
	ctx := context.Background()
	meter := selfCPU()
	cpu0, err := meter.read(ctx)
	if err != nil {
		b.Fatal(err)
	}
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
	cpu1, err := meter.read(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64((cpu1-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
}
