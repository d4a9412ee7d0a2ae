package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
)

// testNow is the fixed clock of the record tests.
var testNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// recOpen opens a store on dsn with the fixed clock and closes it when tb
// ends.
func recOpen(tb testing.TB, dsn string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), dsn, Options{Clock: func() time.Time { return testNow }})
	if err != nil {
		tb.Fatalf("Open(%s): %v", dsn, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// recBackends runs fn as a subtest on a fresh SQLite store and on a fresh
// PostgreSQL store (skipped without PostgreSQL, failed in CI).
func recBackends(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Run("SQLite", func(t *testing.T) { fn(t, recOpen(t, ":memory:")) })
	t.Run("PostgreSQL", func(t *testing.T) { fn(t, recOpen(t, pgtest.DSN(t))) })
}

// recWantCode fails unless err is an *access.Error with code, and returns it.
func recWantCode(t *testing.T, err error, code string) *access.Error {
	t.Helper()
	var e *access.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("got error %v, want code %s", err, code)
	}
	return e
}

// order returns a sales order of the default policy with three lines.
func salesOrder(id, owner, date string, status string, amount float64) *access.Record {
	lines := make([]any, 3)
	for i := range lines {
		lines[i] = map[string]any{"sku": fmt.Sprintf("SKU-%d", i), "qty": float64(i + 1), "price": 9.5, "amount": 9.5 * float64(i+1)}
	}
	return &access.Record{Type: "sales_order", ID: id, Owner: owner, Date: date, Attributes: map[string]any{
		"number": id, "status": status, "customer": owner, "order_date": date, "amount": amount, "currency": "EUR", "lines": lines,
	}}
}

func recPut(t *testing.T, s *Store, r *access.Record) {
	t.Helper()
	if _, _, err := s.PutRecord(t.Context(), store.Write{}, r); err != nil {
		t.Fatalf("PutRecord(%s/%s): %v", r.Type, r.ID, err)
	}
}

func recBatch(t testing.TB, s *Store, b store.RecordBatch) store.BatchResult {
	t.Helper()
	res, err := s.Batch(context.Background(), store.Write{}, b)
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	return res
}

func TestRecords_CRUD(t *testing.T) {
	recBackends(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		if _, err := s.GetRecord(ctx, "sales_order", "SO1"); access.ErrorCode(err) != access.CodeNotFound {
			t.Fatalf("GetRecord of a missing record: %v, want not_found", err)
		}
		so := salesOrder("SO1", "c1", "2025-06-01", "open", 10)
		so.Teams = []access.TeamEntry{{Principal: "user:u9", Access: access.AccessRead}, {Principal: "account:c7", Access: access.AccessReadWrite}}
		so.Creator = "u1"
		created, rev, err := s.PutRecord(ctx, store.Write{}, so)
		if err != nil || !created || rev == 0 {
			t.Fatalf("PutRecord: created %v, rev %d, err %v", created, rev, err)
		}
		if so.Revision != rev || !so.UpdatedAt.Equal(testNow) {
			t.Errorf("bookkeeping: revision %d updated_at %v, want %d %v", so.Revision, so.UpdatedAt, rev, testNow)
		}
		got, err := s.GetRecord(ctx, "sales_order", "SO1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Owner != "c1" || got.Date != "2025-06-01" || got.Creator != "u1" || len(got.Teams) != 2 ||
			got.Teams[1].Principal != "account:c7" || got.Attributes["status"] != "open" || got.Revision != rev {
			t.Errorf("GetRecord = %+v", got)
		}
		if lines, _ := got.Attributes["lines"].([]any); len(lines) != 3 {
			t.Errorf("lines = %v", got.Attributes["lines"])
		}

		// Replace: teams go, the owner is cleared, the revision moves on.
		so2 := salesOrder("SO1", "", "2025-06-02T23:30:00+02:00", "closed", 11)
		created, rev2, err := s.PutRecord(ctx, store.Write{}, so2)
		if err != nil || created || rev2 <= rev {
			t.Fatalf("replace: created %v, rev %d (after %d), err %v", created, rev2, rev, err)
		}
		got, _ = s.GetRecord(ctx, "sales_order", "SO1")
		if got.Owner != "" || len(got.Teams) != 0 || got.Date != "2025-06-02T23:30:00+02:00" || got.Revision != rev2 {
			t.Errorf("after replace: %+v", got)
		}
		var teamRows int
		if err := s.db.QueryRow(`SELECT COUNT(*) FROM record_teams`).Scan(&teamRows); err != nil || teamRows != 0 {
			t.Errorf("team rows after replace: %d, %v", teamRows, err)
		}

		// A missing parent is fine; the shape is the caller's
		// (access.Engine.ValidateRecord), a date the store cannot key is
		// refused.
		recPut(t, s, &access.Record{Type: "shipment", ID: "SH1", Parent: &access.Ref{Type: "sales_order", ID: "nope"}})
		_, _, err = s.PutRecord(ctx, store.Write{}, &access.Record{Type: "sales_order", ID: "SO9", Date: "yesterday"})
		recWantCode(t, err, access.CodeInvalid)

		m, err := s.GetRecords(ctx, []access.Ref{{Type: "sales_order", ID: "SO1"}, {Type: "shipment", ID: "SH1"}, {Type: "shipment", ID: "x"}})
		if err != nil || len(m) != 2 || m.Record(access.Ref{Type: "shipment", ID: "SH1"}).Parent.ID != "nope" {
			t.Errorf("GetRecords = %v, %v", m, err)
		}

		rev3, err := s.DeleteRecord(ctx, store.Write{}, "sales_order", "SO1")
		if err != nil || rev3 <= rev2 {
			t.Fatalf("DeleteRecord: %d, %v", rev3, err)
		}
		if _, err := s.GetRecord(ctx, "sales_order", "SO1"); access.ErrorCode(err) != access.CodeNotFound {
			t.Errorf("GetRecord after delete: %v", err)
		}
		if rev4, err := s.DeleteRecord(ctx, store.Write{}, "sales_order", "SO1"); err != nil || rev4 != rev3 {
			t.Errorf("second DeleteRecord: %d, %v; want a no-op at %d", rev4, err, rev3)
		}
	})
}

func TestBatch_AllOrNothing(t *testing.T) {
	recBackends(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		recPut(t, s, salesOrder("KEEP", "c1", "2025-01-01", "open", 1))
		before, _ := s.currentRevision(ctx)
		b := store.RecordBatch{
			Upsert: []*access.Record{
				salesOrder("A", "c1", "2025-01-02", "open", 1),
				{Type: "sales_order", ID: "S1", Attributes: map[string]any{"blob": string(make([]byte, access.MaxAttributesSize))}}, // too large
				salesOrder("B", "c1", "not a date", "open", 1),
				salesOrder("A", "c2", "", "open", 1), // duplicate
			},
			Delete: []access.Ref{{Type: "sales_order", ID: "KEEP"}, {Type: "nope", ID: "x"}},
		}
		e := recWantCode(t, func() error { _, err := s.Batch(ctx, store.Write{}, b); return err }(), access.CodeInvalid)
		var idx []int
		for _, it := range e.Items {
			idx = append(idx, it.Index)
		}
		if !slices.Equal(idx, []int{1, 2, 3, 5}) {
			t.Errorf("bad items %v (%+v), want 1, 2, 3, 5", idx, e.Items)
		}
		if after, _ := s.currentRevision(ctx); after != before {
			t.Errorf("revision moved from %d to %d on a failed batch", before, after)
		}
		if _, err := s.GetRecord(ctx, "sales_order", "A"); access.ErrorCode(err) != access.CodeNotFound {
			t.Errorf("item of a failed batch was written: %v", err)
		}
		if _, err := s.GetRecord(ctx, "sales_order", "KEEP"); err != nil {
			t.Errorf("delete of a failed batch was applied: %v", err)
		}

		// A good batch: one revision, replaces, deletes, a missing delete.
		var ups []*access.Record
		for i := range 1000 {
			r := salesOrder(fmt.Sprintf("O%04d", i), "c1", "2025-01-02", "open", float64(i))
			if i%10 == 0 {
				r.Teams = []access.TeamEntry{{Principal: "user:u1", Access: access.AccessRead}}
			}
			ups = append(ups, r)
		}
		res := recBatch(t, s, store.RecordBatch{Upsert: ups, Delete: []access.Ref{{Type: "sales_order", ID: "KEEP"}, {Type: "sales_order", ID: "missing"}}})
		if res.Upserted != 1000 || res.Deleted != 1 || res.Revision != before+1 {
			t.Errorf("Batch = %+v, want 1000 upserted, 1 deleted, revision %d", res, before+1)
		}
		// Replace them all with different teams: team rows follow.
		for i, r := range ups {
			r.Teams = nil
			if i%10 == 5 {
				r.Teams = []access.TeamEntry{{Principal: "account:c9", Access: access.AccessReadWrite}}
			}
		}
		recBatch(t, s, store.RecordBatch{Upsert: ups})
		var n int
		if err := s.db.QueryRow(`SELECT COUNT(*) FROM record_teams WHERE principal = 'account:c9'`).Scan(&n); err != nil || n != 100 {
			t.Errorf("team rows: %d, %v; want 100", n, err)
		}
		if err := s.db.QueryRow(`SELECT COUNT(*) FROM record_teams WHERE principal = 'user:u1'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("stale team rows: %d, %v", n, err)
		}
		got, _ := s.GetRecord(ctx, "sales_order", "O0005")
		if len(got.Teams) != 1 || got.Revision != before+2 {
			t.Errorf("replaced record: %+v", got)
		}
		_, err := s.Batch(ctx, store.Write{}, store.RecordBatch{Upsert: make([]*access.Record, store.MaxBatch+1)})
		if access.ErrorCode(err) == "" || access.ErrorCode(err) == access.CodeInternal {
			t.Errorf("oversized batch: %v", err)
		}
	})
}

// TestBatch_MixedTypes writes one chunk of several types (each row binds
// its type) and one of a single type (the statement carries it as a
// literal): every record reads back under its own type only.
func TestBatch_MixedTypes(t *testing.T) {
	recBackends(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		var mixed, single []*access.Record
		for i := range 20 {
			id := fmt.Sprintf("M%02d", i)
			mixed = append(mixed, salesOrder(id, "c1", "2025-01-02", "open", 1))
			if i%3 == 0 {
				mixed = append(mixed, &access.Record{Type: "shipment", ID: id, Owner: "c2", Parent: &access.Ref{Type: "sales_order", ID: id}})
			}
			single = append(single, &access.Record{Type: "shipment", ID: fmt.Sprintf("S%02d", i), Owner: "c3"})
		}
		recBatch(t, s, store.RecordBatch{Upsert: mixed})
		recBatch(t, s, store.RecordBatch{Upsert: single})
		for _, r := range append(mixed, single...) {
			got, err := s.GetRecord(ctx, r.Type, r.ID)
			if err != nil || got.Owner != r.Owner {
				t.Fatalf("GetRecord(%s, %s) = %+v, %v; want owner %s", r.Type, r.ID, got, err, r.Owner)
			}
		}
		var n int
		if err := s.db.QueryRow(`SELECT COUNT(*) FROM records WHERE type = 'shipment'`).Scan(&n); err != nil || n != 27 {
			t.Errorf("%d shipments (%v), want 7 of the mixed batch and 20 of the single one", n, err)
		}
	})
}

// listAllPages walks every page of q with a small limit and returns the
// ids in order; it fails on a repeated id.
func listAllPages(t *testing.T, s *Store, q store.RecordQuery, threshold int) []string {
	t.Helper()
	typ := s.policyNow().Type(q.Type)
	var out []string
	seen := map[string]bool{}
	for page := 0; ; page++ {
		recs, next, err := s.listRecords(t.Context(), typ, q, threshold)
		if err != nil {
			t.Fatalf("ListRecords(%+v): %v", q, err)
		}
		for _, r := range recs {
			if seen[r.ID] {
				t.Fatalf("page %d repeats %s", page, r.ID)
			}
			seen[r.ID] = true
			out = append(out, r.ID)
		}
		if next == "" {
			return out
		}
		if len(recs) != max(q.Limit, 1) && q.Limit > 0 {
			t.Fatalf("page %d has %d records but a next cursor", page, len(recs))
		}
		q.Cursor = next
	}
}

// expectOrder sorts recs as sort s promises (undated and attribute-less
// records last in both directions) and returns the ids.
func expectOrder(recs []*access.Record, sortBy string) []string {
	name, desc := strings.CutPrefix(sortBy, "-")
	dir := func(c int) int {
		if desc {
			return -c
		}
		return c
	}
	key := func(r *access.Record) (any, bool) {
		switch {
		case name == "date":
			k, _ := dateKey(r.Date)
			return k, k != ""
		case name == "updated_at":
			return r.UpdatedAt.UnixMicro(), true
		case name == "attr.amount": // a number field: other JSON types are absent
			v, ok := r.Attributes["amount"].(float64)
			return v, ok
		case strings.HasPrefix(name, "attr."): // a string field
			v, ok := r.Attributes[strings.TrimPrefix(name, "attr.")].(string)
			return v, ok
		}
		return nil, false
	}
	sorted := slices.Clone(recs)
	slices.SortFunc(sorted, func(a, b *access.Record) int {
		if name != "id" {
			ka, oka := key(a)
			kb, okb := key(b)
			if oka != okb {
				if oka {
					return -1
				}
				return 1
			}
			if oka {
				var c int
				switch x := ka.(type) {
				case string:
					c = strings.Compare(x, kb.(string))
				case float64:
					c = cmp.Compare(x, kb.(float64))
				case int64:
					c = cmp.Compare(x, kb.(int64))
				}
				if c != 0 {
					return dir(c)
				}
			}
		}
		return dir(strings.Compare(a.ID, b.ID))
	})
	ids := make([]string, len(sorted))
	for i, r := range sorted {
		ids[i] = r.ID
	}
	return ids
}

// listDataset writes n random sales orders (undated, dates, instants on
// day edges, some without status or amount) and returns them.
func listDataset(t *testing.T, s *Store, n int, seed uint64) []*access.Record {
	rng := rand.New(rand.NewPCG(seed, 1))
	var recs []*access.Record
	statuses := []string{"open", "confirmed", "shipped"}
	for i := range n {
		date := testNow.AddDate(0, 0, -rng.IntN(30)).Format(time.DateOnly)
		switch rng.IntN(5) {
		case 0:
			date = ""
		case 1:
			// Instants near midnight in other zones: their UTC day differs.
			loc := time.FixedZone("x", (rng.IntN(25)-12)*3600)
			date = testNow.AddDate(0, 0, -rng.IntN(30)).Add(time.Duration(rng.IntN(86400)) * time.Second).In(loc).Format(time.RFC3339Nano)
		}
		r := salesOrder(fmt.Sprintf("SO%03d", i), fmt.Sprintf("c%d", rng.IntN(4)), date, statuses[rng.IntN(3)], float64(rng.IntN(20)))
		if rng.IntN(6) == 0 {
			delete(r.Attributes, "status")
		}
		if rng.IntN(6) == 0 {
			r.Attributes["amount"] = "not a number"
		}
		recs = append(recs, r)
	}
	// Two batches so updated_at is not one value (the clock is fixed, so
	// patch it through two writes at different instants).
	recBatch(t, s, store.RecordBatch{Upsert: recs})
	for _, r := range recs {
		r.UpdatedAt = testNow
	}
	return recs
}

func TestRecordList_CursorPaging(t *testing.T) {
	recBackends(t, func(t *testing.T, s *Store) {
		recs := listDataset(t, s, 120, 1)
		staff := &access.Predicate{Type: "sales_order", All: true}
		for _, sortBy := range []string{"", "-date", "date", "id", "-id", "attr.status", "-attr.status", "attr.amount", "-attr.amount", "updated_at"} {
			for _, threshold := range []int{0, 1000} {
				t.Run(fmt.Sprintf("%s/%d", cmp.Or(sortBy, "default"), threshold), func(t *testing.T) {
					want := expectOrder(recs, cmp.Or(sortBy, "-date"))
					got := listAllPages(t, s, store.RecordQuery{Type: "sales_order", Predicate: staff, Sort: sortBy, Limit: 7}, threshold)
					if !slices.Equal(got, want) {
						t.Errorf("pages:\n got %v\nwant %v", got, want)
					}
					// An owner list (the union plan) pages the same way.
					accts := []string{"c0", "c2", "c3"}
					var mine []*access.Record
					for _, r := range recs {
						if slices.Contains(accts, r.Owner) {
							mine = append(mine, r)
						}
					}
					pred := &access.Predicate{Type: "sales_order", User: "u1", Accounts: []access.AccountClause{{Accounts: accts}}}
					got = listAllPages(t, s, store.RecordQuery{Type: "sales_order", Predicate: pred, Sort: sortBy, Limit: 5}, threshold)
					if want := expectOrder(mine, cmp.Or(sortBy, "-date")); !slices.Equal(got, want) {
						t.Errorf("owner pages:\n got %v\nwant %v", got, want)
					}
				})
			}
		}
	})
}

func TestRecordList_UndatedLast(t *testing.T) {
	recBackends(t, func(t *testing.T, s *Store) {
		recBatch(t, s, store.RecordBatch{Upsert: []*access.Record{
			salesOrder("U1", "c1", "", "open", 1),
			salesOrder("D1", "c1", "2025-01-01", "open", 1),
			salesOrder("U2", "c1", "", "open", 1),
			salesOrder("D2", "c1", "2025-02-01T00:00:00Z", "open", 1),
		}})
		pred := &access.Predicate{Type: "sales_order", User: "x", Accounts: []access.AccountClause{{Accounts: []string{"c1"}}}}
		for sortBy, want := range map[string][]string{
			"date":  {"D1", "D2", "U1", "U2"},
			"-date": {"D2", "D1", "U2", "U1"},
		} {
			for _, limit := range []int{1, 2, 10} {
				got := listAllPages(t, s, store.RecordQuery{Type: "sales_order", Predicate: pred, Sort: sortBy, Limit: limit}, 1000)
				if !slices.Equal(got, want) {
					t.Errorf("sort %s limit %d: %v, want %v", sortBy, limit, got, want)
				}
			}
		}
	})
}

func TestRecordList_Filters(t *testing.T) {
	recBackends(t, func(t *testing.T, s *Store) {
		recs := listDataset(t, s, 150, 2)
		since := testNow.Add(-time.Hour)
		staff := &access.Predicate{Type: "sales_order", All: true}
		cases := []struct {
			name  string
			q     store.RecordQuery
			match func(r *access.Record) bool
		}{
			{"DateFrom", store.RecordQuery{DateFrom: "2025-06-01"}, func(r *access.Record) bool {
				d, _ := access.Day(r.Date)
				return d != "" && d >= "2025-06-01"
			}},
			{"DateTo", store.RecordQuery{DateTo: "2025-06-01"}, func(r *access.Record) bool {
				d, _ := access.Day(r.Date)
				return d != "" && d <= "2025-06-01"
			}},
			{"OneDay", store.RecordQuery{DateFrom: "2025-06-05", DateTo: "2025-06-05"}, func(r *access.Record) bool {
				d, _ := access.Day(r.Date)
				return d == "2025-06-05"
			}},
			{"AttrOr", store.RecordQuery{Attrs: map[string][]any{"status": {"open", "shipped"}}}, func(r *access.Record) bool {
				return r.Attributes["status"] == "open" || r.Attributes["status"] == "shipped"
			}},
			{"AttrNumber", store.RecordQuery{Attrs: map[string][]any{"amount": {3.0, 4}}}, func(r *access.Record) bool {
				return r.Attributes["amount"] == 3.0 || r.Attributes["amount"] == 4.0
			}},
			{"Accounts", store.RecordQuery{Accounts: []string{"c1", "c3"}}, func(r *access.Record) bool {
				return r.Owner == "c1" || r.Owner == "c3"
			}},
			{"NoAccounts", store.RecordQuery{Accounts: []string{}}, func(r *access.Record) bool { return false }},
			{"UpdatedSince", store.RecordQuery{UpdatedSince: &since}, func(r *access.Record) bool { return true }},
			{"Combined", store.RecordQuery{DateFrom: "2025-05-20", Accounts: []string{"c2"}, Attrs: map[string][]any{"status": {"open"}}},
				func(r *access.Record) bool {
					d, _ := access.Day(r.Date)
					return d >= "2025-05-20" && r.Owner == "c2" && r.Attributes["status"] == "open"
				}},
		}
		for _, c := range cases {
			for _, threshold := range []int{0, 1000} {
				t.Run(fmt.Sprintf("%s/%d", c.name, threshold), func(t *testing.T) {
					var want []*access.Record
					for _, r := range recs {
						if c.match(r) {
							want = append(want, r)
						}
					}
					q := c.q
					q.Type, q.Predicate, q.Limit = "sales_order", staff, 11
					got := listAllPages(t, s, q, threshold)
					if w := expectOrder(want, "-date"); !slices.Equal(got, w) {
						t.Errorf("got %v\nwant %v", got, w)
					}
				})
			}
		}
		later := testNow.Add(time.Hour)
		q := store.RecordQuery{Type: "sales_order", Predicate: staff, UpdatedSince: &later}
		if got := listAllPages(t, s, q, 1000); len(got) != 0 {
			t.Errorf("updated_since after every write: %v", got)
		}
	})
}

// TestRecordList_AttrPrefilter lists by string attributes whose stored
// JSON text defeats a naive substring search (SQLite tests the text for
// `"status":"open"` before it parses the document): the value nested
// under the same key, inside another string, as a prefix of a longer
// value or as a number, and values the encoders escape or write as
// UTF-8, which get no substring test.
func TestRecordList_AttrPrefilter(t *testing.T) {
	recBackends(t, func(t *testing.T, s *Store) {
		attrs := map[string]map[string]any{
			"P1": {"status": "open"},
			"P2": {"status": "closed", "lines": []any{map[string]any{"status": "open"}}},
			"P3": {"status": "closed", "customer": `"status":"open"`},
			"P4": {"status": "open-ish"},
			"P5": {"status": "a<b"},
			"P6": {"status": "Müller"},
			"P7": {"status": `x"y`},
			"P8": {"status": 5.0},
			"P9": {"number": "P9", "status": "open", "customer": "c1"},
			"PA": {"customer": "open"},
			"PB": {"status": "OPEN"},
			"PC": {"status": `back\slash`},
		}
		var recs []*access.Record
		for id, a := range attrs {
			recs = append(recs, &access.Record{Type: "sales_order", ID: id, Owner: "c1", Date: "2025-06-01", Attributes: a})
		}
		recBatch(t, s, store.RecordBatch{Upsert: recs})
		staff := &access.Predicate{Type: "sales_order", All: true}
		owner := &access.Predicate{Type: "sales_order", User: "x", Accounts: []access.AccountClause{{Accounts: []string{"c1"}}}}
		for _, c := range []struct {
			vals []any
			want []string
		}{
			{[]any{"open"}, []string{"P1", "P9"}},
			{[]any{"open-ish"}, []string{"P4"}},
			{[]any{"open", "a<b"}, []string{"P1", "P5", "P9"}},
			{[]any{"a<b"}, []string{"P5"}},
			{[]any{"Müller"}, []string{"P6"}},
			{[]any{`x"y`}, []string{"P7"}},
			{[]any{`back\slash`}, []string{"PC"}},
			{[]any{"5"}, nil},
			{[]any{"closed"}, []string{"P2", "P3"}},
		} {
			for _, pred := range []*access.Predicate{staff, owner} {
				for _, threshold := range []int{0, 1000} {
					q := store.RecordQuery{Type: "sales_order", Predicate: pred, Limit: 5, Sort: "id", Attrs: map[string][]any{"status": c.vals}}
					if got := listAllPages(t, s, q, threshold); !slices.Equal(got, c.want) {
						t.Errorf("status in %q (staff %v, threshold %d): %v, want %v", c.vals, pred.All, threshold, got, c.want)
					}
				}
			}
		}
	})
}

func TestRecordList_Errors(t *testing.T) {
	recBackends(t, func(t *testing.T, s *Store) {
		listDataset(t, s, 20, 3)
		ctx := t.Context()
		staff := &access.Predicate{Type: "sales_order", All: true}
		q := store.RecordQuery{Type: "sales_order", Predicate: staff, Limit: 5, Attrs: map[string][]any{"status": {"open", "shipped", "confirmed"}}}
		_, next, err := s.ListRecords(ctx, q)
		if err != nil || next == "" {
			t.Fatalf("first page: %q, %v", next, err)
		}
		for name, other := range map[string]func(*store.RecordQuery){
			"Sort":     func(q *store.RecordQuery) { q.Sort = "id" },
			"Attr":     func(q *store.RecordQuery) { q.Attrs = map[string][]any{"status": {"open"}} },
			"DateFrom": func(q *store.RecordQuery) { q.DateFrom = "2025-01-01" },
			"Accounts": func(q *store.RecordQuery) { q.Accounts = []string{"c1"} },
			"Type": func(q *store.RecordQuery) {
				q.Type, q.Predicate = "invoice", &access.Predicate{Type: "invoice", All: true}
			},
		} {
			q2 := q
			q2.Cursor = next
			other(&q2)
			_, _, err := s.ListRecords(ctx, q2)
			if access.ErrorCode(err) != access.CodeInvalid {
				t.Errorf("cursor reused with other %s: %v, want invalid", name, err)
			}
		}
		// The same list with its values in another order is the same list.
		q2 := q
		q2.Cursor, q2.Limit = next, 50
		q2.Attrs = map[string][]any{"status": {"confirmed", "open", "shipped"}}
		if _, _, err := s.ListRecords(ctx, q2); err != nil {
			t.Errorf("cursor with the same filters in another order: %v", err)
		}
		for _, c := range []string{"garbage", "eyJoIjoiMTIzIn0", next[:len(next)-3]} {
			q2 := q
			q2.Cursor = c
			if _, _, err := s.ListRecords(ctx, q2); access.ErrorCode(err) != access.CodeInvalid {
				t.Errorf("cursor %q: %v, want invalid", c, err)
			}
		}
		for name, q2 := range map[string]store.RecordQuery{
			"FilterUndeclared": {Attrs: map[string][]any{"lines": {"x"}}},
			"FilterUnknown":    {Attrs: map[string][]any{"nope": {"x"}}},
			"SortUndeclared":   {Sort: "attr.sku"},
			"SortUnknown":      {Sort: "-attr.nope"},
		} {
			q2.Type, q2.Predicate = "sales_order", staff
			if _, _, err := s.ListRecords(ctx, q2); access.ErrorCode(err) != access.CodeInvalidField {
				t.Errorf("%s: %v, want invalid_field", name, err)
			}
		}
		for name, q2 := range map[string]store.RecordQuery{
			"Sort":        {Sort: "owner"},
			"DateFrom":    {DateFrom: "June"},
			"NumberValue": {Attrs: map[string][]any{"amount": {"ten"}}},
		} {
			q2.Type, q2.Predicate = "sales_order", staff
			if _, _, err := s.ListRecords(ctx, q2); access.ErrorCode(err) != access.CodeInvalid {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		// Limits: default 50, cap 500; an empty predicate lists nothing.
		recs, _, err := s.ListRecords(ctx, store.RecordQuery{Type: "sales_order", Predicate: staff, Limit: 10000})
		if err != nil || len(recs) != 20 {
			t.Errorf("limit above the cap: %d, %v", len(recs), err)
		}
		recs, next, err = s.ListRecords(ctx, store.RecordQuery{Type: "sales_order", Predicate: &access.Predicate{Type: "sales_order", User: "u"}})
		if err != nil || len(recs) != 0 || next != "" {
			t.Errorf("empty predicate: %d records, %q, %v", len(recs), next, err)
		}
	})
}

// randomWorld builds a random access model in a standalone engine: an
// account forest with chain breaks and switches, external users (some not
// active), groups, and grants of every role, scope, access, days_back and
// validity. Only the records go to the store: ListRecords needs the
// predicate, not the engine that made it.
func randomWorld(t *testing.T, rng *rand.Rand) (*access.Engine, []string) {
	t.Helper()
	eng := access.NewEngine(policy.Default(), func() time.Time { return testNow })
	var snap access.Snapshot
	for i := range 25 {
		a := access.Account{ID: fmt.Sprintf("a%02d", i), Name: "A", ExternalAccess: rng.IntN(6) > 0, Inherit: rng.IntN(7) > 0}
		if i > 0 && rng.IntN(4) > 0 {
			a.Parent = fmt.Sprintf("a%02d", rng.IntN(i))
		}
		snap.Accounts = append(snap.Accounts, a)
	}
	var users []string
	for i := range 10 {
		u := access.User{ID: fmt.Sprintf("u%02d", i), Kind: access.KindExternal, Status: access.StatusActive, HomeAccount: "a00"}
		if rng.IntN(8) == 0 {
			u.Status = access.StatusDisabled
		}
		snap.Users = append(snap.Users, u)
		users = append(users, u.ID)
	}
	snap.Users = append(snap.Users, access.User{ID: "staff", Kind: access.KindInternal, Status: access.StatusActive, StaffRole: access.StaffAdmin})
	for g := range 3 {
		snap.Groups = append(snap.Groups, access.Group{ID: fmt.Sprintf("g%d", g), Name: "G"})
		for _, u := range users {
			if rng.IntN(4) == 0 {
				snap.Members = append(snap.Members, [2]string{fmt.Sprintf("g%d", g), u})
			}
		}
	}
	roles := []string{"L10", "L20", "L30", "L40", "L80", "L90"}
	principals := slices.Clone(users)
	for g := range 3 {
		principals = append(principals, fmt.Sprintf("group:g%d", g))
	}
	n := 0
	for _, p := range principals {
		if !strings.HasPrefix(p, "group:") {
			p = "user:" + p
		}
		used := map[string]bool{}
		for range 1 + rng.IntN(4) {
			acct := snap.Accounts[rng.IntN(len(snap.Accounts))].ID
			if used[acct] {
				continue
			}
			used[acct] = true
			g := access.Grant{ID: fmt.Sprintf("g%03d", n), Principal: p, Account: acct, Role: roles[rng.IntN(len(roles))],
				Scope: access.ScopeSubtree, Access: access.AccessReadWrite}
			n++
			if rng.IntN(4) == 0 {
				g.Scope = access.ScopeAccount
			}
			if rng.IntN(3) == 0 {
				g.Access = access.AccessRead
			}
			if rng.IntN(3) == 0 {
				d := []int{0, 7, 60}[rng.IntN(3)]
				g.DaysBack = &d
			}
			if rng.IntN(10) == 0 {
				until := testNow.Add(-time.Hour)
				g.ValidUntil = &until
			}
			snap.Grants = append(snap.Grants, g)
		}
	}
	if err := eng.Load(snap); err != nil {
		t.Fatal(err)
	}
	return eng, append(users, "staff")
}

// randomRecords returns records of every type of the default policy with
// random owners, dates (undated, days, instants), teams, creators and
// parents (existing or not).
func randomRecords(rng *rand.Rand, users []string) []*access.Record {
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	var accts []string
	for i := range 27 { // two ids that are no account
		accts = append(accts, fmt.Sprintf("a%02d", i))
	}
	date := func() string {
		switch rng.IntN(5) {
		case 0:
			return ""
		case 1:
			loc := time.FixedZone("z", (rng.IntN(25)-12)*3600)
			return testNow.Add(-time.Duration(rng.IntN(90*24)) * time.Hour).In(loc).Format(time.RFC3339)
		}
		return testNow.AddDate(0, 0, -rng.IntN(90)).Format(time.DateOnly)
	}
	var recs []*access.Record
	ids := map[string][]string{}
	for _, typ := range []string{"sales_order", "invoice", "ticket", "inventory", "shipment", "payment"} {
		for i := range 60 {
			r := &access.Record{Type: typ, ID: fmt.Sprintf("%s-%d", typ[:2], i), Date: date(), Attributes: map[string]any{"status": "open"}}
			if rng.IntN(8) > 0 {
				r.Owner = pick(accts)
			}
			if rng.IntN(2) == 0 {
				r.Creator = pick(users)
			}
			if rng.IntN(5) == 0 {
				for range 1 + rng.IntN(2) {
					te := access.TeamEntry{Principal: "user:" + pick(users), Access: access.AccessRead}
					if rng.IntN(2) == 0 {
						te.Principal = "account:" + pick(accts)
					}
					if rng.IntN(2) == 0 {
						te.Access = access.AccessReadWrite
					}
					if !slices.ContainsFunc(r.Teams, func(x access.TeamEntry) bool { return x.Principal == te.Principal }) {
						r.Teams = append(r.Teams, te)
					}
				}
			}
			parent := map[string]string{"shipment": "sales_order", "payment": "invoice"}[typ]
			if parent != "" && rng.IntN(6) > 0 {
				pid := "none"
				if len(ids[parent]) > 0 && rng.IntN(8) > 0 {
					pid = pick(ids[parent])
				}
				r.Parent = &access.Ref{Type: parent, ID: pid}
			}
			ids[typ] = append(ids[typ], r.ID)
			recs = append(recs, r)
		}
	}
	return recs
}

// TestList_AgreesWithPredicate checks, on random worlds, that the SQL
// rendering of the engine's predicate selects exactly the records
// Predicate.Matches admits, for every user, type and action, through both
// plans (per-account seeks and the filtered scan).
func TestRecordList_AgreesWithPredicate(t *testing.T) {
	recBackends(t, func(t *testing.T, s *Store) {
		for seed := range uint64(3) {
			rng := rand.New(rand.NewPCG(seed, 7))
			eng, users := randomWorld(t, rng)
			recs := randomRecords(rng, users)
			var dels []access.Ref
			for _, r := range recs {
				dels = append(dels, access.Ref{Type: r.Type, ID: r.ID})
			}
			// Replace the previous seed's records.
			if _, err := s.Batch(t.Context(), store.Write{}, store.RecordBatch{Delete: dels}); err != nil {
				t.Fatal(err)
			}
			recBatch(t, s, store.RecordBatch{Upsert: recs})
			src := access.RecordMap{}
			for _, r := range recs {
				src[access.Ref{Type: r.Type, ID: r.ID}] = r
			}
			checked, nonEmpty := 0, 0
			for _, u := range users {
				for _, typ := range []string{"sales_order", "shipment", "invoice", "payment", "ticket", "inventory"} {
					for _, action := range []policy.Actions{policy.Read, policy.Update} {
						pred, err := eng.Predicate(u, typ, action)
						if err != nil {
							t.Fatal(err)
						}
						var want []*access.Record
						for _, r := range recs {
							if pred.Matches(r, src) {
								want = append(want, r)
							}
						}
						wantIDs := expectOrder(want, "-date")
						for _, threshold := range []int{0, 1000} {
							got := listAllPages(t, s, store.RecordQuery{Type: typ, Predicate: pred, Limit: 13}, threshold)
							if !slices.Equal(got, wantIDs) {
								t.Errorf("seed %d user %s %s action %v threshold %d:\n got %v\nwant %v", seed, u, typ, action, threshold, got, wantIDs)
							}
						}
						checked++
						if len(want) > 0 {
							nonEmpty++
						}
					}
				}
			}
			if nonEmpty < checked/4 {
				t.Errorf("seed %d: only %d of %d lists are non-empty: the world is too sparse to test", seed, nonEmpty, checked)
			}
		}
	})
}
