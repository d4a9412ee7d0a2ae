package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
)

// TestPostgresBatchLookupPlan: on PostgreSQL, the batch's existence
// lookup probes records_type_id by (type, id) for each id, also without
// statistics and as a generic plan (the plan an import's transaction gets
// for its own rows). Reading every record of the type instead made
// imports quadratic.
func TestPostgresBatchLookupPlan(t *testing.T) {
	t.Parallel()
	s := recOpen(t, pgtest.DSN(t))
	ctx := context.Background()
	recs := make([]*access.Record, 2000)
	for i := range recs {
		recs[i] = salesOrder(fmt.Sprintf("SO%08d", i), fmt.Sprintf("c%05d", i%200), "2025-03-01", "open", 1)
	}
	if _, err := s.Batch(ctx, store.Write{}, store.RecordBatch{Upsert: recs}); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec("SET LOCAL plan_cache_mode = " + mode); err != nil {
			t.Fatal(err)
		}
		var plan []string
		rs, err := tx.Query("EXPLAIN (COSTS OFF) "+postgresLookupSQL, "sales_order", []string{"SO00000001", "SO00009999"})
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var l string
			if err := rs.Scan(&l); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, l)
		}
		rs.Close()
		tx.Rollback()
		p := strings.Join(plan, "\n")
		if !strings.Contains(p, "Index Scan using records_type_id") || !strings.Contains(p, "(id = ") {
			t.Errorf("%s: the lookup does not probe records_type_id by id:\n%s", mode, p)
		}
	}
}
