package app

import (
	"context"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// SearchScan bounds how many visible records SearchRecords looks at: a
// picker's search (the order form's inventory), not a full-text index.
const SearchScan = 4 * store.MaxListLimit

// RecordSearch is a text search among the records of one type the subject
// may read, as a form's picker makes it.
type RecordSearch struct {
	Type   string
	AsUser string
	// Within restricts the search to this account's subtree, as far as
	// the subject reaches it (the portal's current account).
	Within string
	// Text is matched, case-insensitively, as a substring of the string
	// attributes named in Fields. Empty text matches nothing.
	Text   string
	Fields []string
	// Limit is the most records returned (default 20).
	Limit int
}

// SearchRecords returns the records of in.Type the subject (the actor, or
// AsUser for staff) can read whose Fields contain in.Text, as the subject
// sees them (hidden fields stripped before matching, so a search never
// tells what a hidden value holds), in id order. It pages through the
// visible records with ListRecords, so the predicate of DESIGN §2 runs in
// the query, and looks at most SearchScan of them. Errors are those of
// ListRecords.
func (a *App) SearchRecords(ctx context.Context, c *Actor, in RecordSearch) ([]*access.Record, error) {
	text := strings.ToLower(strings.TrimSpace(in.Text))
	if text == "" {
		return nil, nil
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 20
	}
	l := RecordList{Type: in.Type, AsUser: in.AsUser, Within: in.Within, Sort: "id", ListParams: ListParams{Limit: store.MaxListLimit}}
	var out []*access.Record
	for seen := 0; seen < SearchScan; {
		page, err := a.ListRecords(ctx, c, l)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Items {
			for _, f := range in.Fields {
				if s, ok := r.Attributes[f].(string); ok && strings.Contains(strings.ToLower(s), text) {
					out = append(out, r)
					break
				}
			}
			if len(out) == limit {
				return out, nil
			}
		}
		seen += len(page.Items)
		if page.Next == "" {
			break
		}
		l.Cursor = page.Next
	}
	return out, nil
}
