package sqlstore

import (
	"context"
	"fmt"
	"strconv"

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
// sample of their ids. The sample is first looked for among the type's
// previewWindow newest records, read in order from the date index with
// both predicates as a filter (rendered as for the large-set list plan,
// NULL counting as no match):
// when a change gains or loses many records that finds them at once.
// Only when it finds fewer than it needs does it sort the whole
// difference.
func (s *Store) predicateMinus(ctx context.Context, typ string, a, b *access.Predicate, sample int) (int, []string, error) {
	a, b = withType(a, typ), withType(b, typ)
	if a.Empty() {
		return 0, nil, nil
	}
	lb := &listBuilder{sqlb: sqlb{d: s.dialect}}
	sa := lb.set(a, 0)
	diff := "SELECT DISTINCT id FROM (" + sa + ") AS pa"
	if a.All {
		diff = sa // one row a record: the type's index range
	}
	if !b.Empty() {
		diff = "SELECT id FROM (" + sa + ") AS pa EXCEPT SELECT id FROM (" + lb.set(b, 0) + ") AS pb"
	}
	var n int
	if err := s.rdb.QueryRowContext(ctx, "SELECT count(*) FROM ("+diff+") AS d", lb.args...).Scan(&n); err != nil {
		return 0, nil, fmt.Errorf("preview count: %w", err)
	}
	if n == 0 || sample <= 0 {
		return n, nil, nil
	}
	want := min(n, sample)
	wb := &listBuilder{sqlb: sqlb{d: s.dialect}}
	window := "SELECT r.id FROM (SELECT r.pk, r.id, r.type, r.owner, r.dkey, r.creator, r.parent_type, r.parent_id FROM " +
		s.dialect.scanFrom("records_date") + " WHERE r.type = " + wb.p(typ) + " ORDER BY r.dkey DESC, r.id DESC LIMIT " +
		strconv.Itoa(previewWindow) + ") AS r WHERE " + wb.filter(a, "r", 0) + " AND NOT COALESCE(" + wb.filter(b, "r", 0) + ", 1 = 0)" +
		" ORDER BY r.dkey DESC, r.id DESC LIMIT " + strconv.Itoa(want)
	ids, err := s.previewIDs(ctx, window, wb.args)
	if err != nil || len(ids) == want {
		return n, ids, err
	}
	q := "SELECT r.id FROM records r WHERE r.type = " + lb.p(typ) + " AND r.id IN (" + diff + ") ORDER BY r.dkey DESC, r.id DESC LIMIT " + strconv.Itoa(want)
	ids, err = s.previewIDs(ctx, q, lb.args)
	return n, ids, err
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
