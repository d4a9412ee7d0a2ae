package app

import (
	"context"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Files out (shared/design/interop.md §3): every list can be downloaded
// whole, as CSV or NDJSON, streamed page by page (store.MaxListLimit
// rows) so that memory stays that of one page whatever the list's
// length, with the visibility and masks of the JSON answer.

// EachPage calls fn with every page of a list, from the first to the
// last, at the largest page size; list is one of the List use cases with
// its filter bound. The first page's error (a bad filter) comes before any
// call of fn; fn's error stops the walk and is returned.
func EachPage[T any](list func(ListParams) (Page[T], error), fn func([]T) error) error {
	p := ListParams{Limit: store.MaxListLimit}
	for {
		page, err := list(p)
		if err != nil {
			return err
		}
		if err := fn(page.Items); err != nil {
			return err
		}
		if page.Next == "" {
			return nil
		}
		p.Cursor = page.Next
	}
}

// EachRecordPage calls fn with every page of a record list (ListRecords'
// authorization, visibility and masks; Limit and Cursor of in are
// ignored), from the first to the last, at the largest page size. An
// invalid list fails before the first call of fn.
func (a *App) EachRecordPage(ctx context.Context, c *Actor, in RecordList, fn func(RecordPage) error) error {
	in.ListParams = ListParams{Limit: store.MaxListLimit}
	for {
		page, err := a.ListRecords(ctx, c, in)
		if err != nil {
			return err
		}
		if err := fn(page); err != nil {
			return err
		}
		if page.Next == "" {
			return nil
		}
		in.Cursor = page.Next
	}
}

// ExportFields are the declared fields of typ that a download of the
// subject's list shows as columns, in declaration order. Staff see every
// field. For an external user a restricted field is a column only when
// every role context the user has for the type grants it (the fields it
// may filter on, Engine.FilterableFields): the column set is the same for
// every row, and a field hidden in one context is neither a column nor a
// value. A field visible in some contexts only is left out altogether
// (the JSON answer shows it on those records).
func (a *App) ExportFields(subj access.User, typ string) []policy.Field {
	t := a.eng.Policy().Type(typ)
	if t == nil {
		return nil
	}
	visible := a.eng.FilterableFields(subj.ID, typ)
	out := make([]policy.Field, 0, len(t.FieldList))
	for _, f := range t.FieldList {
		if i := t.RestrictedIndex(f.Name); i >= 0 && subj.Kind != access.KindInternal && !visible.Has(i) {
			continue
		}
		out = append(out, f)
	}
	return out
}
