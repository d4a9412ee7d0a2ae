package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// testSearchAndCount checks the text search, attribute ranges and
// CountRecords against the records as written, through the staff
// predicate and an external user's (several branches: a clause with a
// cutoff is two), on every plan.
func testSearchAndCount(t *testing.T, b Backend) {
	s := open(t, b)
	const n = 300
	data := listData(t, s, n)
	mustPutRecord(t, s, &access.Record{Type: "inventory", ID: "odd_100%", Owner: "O1",
		Attributes: map[string]any{"sku": `a\b`, "warehouse": "W1", "quantity": float64(1)}})
	data["odd_100%"] = &access.Record{Type: "inventory", ID: "odd_100%", Owner: "O1",
		Attributes: map[string]any{"sku": `a\b`, "warehouse": "W1", "quantity": float64(1)}}
	user := &access.Predicate{Type: "inventory", User: "u1", Accounts: []access.AccountClause{
		{Accounts: []string{"O1"}},
		{Accounts: []string{"O2", "O3"}, Cond: access.Cond{Cutoff: "2024-05-10"}},
	}}
	visible := func(r *access.Record) bool {
		switch r.Owner {
		case "O1":
			return true
		case "O2", "O3":
			return r.Date == "" || day(r) >= "2024-05-10"
		}
		return false
	}
	preds := map[string]struct {
		p    *access.Predicate
		keep func(*access.Record) bool
	}{
		"staff": {allOf("inventory"), func(*access.Record) bool { return true }},
		"user":  {user, visible},
	}
	want := func(keep func(*access.Record) bool) []string {
		var out []string
		for id, r := range data {
			if keep(r) {
				out = append(out, id)
			}
		}
		return sortStrings(out)
	}
	contains := func(r *access.Record, text string) bool {
		text = strings.ToLower(text)
		sku, _ := r.Attributes["sku"].(string)
		return strings.Contains(strings.ToLower(r.ID), text) || strings.Contains(strings.ToLower(sku), text)
	}
	for name, pc := range preds {
		t.Run(name, func(t *testing.T) {
			for _, text := range []string{"sku-01", "Inv-002", "%", "_1", `\`, "nothing-like-this"} {
				q := store.RecordQuery{Type: "inventory", Predicate: pc.p, Limit: 17,
					Search: &store.TextSearch{Text: text, Fields: []string{"sku"}}}
				exp := want(func(r *access.Record) bool { return pc.keep(r) && contains(r, text) })
				if diff := cmp.Diff(exp, recordIDs(listAll(t, s, q))); diff != "" {
					t.Errorf("search %q (-want +got):\n%s", text, diff)
				}
				got, err := s.CountRecords(ctx(t), q, store.RecordCount{Max: 1001})
				if err != nil || got.N != len(exp) {
					t.Errorf("count of search %q = %d, %v; want %d", text, got.N, err, len(exp))
				}
			}
			q := store.RecordQuery{Type: "inventory", Predicate: pc.p, Sort: "attr.quantity",
				Ranges: map[string]store.Range{"quantity": {From: 40.0, To: 300.0}, "updated": {To: "2024-05-20"}}}
			exp := want(func(r *access.Record) bool {
				qty := r.Attributes["quantity"].(float64)
				return pc.keep(r) && qty >= 40 && qty <= 300
			})
			// updated is not set on these records: a bound on it matches none.
			if got := listAll(t, s, q); len(got) != 0 {
				t.Errorf("range on a missing attribute: %d records, want none", len(got))
			}
			delete(q.Ranges, "updated")
			if diff := cmp.Diff(exp, recordIDs(listAll(t, s, q))); diff != "" {
				t.Errorf("quantity 40..300 (-want +got):\n%s", diff)
			}

			all := want(pc.keep)
			for _, max := range []int{1, 10, len(all), len(all) + 5} {
				got, err := s.CountRecords(ctx(t), store.RecordQuery{Type: "inventory", Predicate: pc.p}, store.RecordCount{Max: max})
				if err != nil || got.N != min(max, len(all)) {
					t.Errorf("count up to %d = %d, %v; want %d", max, got.N, err, min(max, len(all)))
				}
			}
			sums := map[string]float64{}
			for _, id := range all {
				r := data[id]
				sums[r.Attributes["warehouse"].(string)] += r.Attributes["quantity"].(float64)
			}
			got, err := s.CountRecords(ctx(t), store.RecordQuery{Type: "inventory", Predicate: pc.p},
				store.RecordCount{Max: n + 10, Sum: "quantity", GroupBy: "warehouse"})
			if err != nil || got.N != len(all) {
				t.Fatalf("count with sums = %d, %v; want %d", got.N, err, len(all))
			}
			if diff := cmp.Diff(sums, got.Sums); diff != "" {
				t.Errorf("sums per warehouse (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("ErrInvalidField", func(t *testing.T) {
		_, _, err := s.ListRecords(ctx(t), store.RecordQuery{Type: "inventory", Predicate: allOf("inventory"),
			Ranges: map[string]store.Range{"sku": {From: "a"}}})
		wantCode(t, err, access.CodeInvalidField)
		_, _, err = s.ListRecords(ctx(t), store.RecordQuery{Type: "inventory", Predicate: allOf("inventory"),
			Ranges: map[string]store.Range{"updated": {From: "May"}}})
		wantCode(t, err, access.CodeInvalid)
	})
	t.Run("CursorOfAnotherSearch", func(t *testing.T) {
		q := store.RecordQuery{Type: "inventory", Predicate: allOf("inventory"), Limit: 5, Search: &store.TextSearch{Text: "inv"}}
		_, next, err := s.ListRecords(ctx(t), q)
		if err != nil || next == "" {
			t.Fatalf("first page: %v, next %q", err, next)
		}
		q.Cursor, q.Search = next, &store.TextSearch{Text: "sku"}
		_, _, err = s.ListRecords(ctx(t), q)
		wantCode(t, err, access.CodeInvalid)
	})
}

// recordIDs returns the records' ids, sorted.
func recordIDs(rs []*access.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return sortStrings(out)
}

func sortStrings(s []string) []string {
	if s == nil {
		s = []string{}
	}
	slices.Sort(s)
	return s
}

// testTeamDuplicates: a record shared with two of a user's accounts (two
// team entries that both match) is listed and counted once, and paging
// through the list reaches every record: no short page, no lost cursor.
func testTeamDuplicates(t *testing.T, b Backend) {
	s := open(t, b)
	var recs []*access.Record
	for i := range 120 {
		recs = append(recs, &access.Record{Type: "inventory", ID: fmt.Sprintf("inv-%04d", i), Owner: "OTHER",
			Date:       fmt.Sprintf("2026-01-%02d", 1+i%28),
			Teams:      []access.TeamEntry{{Principal: "account:A1", Access: access.AccessRead}, {Principal: "account:A2", Access: access.AccessRead}},
			Attributes: map[string]any{"sku": "x"}})
	}
	if _, err := s.Batch(ctx(t), by, store.RecordBatch{Upsert: recs}); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*access.Predicate{
		"plain":    {Type: "inventory", User: "u1", Accounts: []access.AccountClause{{Accounts: []string{"A1", "A2"}}}},
		"teamuser": {Type: "inventory", User: "u1", Accounts: []access.AccountClause{{Accounts: []string{"A1", "A2"}}}, TeamUser: &access.Cond{}},
	} {
		for _, sort := range []string{"-date", "id"} {
			q := store.RecordQuery{Type: "inventory", Predicate: p, Sort: sort}
			seen := map[string]bool{}
			for cur, pages := "", 0; ; pages++ {
				q.Cursor, q.Limit = cur, 25
				page, next, err := s.ListRecords(ctx(t), q)
				if err != nil {
					t.Fatalf("%s %s: %v", name, sort, err)
				}
				if next != "" && len(page) != 25 {
					t.Fatalf("%s %s: page %d has %d records and a next page", name, sort, pages, len(page))
				}
				for _, r := range page {
					if seen[r.ID] {
						t.Fatalf("%s %s: %s listed twice", name, sort, r.ID)
					}
					seen[r.ID] = true
				}
				if next == "" || pages > 10 {
					break
				}
				cur = next
			}
			if len(seen) != len(recs) {
				t.Errorf("%s %s: paging reached %d of %d records", name, sort, len(seen), len(recs))
			}
			n, err := s.CountRecords(ctx(t), store.RecordQuery{Type: "inventory", Predicate: p}, store.RecordCount{Max: 1001})
			if err != nil || n.N != len(recs) {
				t.Errorf("%s: count %d, %v; want %d", name, n.N, err, len(recs))
			}
		}
	}
}
