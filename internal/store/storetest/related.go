package storetest

import (
	"cmp"
	"slices"
	"sort"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// checkParentFilter holds related lists (RecordQuery.Parent, records.md
// §3) to the engine: for every user, the children of a parent that
// ListRecords returns with the user's read predicate are exactly the
// children the engine lets it read, never an invisible one, whichever
// path (owner, team, sharing) makes a child visible. It checks the
// parents with the most children of both child types of the world, and
// a parent that does not exist.
func checkParentFilter(t *testing.T, s *instance, w *world) {
	t.Helper()
	src := access.RecordMap(w.records)
	e := s.Engine()
	children := map[access.Ref][]*access.Record{}
	for _, r := range w.records {
		if r.Parent != nil {
			children[*r.Parent] = append(children[*r.Parent], r)
		}
	}
	parents := []access.Ref{{Type: "sales_order", ID: "SO-404"}}
	for _, typ := range []string{"sales_order", "invoice"} {
		var refs []access.Ref
		for ref := range children {
			if ref.Type == typ {
				refs = append(refs, ref)
			}
		}
		slices.SortFunc(refs, func(a, b access.Ref) int {
			return cmp.Or(len(children[b])-len(children[a]), cmp.Compare(a.ID, b.ID))
		})
		parents = append(parents, refs[:min(5, len(refs))]...)
	}
	hidden, shown := 0, 0
	for _, u := range w.users {
		for _, ref := range parents {
			typ := map[string]string{"sales_order": "shipment", "invoice": "payment"}[ref.Type]
			p, err := e.Predicate(u.ID, typ, policy.Read)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, c := range children[ref] {
				if e.Allowed(u.ID, c, policy.Read, src) {
					want = append(want, c.ID)
				} else {
					hidden++
				}
			}
			shown += len(want)
			q := store.RecordQuery{Type: typ, Predicate: p, Parent: &ref, Limit: 2}
			if len(u.ID)%2 == 0 {
				q.Sort = "id"
			}
			var got []string
			for _, r := range listAll(t, s, q) {
				if r.Parent == nil || *r.Parent != ref {
					t.Errorf("ListRecords(%s, parent %v) for %s: %s has parent %v", typ, ref, u.ID, r.ID, r.Parent)
				}
				got = append(got, r.ID)
			}
			sort.Strings(want)
			sort.Strings(got)
			if diff := gocmp.Diff(want, got, cmpEmpty); diff != "" {
				t.Errorf("ListRecords(%s, parent %v) for %s disagrees with Allowed (-allowed +listed):\n%s\npredicate: %s",
					typ, ref, u.ID, diff, describePredicate(p))
			}
		}
	}
	if hidden == 0 || shown == 0 {
		t.Errorf("parent filter: %d visible and %d invisible children checked; the world should have both", shown, hidden)
	}
}
