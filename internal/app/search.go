package app

import (
	"context"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// RecordSearch is a text search among the records of one type the subject
// may read, as a form's picker makes it.
type RecordSearch struct {
	Type   string
	AsUser string
	// Within restricts the search to this account's subtree, as far as
	// the subject reaches it (the portal's current account).
	Within string
	// Text is matched as RecordList.Search matches it. Empty text matches
	// nothing.
	Text string
	// Limit is the most records returned (default 20).
	Limit int
}

// SearchRecords returns the first in.Limit records of in.Type, in id
// order, that the subject (the actor, or AsUser for staff) can read and
// whose id or one of the declared string fields it may filter on contains
// in.Text: ListRecords with RecordList.Search, so the search is a filter
// of the list query itself and never looks at a hidden value. Errors are
// those of ListRecords.
func (a *App) SearchRecords(ctx context.Context, c *Actor, in RecordSearch) ([]*access.Record, error) {
	if strings.TrimSpace(in.Text) == "" {
		return nil, nil
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 20
	}
	page, err := a.ListRecords(ctx, c, RecordList{Type: in.Type, AsUser: in.AsUser, Within: in.Within, Sort: "id",
		Search: in.Text, ListParams: ListParams{Limit: limit}})
	return page.Items, err
}

// CountMax is how far record counts go: a list or the home page says
// "1,000+" when the count reaches it (portal.md §3).
const CountMax = 1000

// RecordCount is a count of records of a list, exact up to CountMax.
type RecordCount struct {
	// N is the number of records, at most CountMax.
	N int
	// More is set when there are more than CountMax.
	More bool
}

// CountRecords counts the records ListRecords would list for in (its
// filters and search, within in.Within; not its sort or cursor) up to
// CountMax, with one query of at most CountMax+1 rows through the same
// predicate: never a count of everything the subject can see. A type the
// subject cannot read counts 0. Errors as ListRecords.
func (a *App) CountRecords(ctx context.Context, c *Actor, in RecordList) (RecordCount, error) {
	tot, err := a.countRecords(ctx, c, in, store.RecordCount{Max: CountMax + 1})
	if err != nil {
		return RecordCount{}, err
	}
	return RecordCount{N: min(tot.N, CountMax), More: tot.N > CountMax}, nil
}

// countRecords runs the store's count of in's query with c.
func (a *App) countRecords(ctx context.Context, c *Actor, in RecordList, rc store.RecordCount) (store.RecordTotals, error) {
	t, err := a.recordType(in.Type)
	if err != nil {
		return store.RecordTotals{}, err
	}
	subj, err := a.subject(ctx, c, in.AsUser)
	if err != nil {
		return store.RecordTotals{}, err
	}
	q, err := a.recordQuery(t, subj, in)
	if err != nil {
		return store.RecordTotals{}, err
	}
	if q.Parent != nil && subj.Kind != access.KindInternal {
		if _, _, _, err := a.readable(ctx, subj, q.Parent.Type, q.Parent.ID); access.ErrorCode(err) == access.CodeNotFound {
			return store.RecordTotals{}, nil
		} else if err != nil {
			return store.RecordTotals{}, err
		}
	}
	return a.st.CountRecords(ctx, q, rc)
}
