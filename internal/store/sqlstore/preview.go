package sqlstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

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
	if out.Lost, out.SampleLost, err = s.predicateMinus(ctx, typ, before, after, sample); err != nil {
		return out, err
	}
	return out, nil
}

// predicateMinus counts the records of typ in a but not in b, with up to
// sample of their ids.
func (s *Store) predicateMinus(ctx context.Context, typ string, a, b *access.Predicate, sample int) (int, []string, error) {
	lb := &listBuilder{sqlb: sqlb{d: s.dialect}}
	set := func(p *access.Predicate) string {
		if p == nil || p.Empty() {
			return ""
		}
		cp := *p
		cp.Type = typ
		return lb.set(&cp, 0)
	}
	sa := set(a)
	if sa == "" {
		return 0, nil, nil
	}
	diff := "SELECT id FROM (" + sa + ") AS pa"
	if sb := set(b); sb != "" {
		diff = "SELECT id FROM (" + sa + ") AS pa EXCEPT SELECT id FROM (" + sb + ") AS pb"
	}
	args := lb.args
	var n int
	if err := s.rdb.QueryRowContext(ctx, "SELECT count(DISTINCT d.id) FROM ("+diff+") AS d", args...).Scan(&n); err != nil {
		return 0, nil, fmt.Errorf("preview count: %w", err)
	}
	if n == 0 || sample <= 0 {
		return n, nil, nil
	}
	typPH := "$" + strconv.Itoa(len(args)+1)
	q := "SELECT r.id FROM records r WHERE r.type = " + typPH + " AND r.id IN (" + diff + ") ORDER BY r.dkey DESC, r.id DESC LIMIT " + strconv.Itoa(sample)
	rows, err := s.rdb.QueryContext(ctx, q, append(append([]any{}, args...), typ)...)
	if err != nil {
		return 0, nil, fmt.Errorf("preview sample: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return 0, nil, fmt.Errorf("preview sample: %w", err)
		}
		ids = append(ids, id)
	}
	return n, ids, rows.Err()
}
