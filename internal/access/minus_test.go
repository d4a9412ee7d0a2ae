package access_test

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// TestProperty_MinusPart: for random pairs of predicates (account
// clauses with cutoffs and creator conditions, team branches, owner-only
// paths, sharing clauses two levels deep) and random records, MinusPart(a,
// b) selects only records of a and every record of a that b does not.
func TestProperty_MinusPart(t *testing.T) {
	accts := []string{"A", "B", "C", "D"}
	users := []string{"u", "v"}
	cutoffs := []string{"", "2026-01-01", "2026-06-01"}
	dates := []string{"", "2025-12-31", "2026-01-01", "2026-03-01", "2026-07-01"}
	cond := func(t *rapid.T, l string) access.Cond {
		return access.Cond{Cutoff: rapid.SampledFrom(cutoffs).Draw(t, l+"cut"), CreatorOnly: rapid.Bool().Draw(t, l+"own")}
	}
	var pred func(t *rapid.T, l, typ string, depth int) *access.Predicate
	pred = func(t *rapid.T, l, typ string, depth int) *access.Predicate {
		p := &access.Predicate{Type: typ, User: "u", All: rapid.IntRange(0, 15).Draw(t, l+"all") == 0,
			TeamWrite: rapid.Bool().Draw(t, l+"tw"), Owned: rapid.IntRange(0, 3).Draw(t, l+"owned") == 0}
		for i := range rapid.IntRange(0, 3).Draw(t, l+"n") {
			p.Accounts = append(p.Accounts, access.AccountClause{
				Accounts: rapid.SliceOfNDistinct(rapid.SampledFrom(accts), 1, 3, rapid.ID[string]).Draw(t, fmt.Sprint(l, "acc", i)),
				Cond:     cond(t, fmt.Sprint(l, "c", i))})
		}
		if !p.Owned && rapid.Bool().Draw(t, l+"tu") {
			c := cond(t, l+"tuc")
			p.TeamUser = &c
		}
		if depth < 2 {
			for i := range rapid.IntRange(0, 2).Draw(t, l+"ns") {
				p.Shared = append(p.Shared, access.SharedClause{Parent: pred(t, fmt.Sprint(l, "s", i), fmt.Sprint("t", depth+1), depth+1),
					CreatorOnly: rapid.Bool().Draw(t, fmt.Sprint(l, "sco", i))})
			}
		}
		return p
	}
	rapid.Check(t, func(t *rapid.T) {
		src := access.RecordMap{}
		var all []*access.Record
		for depth := 2; depth >= 0; depth-- {
			typ := fmt.Sprint("t", depth)
			for i := range 12 {
				r := &access.Record{Type: typ, ID: fmt.Sprint(i), Owner: rapid.SampledFrom(append(accts, "")).Draw(t, "owner"),
					Date: rapid.SampledFrom(dates).Draw(t, "date"), Creator: rapid.SampledFrom(users).Draw(t, "creator")}
				for range rapid.IntRange(0, 2).Draw(t, "teams") {
					pr := rapid.SampledFrom([]string{"account:A", "account:B", "account:C", "user:u", "user:v"}).Draw(t, "principal")
					r.Teams = append(r.Teams, access.TeamEntry{Principal: pr, Access: rapid.SampledFrom([]string{access.AccessRead, access.AccessReadWrite}).Draw(t, "access")})
				}
				if depth < 2 && rapid.Bool().Draw(t, "hasParent") {
					r.Parent = &access.Ref{Type: fmt.Sprint("t", depth+1), ID: fmt.Sprint(rapid.IntRange(0, 11).Draw(t, "parent"))}
				}
				src[access.Ref{Type: typ, ID: r.ID}] = r
				all = append(all, r)
			}
		}
		a, b := pred(t, "a", "t0", 0), pred(t, "b", "t0", 0)
		if rapid.Bool().Draw(t, "related") {
			// b an extension or a narrowing of a, as a change makes.
			cp := *a
			cp.Accounts = append(append([]access.AccountClause(nil), a.Accounts...), b.Accounts...)
			cp.Shared = append(append([]access.SharedClause(nil), a.Shared...), b.Shared...)
			b = &cp
			if rapid.Bool().Draw(t, "swap") {
				a, b = b, a
			}
		}
		m := access.MinusPart(a, b)
		for _, r := range all {
			ia, ib, im := a.Matches(r, src), b.Matches(r, src), m.Matches(r, src)
			if im && !ia {
				t.Fatalf("record %+v: in MinusPart, not in a\na=%s\nb=%s\nm=%s", r, show(a), show(b), show(m))
			}
			if ia && !ib && !im {
				t.Fatalf("record %+v: in a minus b, not in MinusPart\na=%s\nb=%s\nm=%s", r, show(a), show(b), show(m))
			}
		}
	})
}

func show(p *access.Predicate) string {
	s := fmt.Sprintf("%+v", *p)
	if p.TeamUser != nil {
		s += fmt.Sprintf(" TeamUser=%+v", *p.TeamUser)
	}
	for _, sc := range p.Shared {
		s += " shared(" + show(sc.Parent) + fmt.Sprintf(" own=%v)", sc.CreatorOnly)
	}
	return s
}
