package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// previewWindow is how many of a type's newest records a sample is first
// looked for in (see predicateMinus).
const previewWindow = 5000

// CountPredicateDiff counts, in the database, the records of type typ that
// after selects and before does not (gained) and those before selects and
// after does not (lost), with up to sample ids of each, newest first (the
// default list order: date descending, undated last, then id descending).
// Each predicate is rendered as the id set of its branches (the parents'
// set of a sharing branch, listBuilder.set) and the two sets are compared
// with EXCEPT: no record is fetched to be decided in Go.
func (s *Store) CountPredicateDiff(ctx context.Context, typ string, before, after *access.Predicate, sample int) (store.PredicateDiff, error) {
	var out store.PredicateDiff
	var err error
	if out.Gained, out.SampleGained, err = s.predicateMinus(ctx, typ, after, before, sample); err != nil {
		return out, err
	}
	out.Lost, out.SampleLost, err = s.predicateMinus(ctx, typ, before, after, sample)
	return out, err
}

// CountTypeUpTo counts the records of typ up to upTo, reading at most upTo
// entries of the type's smallest index.
func (s *Store) CountTypeUpTo(ctx context.Context, typ string, upTo int) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM records WHERE type = $1 LIMIT $2) AS t", typ, max(upTo, 1)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", typ, err)
	}
	return n, nil
}

// withType returns p for records of typ (nil: nothing).
func withType(p *access.Predicate, typ string) *access.Predicate {
	if p == nil {
		return &access.Predicate{Type: typ}
	}
	cp := *p
	cp.Type = typ
	return &cp
}

// predicateMinus counts the records of typ in a but not in b, with up to
// sample of their ids. Only the changed region is read: a is first cut to
// access.MinusPart(a, b) (its branches b does not cover), and each of the
// branches left selects its records with b as a per-record filter
// (minusSet), so the cost follows the records the change may flip, not
// the sets the two predicates select.
//
// The sample is first looked for among the type's previewWindow newest
// records, read in order from the date index with both predicates as a
// filter (rendered as for the large-set list plan, NULL counting as no
// match): when a change gains or loses many records that finds them at
// once. Only when it finds fewer than it needs does it sort the whole
// difference.
func (s *Store) predicateMinus(ctx context.Context, typ string, a, b *access.Predicate, sample int) (int, []string, error) {
	a, b = withType(a, typ), withType(b, typ)
	a = access.MinusPart(a, b)
	if a.Empty() {
		return 0, nil, nil
	}
	lb := &listBuilder{sqlb: sqlb{d: s.dialect}, probeByRecord: true}
	diff := lb.minusSet(a, b, 0, "pk", true)
	var n int
	if err := s.rdb.QueryRowContext(ctx, "SELECT count(*) FROM ("+diff+") AS d", lb.args...).Scan(&n); err != nil {
		return 0, nil, fmt.Errorf("preview count: %w", err)
	}
	if n == 0 || sample <= 0 {
		return n, nil, nil
	}
	want := min(n, sample)
	wb := &listBuilder{sqlb: sqlb{d: s.dialect}, probeByRecord: true}
	window := "SELECT r.id FROM (SELECT r.pk, r.id, r.type, r.owner, r.dkey, r.creator, r.parent_type, r.parent_id FROM " +
		s.dialect.scanFrom("records_date") + " WHERE r.type = " + wb.p(typ) + " ORDER BY r.dkey DESC, r.id DESC LIMIT " +
		strconv.Itoa(previewWindow) + ") AS r WHERE " + wb.filter(a, "r", 0) + " AND NOT COALESCE(" + wb.filter(b, "r", 0) + ", 1 = 0)" +
		" ORDER BY r.dkey DESC, r.id DESC LIMIT " + strconv.Itoa(want)
	ids, err := s.previewIDs(ctx, window, wb.args)
	if err != nil || len(ids) == want {
		return n, ids, err
	}
	q := "SELECT r.id FROM records r WHERE r.pk IN (" + diff + ") ORDER BY r.dkey DESC, r.id DESC LIMIT " + strconv.Itoa(want)
	ids, err = s.previewIDs(ctx, q, lb.args)
	return n, ids, err
}

// minusSet renders the records a selects and b does not, as column col
// (pk or id) of alias s<depth>: the branches of a (as listBuilder.set
// renders them), each with b as a filter on its rows. a is cut to
// access.MinusPart(a, b) first; a sharing branch whose parents a sharing
// clause of b covers (access.CoveringShared) takes its parents from the
// difference of the two parent predicates, and then needs that clause of
// b no more in its filter (a child of a parent the clause does not select
// is not selected through it).
//
// With disjoint (the set that is counted), each record comes once: every
// branch also leaves out the records of the branches before it, so the
// branches are a UNION ALL and no database sorts or hashes the whole
// difference to remove duplicates. Without it (a sharing branch's parent
// ids, read by IN) the branches are a plain UNION.
func (lb *listBuilder) minusSet(a, b *access.Predicate, depth int, col string, disjoint bool) string {
	a = access.MinusPart(a, b)
	s := "s" + strconv.Itoa(depth)
	typ := lb.p(a.Type)
	// The filters' aliases (t<n>, p<n+1>, ...) stay clear of the branches'.
	fdepth := 100 * (depth + 1)
	// not renders the filter of a branch: none of b, nor (disjoint) of
	// the branches before it, which earlier selects.
	not := func(b, earlier *access.Predicate) string {
		var ors []string
		if !b.Empty() {
			ors = append(ors, lb.filter(b, s, fdepth))
		}
		if disjoint && earlier != nil && !earlier.Empty() {
			ors = append(ors, lb.filter(earlier, s, fdepth+50))
		}
		if len(ors) == 0 {
			return ""
		}
		return " AND NOT COALESCE(" + strings.Join(ors, " OR ") + ", 1 = 0)"
	}
	if a.All {
		return "SELECT " + s + "." + col + " FROM records " + s + " WHERE " + s + ".type = " + typ + not(b, nil)
	}
	var sels []string
	for i, ac := range a.Accounts {
		q := "SELECT " + s + "." + col + " FROM " + lb.d.ownedFrom(s) + " WHERE " + s + ".type = " + typ + " AND " + lb.in(s+".owner", ac.Accounts)
		if c := lb.cond(s, ac.Cond, a.User); c != "" {
			q += " AND " + c
		}
		sels = append(sels, q+not(b, &access.Predicate{Type: a.Type, User: a.User, Accounts: a.Accounts[:i], Owned: true}))
	}
	t := "t" + strconv.Itoa(depth)
	if principals, cond, ok := lb.teamConds(a, t, s); ok {
		// DISTINCT: a record may hold several of the principals.
		sels = append(sels, "SELECT DISTINCT "+s+"."+col+" FROM "+lb.d.teamsFrom(t, s)+" WHERE "+
			lb.in(t+".principal", principals)+" AND "+s+".type = "+typ+andCond(cond)+
			not(b, &access.Predicate{Type: a.Type, User: a.User, Accounts: a.Accounts, Owned: true}))
	}
	for i, sc := range a.Shared {
		bf, inner := b, ""
		if j := access.CoveringShared(sc, b); j >= 0 {
			inner = lb.minusSet(sc.Parent, b.Shared[j].Parent, depth+1, "id", false)
			cp := *b
			cp.Shared = slices.Delete(slices.Clone(b.Shared), j, j+1)
			bf = &cp
		} else {
			inner = lb.set(sc.Parent, depth+1)
		}
		if inner == "" {
			continue
		}
		q := "SELECT " + s + "." + col + " FROM records " + s + " WHERE " + s + ".parent_type = " + lb.p(sc.Parent.Type) +
			" AND " + s + ".parent_id IS NOT NULL AND " + s + ".parent_id IN (" + inner + ") AND " + s + ".type = " + typ
		if sc.CreatorOnly {
			q += " AND " + s + ".creator = " + lb.p(a.User)
		}
		earlier := *a
		earlier.Shared = a.Shared[:i]
		sels = append(sels, q+not(bf, &earlier))
	}
	if len(sels) == 0 {
		return "SELECT " + s + "." + col + " FROM records " + s + " WHERE 1 = 0"
	}
	if disjoint {
		return strings.Join(sels, " UNION ALL ")
	}
	return strings.Join(sels, " UNION ")
}

func (s *Store) previewIDs(ctx context.Context, q string, args []any) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("preview sample: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("preview sample: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
