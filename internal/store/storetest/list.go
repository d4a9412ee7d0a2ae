package storetest

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// allOf is the staff predicate for typ.
func allOf(typ string) *access.Predicate { return &access.Predicate{Type: typ, All: true} }

// listData writes n inventory records with many equal dates (ties), some
// undated, some RFC 3339 instants whose UTC day differs from their local
// one, owners among O1..O4, warehouses W1..W4 and numeric quantities whose
// string order differs from their numeric order. It returns them by id.
func listData(t *testing.T, s *instance, n int) map[string]*access.Record {
	t.Helper()
	for i := 1; i <= 4; i++ {
		mustPutAccount(t, s, account(fmt.Sprintf("O%d", i), ""))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	out := map[string]*access.Record{}
	var batch store.RecordBatch
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		r := &access.Record{Type: "inventory", ID: fmt.Sprintf("inv-%04d", i),
			Owner: fmt.Sprintf("O%d", rng.IntN(4)+1),
			Attributes: map[string]any{
				"sku":       fmt.Sprintf("SKU-%03d", rng.IntN(1000)),
				"warehouse": fmt.Sprintf("W%d", rng.IntN(4)+1),
				"quantity":  float64([]int{5, 40, 300, 1000, 7, 99}[rng.IntN(6)] + rng.IntN(3)),
			}}
		day := base.AddDate(0, 0, -rng.IntN(40))
		switch k := rng.IntN(10); {
		case k == 0:
			// undated
		case k == 1:
			// 23:30 at UTC-5 is the next day in UTC.
			r.Date = day.Format(time.DateOnly) + "T23:30:00-05:00"
		case k == 2:
			// 01:00 at UTC+3 is the previous day in UTC.
			r.Date = day.Format(time.DateOnly) + "T01:00:00+03:00"
		default:
			r.Date = day.Format(time.DateOnly)
		}
		out[r.ID] = r
		batch.Upsert = append(batch.Upsert, cloneRecord(r))
	}
	if _, err := s.Batch(ctx(t), by, batch); err != nil {
		t.Fatalf("Batch: %v", err)
	}
	return out
}

// day returns the UTC calendar day of a record ("" for undated).
func day(r *access.Record) string {
	d, err := access.Day(r.Date)
	if err != nil {
		panic(err)
	}
	return d
}

// sortKey compares two records by a sort key; 0 when the key ties.
// Undated records sort after dated ones in both directions (DESIGN.md §5.8).
func sortKey(sortBy string, a, b *access.Record) int {
	desc := strings.HasPrefix(sortBy, "-")
	key := strings.TrimPrefix(sortBy, "-")
	var c int
	switch {
	case key == "date":
		da, db := day(a), day(b)
		switch {
		case da == db:
			return 0
		case da == "":
			return 1
		case db == "":
			return -1
		}
		c = strings.Compare(da, db)
	case key == "id":
		c = strings.Compare(a.ID, b.ID)
	case key == "updated_at":
		c = a.UpdatedAt.Compare(b.UpdatedAt)
	case strings.HasPrefix(key, "attr."):
		va, vb := a.Attributes[key[5:]], b.Attributes[key[5:]]
		switch x := va.(type) {
		case float64:
			c = cmpFloat(x, vb.(float64))
		case string:
			c = strings.Compare(x, vb.(string))
		}
	}
	if desc {
		return -c
	}
	return c
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testListRecords(t *testing.T, b Backend) {
	s := open(t, b)
	const n = 520
	data := listData(t, s, n)
	mustPutRecord(t, s, &access.Record{Type: "sales_order", ID: "inv-0001", Owner: "O1", Date: "2024-05-01",
		Attributes: map[string]any{}}) // another type with a colliding id
	allIDs := make([]string, 0, n)
	for id := range data {
		allIDs = append(allIDs, id)
	}
	sort.Strings(allIDs)

	// want returns the ids of the records keep selects, sorted.
	want := func(keep func(*access.Record) bool) []string {
		var out []string
		for _, id := range allIDs {
			if keep(data[id]) {
				out = append(out, id)
			}
		}
		return out
	}
	sortedIDs := func(rs []*access.Record) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.ID
		}
		sort.Strings(out)
		return out
	}

	t.Run("Sort", func(t *testing.T) {
		for _, sortBy := range []string{"", "-date", "date", "id", "-id", "attr.quantity", "-attr.quantity", "attr.sku", "-attr.sku"} {
			for _, limit := range []int{7, 100} {
				t.Run(fmt.Sprintf("%s/limit%d", orDefault(sortBy, "default"), limit), func(t *testing.T) {
					got := listAll(t, s, store.RecordQuery{Type: "inventory", Predicate: allOf("inventory"), Sort: sortBy, Limit: limit})
					if diff := cmp.Diff(allIDs, sortedIDs(got)); diff != "" {
						t.Errorf("paging did not return every record exactly once (-want +got):\n%s", diff)
					}
					key := orDefault(sortBy, "-date")
					for i := 1; i < len(got); i++ {
						// Compare with what was written: the store's
						// copy must sort the same.
						prev, cur := data[got[i-1].ID], data[got[i].ID]
						if prev == nil || cur == nil {
							continue
						}
						if sortKey(key, prev, cur) > 0 {
							t.Errorf("sort %s: %s (date %q, attrs %v) before %s (date %q, attrs %v)", key,
								prev.ID, prev.Date, prev.Attributes, cur.ID, cur.Date, cur.Attributes)
							break
						}
					}
				})
			}
		}
	})

	t.Run("Limit", func(t *testing.T) {
		page, next, err := s.ListRecords(ctx(t), store.RecordQuery{Type: "inventory", Predicate: allOf("inventory")})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != store.DefaultListLimit || next == "" {
			t.Errorf("no limit: a page of %d (next %q), want %d and a cursor", len(page), next, store.DefaultListLimit)
		}
		page, next, err = s.ListRecords(ctx(t), store.RecordQuery{Type: "inventory", Predicate: allOf("inventory"), Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != store.MaxListLimit || next == "" {
			t.Errorf("limit 1000: a page of %d (next %q), want %d and a cursor", len(page), next, store.MaxListLimit)
		}
		page, next, err = s.ListRecords(ctx(t), store.RecordQuery{Type: "inventory", Predicate: allOf("inventory"), Sort: "id", Limit: n})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != store.MaxListLimit {
			t.Errorf("limit %d: a page of %d, want %d", n, len(page), store.MaxListLimit)
		}
		// The last page carries no cursor, even when it is exactly full.
		q := store.RecordQuery{Type: "inventory", Predicate: allOf("inventory"), Sort: "id", Limit: n - store.MaxListLimit, Cursor: next}
		page, next, err = s.ListRecords(ctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != n-store.MaxListLimit || next != "" {
			t.Errorf("last page: %d records, next %q; want %d and no cursor", len(page), next, n-store.MaxListLimit)
		}
	})

	t.Run("EmptyType", func(t *testing.T) {
		page, next, err := s.ListRecords(ctx(t), store.RecordQuery{Type: "payment", Predicate: allOf("payment")})
		if err != nil || len(page) != 0 || next != "" {
			t.Errorf("ListRecords(payment) = %d records, %q, %v; want none", len(page), next, err)
		}
	})

	t.Run("EmptyPredicate", func(t *testing.T) {
		page, _, err := s.ListRecords(ctx(t), store.RecordQuery{Type: "inventory", Predicate: &access.Predicate{Type: "inventory", User: "x"}})
		if err != nil || len(page) != 0 {
			t.Errorf("an empty predicate listed %d records (err %v)", len(page), err)
		}
	})

	t.Run("Filter", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			q    store.RecordQuery
			keep func(*access.Record) bool
		}{
			{"Accounts", store.RecordQuery{Accounts: []string{"O1", "O3"}},
				func(r *access.Record) bool { return r.Owner == "O1" || r.Owner == "O3" }},
			{"DateFrom", store.RecordQuery{DateFrom: "2024-05-20"},
				func(r *access.Record) bool { return day(r) != "" && day(r) >= "2024-05-20" }},
			{"DateTo", store.RecordQuery{DateTo: "2024-05-20"},
				func(r *access.Record) bool { return day(r) != "" && day(r) <= "2024-05-20" }},
			{"DateRange", store.RecordQuery{DateFrom: "2024-05-10", DateTo: "2024-05-12"},
				func(r *access.Record) bool { return day(r) >= "2024-05-10" && day(r) <= "2024-05-12" }},
			{"AttrOr", store.RecordQuery{Attrs: map[string][]any{"warehouse": {"W1", "W3"}}},
				func(r *access.Record) bool { w := r.Attributes["warehouse"]; return w == "W1" || w == "W3" }},
			{"AttrNumber", store.RecordQuery{Attrs: map[string][]any{"quantity": {40.0, 1000.0}}},
				func(r *access.Record) bool { q := r.Attributes["quantity"]; return q == 40.0 || q == 1000.0 }},
			{"Combined", store.RecordQuery{Accounts: []string{"O2"}, DateFrom: "2024-05-01",
				Attrs: map[string][]any{"warehouse": {"W2"}, "quantity": {5.0, 6.0, 7.0, 8.0}}},
				func(r *access.Record) bool {
					q := r.Attributes["quantity"].(float64)
					return r.Owner == "O2" && day(r) >= "2024-05-01" && r.Attributes["warehouse"] == "W2" && q >= 5 && q <= 8
				}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := tc.q
				q.Type, q.Predicate, q.Limit = "inventory", allOf("inventory"), 11
				w := want(tc.keep)
				if len(w) == 0 {
					t.Fatal("test data selects nothing")
				}
				if diff := cmp.Diff(w, sortedIDs(listAll(t, s, q))); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("DaysBackRanges", func(t *testing.T) {
		// A clause with a cutoff has two owner ranges, its dated rows
		// from the cutoff on and its undated rows; a page of a date sort
		// reads the undated ones only when the dated rows do not fill it,
		// and merges them with the undated rows of the other branches.
		// Team entries of the user reach undated records of O4 (no owner
		// path) and some records of O1, undated ones included, that its
		// owner path reaches too.
		s := open(t, b)
		data := listData(t, s, 240)
		var batch store.RecordBatch
		src := access.RecordMap{}
		ids := slices.Sorted(maps.Keys(data))
		for i, id := range ids {
			r := data[id]
			if (r.Owner == "O4" && day(r) == "") || (r.Owner == "O1" && i%3 == 0) {
				r.Teams = []access.TeamEntry{{Principal: "user:u1", Access: "read"}}
				batch.Upsert = append(batch.Upsert, cloneRecord(r))
			}
			src[access.Ref{Type: r.Type, ID: r.ID}] = r
		}
		if _, err := s.Batch(ctx(t), by, batch); err != nil {
			t.Fatal(err)
		}
		p := &access.Predicate{Type: "inventory", User: "u1", TeamUser: &access.Cond{}, Accounts: []access.AccountClause{
			{Accounts: []string{"O1", "O2"}, Cond: access.Cond{Cutoff: "2024-05-10"}},
			{Accounts: []string{"O3"}, Cond: access.Cond{Cutoff: "2024-05-25"}},
		}}
		var want []string
		undated := map[string]bool{}
		for _, id := range ids {
			if p.Matches(data[id], src) {
				want = append(want, id)
				if day(data[id]) == "" {
					undated[data[id].Owner] = true
				}
			}
		}
		if !undated["O1"] || !undated["O2"] || !undated["O4"] {
			t.Fatalf("test data has no undated rows of O1, O2 and O4 to list: %v", undated)
		}
		for _, sortBy := range []string{"-date", "date"} {
			for _, limit := range []int{1, 4, 9, 37, len(want) - 1, len(want), 500} {
				got := listAll(t, s, store.RecordQuery{Type: "inventory", Predicate: p, Sort: sortBy, Limit: limit})
				if diff := cmp.Diff(want, sortedIDs(got)); diff != "" {
					t.Fatalf("sort %s, limit %d (-want +got):\n%s", sortBy, limit, diff)
				}
				for i := 1; i < len(got); i++ {
					prev, cur := data[got[i-1].ID], data[got[i].ID]
					c := sortKey(sortBy, prev, cur)
					if c == 0 && day(prev) == "" && (prev.ID < cur.ID) == (sortBy == "-date") {
						c = 1 // undated rows follow their ids in the sort's direction
					}
					if c > 0 {
						t.Fatalf("sort %s, limit %d: %s (date %q) before %s (date %q)", sortBy, limit, prev.ID, prev.Date, cur.ID, cur.Date)
					}
				}
			}
		}
	})

	t.Run("ErrCursorMismatch", func(t *testing.T) {
		q := store.RecordQuery{Type: "inventory", Predicate: allOf("inventory"), Sort: "-date", Limit: 10}
		_, next, err := s.ListRecords(ctx(t), q)
		if err != nil || next == "" {
			t.Fatalf("first page: next %q, err %v", next, err)
		}
		q.Cursor = next
		q.Sort = "id"
		_, _, err = s.ListRecords(ctx(t), q)
		wantCode(t, err, access.CodeInvalid)
		q.Sort = "-date"
		q.Attrs = map[string][]any{"warehouse": {"W1"}}
		_, _, err = s.ListRecords(ctx(t), q)
		wantCode(t, err, access.CodeInvalid)
		q.Attrs = nil
		q.Cursor = "garbage!"
		_, _, err = s.ListRecords(ctx(t), q)
		wantCode(t, err, access.CodeInvalid)
	})

	t.Run("UpdatedSince", func(t *testing.T) {
		s := open(t, b)
		mustPutRecord(t, s, inv("u1"))
		time.Sleep(20 * time.Millisecond)
		mustPutRecord(t, s, inv("u2"))
		time.Sleep(20 * time.Millisecond)
		mustPutRecord(t, s, inv("u3"))
		r2, err := s.GetRecord(ctx(t), "inventory", "u2")
		if err != nil {
			t.Fatal(err)
		}
		since := r2.UpdatedAt
		got := listAll(t, s, store.RecordQuery{Type: "inventory", Predicate: allOf("inventory"), UpdatedSince: &since, Sort: "updated_at", Limit: 1})
		if diff := cmp.Diff([]string{"inventory/u2", "inventory/u3"}, ids(got)); diff != "" {
			t.Errorf("updated since u2, by updated_at (-want +got):\n%s", diff)
		}
		// u1 updated again comes last.
		time.Sleep(20 * time.Millisecond)
		mustPutRecord(t, s, inv("u1"))
		got = listAll(t, s, store.RecordQuery{Type: "inventory", Predicate: allOf("inventory"), UpdatedSince: &since, Sort: "updated_at"})
		if diff := cmp.Diff([]string{"inventory/u2", "inventory/u3", "inventory/u1"}, ids(got)); diff != "" {
			t.Errorf("after updating u1 (-want +got):\n%s", diff)
		}
	})

	t.Run("StableUnderConcurrentInserts", func(t *testing.T) {
		// The same with a writer running while the pages are read.
		s := open(t, b)
		data := listData(t, s, 200)
		stop := make(chan struct{})
		writerDone := make(chan error, 1)
		go func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					writerDone <- nil
					return
				default:
				}
				day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%300)
				_, err := s.Batch(ctx(t), by, store.RecordBatch{Upsert: []*access.Record{
					{Type: "inventory", ID: fmt.Sprintf("cnew-%05d", i), Date: day.Format(time.DateOnly), Attributes: map[string]any{}},
					{Type: "inventory", ID: fmt.Sprintf("cmid-%05d", i), Date: "2024-05-15", Attributes: map[string]any{}},
				}})
				if err != nil {
					writerDone <- err
					return
				}
			}
		}()
		seen := map[string]int{}
		q := store.RecordQuery{Type: "inventory", Predicate: allOf("inventory"), Sort: "-date", Limit: 7}
		for page := 0; page < 10000; page++ {
			recs, next, err := s.ListRecords(ctx(t), q)
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			for _, r := range recs {
				seen[r.ID]++
				if seen[r.ID] == 2 {
					t.Errorf("page %d: %s served again", page, r.ID)
				}
			}
			if next == "" {
				break
			}
			q.Cursor = next
			time.Sleep(time.Millisecond)
		}
		close(stop)
		if err := <-writerDone; err != nil {
			t.Fatalf("concurrent writer: %v", err)
		}
		for id := range data {
			if seen[id] == 0 {
				t.Errorf("%s, present at the start, was skipped", id)
			}
		}
	})

	t.Run("StableUnderInserts", func(t *testing.T) {
		// Records inserted while a client pages with -date: newer ones
		// sort before the pages already served and must not shift them;
		// nothing present at the start may be skipped or repeated.
		s := open(t, b)
		data := listData(t, s, 150)
		initial := map[string]bool{}
		for id := range data {
			initial[id] = true
		}
		seen := map[string]int{}
		q := store.RecordQuery{Type: "inventory", Predicate: allOf("inventory"), Sort: "-date", Limit: 9}
		rng := rand.New(rand.NewPCG(3, 4))
		var lastKey *access.Record
		for page := 0; ; page++ {
			recs, next, err := s.ListRecords(ctx(t), q)
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			for _, r := range recs {
				seen[r.ID]++
				if seen[r.ID] == 2 {
					t.Errorf("page %d: %s served again", page, r.ID)
				}
				if orig := data[r.ID]; orig != nil && lastKey != nil && sortKey("-date", lastKey, orig) > 0 {
					t.Errorf("page %d: %s (%q) after %s (%q) under -date", page, r.ID, orig.Date, lastKey.ID, lastKey.Date)
				}
				if orig := data[r.ID]; orig != nil {
					lastKey = orig
				}
			}
			if next == "" {
				break
			}
			q.Cursor = next
			// Between pages: newer records, records dated inside the
			// range, and an undated one.
			var batch store.RecordBatch
			for j := range 3 {
				batch.Upsert = append(batch.Upsert, &access.Record{Type: "inventory", ID: fmt.Sprintf("new-%03d-%d", page, j),
					Date: time.Date(2025, 1, 1+page%28, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), Attributes: map[string]any{}})
			}
			batch.Upsert = append(batch.Upsert, &access.Record{Type: "inventory", ID: fmt.Sprintf("mid-%03d", page),
				Date: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -rng.IntN(40)).Format(time.DateOnly), Attributes: map[string]any{}})
			batch.Upsert = append(batch.Upsert, &access.Record{Type: "inventory", ID: fmt.Sprintf("undated-%03d", page), Attributes: map[string]any{}})
			if _, err := s.Batch(ctx(t), by, batch); err != nil {
				t.Fatalf("inserting between pages: %v", err)
			}
			if page > 1000 {
				t.Fatal("paging does not end")
			}
		}
		var missing []string
		for id := range initial {
			if seen[id] == 0 {
				missing = append(missing, id)
			}
		}
		slices.Sort(missing)
		if len(missing) > 0 {
			t.Errorf("%d records present at the start were skipped: %v", len(missing), missing)
		}
		for id := range seen {
			if strings.HasPrefix(id, "new-") {
				t.Errorf("%s, newer than every served page, was served later under -date", id)
			}
		}
	})
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
