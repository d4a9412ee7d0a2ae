package storetest

import (
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// testPreview checks CountPredicateDiff on a random world: for pairs of
// the engine's predicates (read, update and delete of every type, and the
// records on which a user sees one restricted field), the counts are the
// records one predicate matches and the other does not, as the engine's
// in-memory Matches decides them, and the samples are the first ten of
// those in the default list order (date descending, undated last, then id
// descending).
func testPreview(t *testing.T, b Backend) {
	s, _ := b.open(t, Options{Clock: func() time.Time { return worldNow }})
	w := buildWorld(t, s, 5)
	e := s.Engine()
	src := access.RecordMap(w.records)
	type pair struct{ before, after *access.Predicate }
	var pairs []pair
	for _, typ := range w.types {
		for _, act := range []policy.Actions{policy.Read, policy.Update, policy.Delete} {
			var preds []*access.Predicate
			for _, u := range w.users {
				p, err := e.Predicate(u.ID, typ, act)
				if err != nil {
					t.Fatal(err)
				}
				preds = append(preds, p)
			}
			for i := range preds {
				pairs = append(pairs, pair{preds[i], preds[(i+1)%len(preds)]})
			}
		}
		// The same user's predicates, which share branches: the changed
		// region the store cuts them to (access.MinusPart) is then smaller
		// than either. Each user's read against its update, delete and
		// field predicates, and against itself widened by the next user's
		// clauses (a grant added or removed).
		for i, u := range w.users {
			read, err := e.Predicate(u.ID, typ, policy.Read)
			if err != nil {
				t.Fatal(err)
			}
			for _, act := range []policy.Actions{policy.Update, policy.Delete} {
				p, _ := e.Predicate(u.ID, typ, act)
				pairs = append(pairs, pair{read, p}, pair{p, read})
			}
			if pt := e.Policy().Type(typ); pt != nil && len(pt.Restricted) > 0 {
				p, _ := e.FieldPredicate(u.ID, typ, 0)
				pairs = append(pairs, pair{read, p}, pair{p, read})
			}
			next, _ := e.Predicate(w.users[(i+1)%len(w.users)].ID, typ, policy.Read)
			wide := widen(read, next)
			pairs = append(pairs, pair{read, wide}, pair{wide, read})
		}
		if pt := e.Policy().Type(typ); pt != nil && len(pt.Restricted) > 0 {
			for i, u := range w.users {
				p, err := e.FieldPredicate(u.ID, typ, 0)
				if err != nil {
					t.Fatal(err)
				}
				read, _ := e.Predicate(w.users[(i+1)%len(w.users)].ID, typ, policy.Read)
				pairs = append(pairs, pair{read, p})
			}
		}
	}
	nonEmpty := 0
	for _, pr := range pairs {
		typ := pr.after.Type
		var gained, lost []*access.Record
		for ref, r := range w.records {
			if ref.Type != typ {
				continue
			}
			a, b := pr.after.Matches(r, src), pr.before.Matches(r, src)
			switch {
			case a && !b:
				gained = append(gained, r)
			case b && !a:
				lost = append(lost, r)
			}
		}
		want := store.PredicateDiff{Gained: len(gained), Lost: len(lost), SampleGained: newestIDs(t, gained, 10), SampleLost: newestIDs(t, lost, 10)}
		got, err := s.CountPredicateDiff(ctx(t), typ, pr.before, pr.after, 10)
		if err != nil {
			t.Fatalf("CountPredicateDiff(%s): %v", typ, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("CountPredicateDiff(%s, users %s -> %s) (-want +got):\n%s", typ, pr.before.User, pr.after.User, diff)
		}
		if want.Gained+want.Lost > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < len(pairs)/4 {
		t.Errorf("test world too weak: only %d of %d pairs differ", nonEmpty, len(pairs))
	}
	t.Run("NoSample", func(t *testing.T) {
		all := &access.Predicate{Type: "sales_order", All: true}
		got, err := s.CountPredicateDiff(ctx(t), "sales_order", &access.Predicate{Type: "sales_order"}, all, 0)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for ref := range w.records {
			if ref.Type == "sales_order" {
				n++
			}
		}
		if got.Gained != n || got.Lost != 0 || got.SampleGained != nil {
			t.Errorf("empty -> all: %+v, want %d gained and no sample", got, n)
		}
		// CountTypeUpTo: exact below the bound, the bound at and above it.
		for _, upTo := range []int{1, n - 1, n, n + 1, 10 * n} {
			c, err := s.CountTypeUpTo(ctx(t), "sales_order", upTo)
			if err != nil {
				t.Fatal(err)
			}
			if want := min(n, max(upTo, 1)); c != want {
				t.Errorf("CountTypeUpTo(%d) = %d, want %d (of %d)", upTo, c, want, n)
			}
		}
	})
}

// widen returns p with q's account clauses, personal team branch and
// sharing clauses added, as q's user's: the predicate of p's user after a
// grant like q's.
func widen(p, q *access.Predicate) *access.Predicate {
	if p.All || q.All {
		return q
	}
	out := *p
	out.Accounts = append(slices.Clone(p.Accounts), q.Accounts...)
	if out.TeamUser == nil && !out.Owned {
		out.TeamUser = q.TeamUser
	}
	out.Shared = slices.Clone(p.Shared)
	for _, sc := range q.Shared {
		sc.Parent = relabel(sc.Parent, p.User)
		out.Shared = append(out.Shared, sc)
	}
	return &out
}

// relabel returns p as user's predicate, at every level.
func relabel(p *access.Predicate, user string) *access.Predicate {
	out := *p
	out.User = user
	out.Shared = nil
	for _, sc := range p.Shared {
		sc.Parent = relabel(sc.Parent, user)
		out.Shared = append(out.Shared, sc)
	}
	return &out
}

// newestIDs returns the ids of the first n records in the default list
// order: dates as the store keys them (UTC instants after their day),
// descending, undated last, then ids descending; nil for none.
func newestIDs(t *testing.T, rs []*access.Record, n int) []string {
	key := func(r *access.Record) string {
		if len(r.Date) <= len(time.DateOnly) {
			return r.Date
		}
		at, err := time.Parse(time.RFC3339Nano, r.Date)
		if err != nil {
			t.Fatalf("record %s: date %q", r.ID, r.Date)
		}
		return at.UTC().Format("2006-01-02T15:04:05.000000000Z")
	}
	sort.Slice(rs, func(i, j int) bool {
		if ki, kj := key(rs[i]), key(rs[j]); ki != kj {
			return ki > kj
		}
		return rs[i].ID > rs[j].ID
	})
	var out []string
	for i := 0; i < len(rs) && i < n; i++ {
		out = append(out, rs[i].ID)
	}
	return out
}
