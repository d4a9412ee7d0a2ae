package app

import (
	"context"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// The console's searches (portal.md §4, §5): the user picker of "add a
// grant" and "add a member", and the records browser's search box. Users
// and accounts are searched by the store's indexed filters (ListUsers,
// ListAccounts with Query); these use cases add what a picker and a
// search box need on top.

// UserPick is a search of the console's user picker: Text matches a
// user's id, name or email (a case-insensitive substring); Kind, when
// set, keeps users of that kind (the grant picker asks for external
// users). Limit is the most users returned (default 10, at most 50).
type UserPick struct {
	Text, Kind string
	Limit      int
}

// PickUsers returns the users matching in.Text for the console's picker:
// staff only (CodeForbidden otherwise), who see every user. A user whose
// id or email is exactly the text comes first, then the others in the
// store's order (by id). Empty text matches nothing.
func (a *App) PickUsers(ctx context.Context, c *Actor, in UserPick) ([]access.User, error) {
	text, limit, err := staffSearch(c, in.Text, in.Limit, 10)
	if text == "" || err != nil {
		return nil, err
	}
	limit = min(limit, 50)
	page, err := a.ListUsers(ctx, c, UserFilter{Kind: in.Kind, Query: text, ListParams: ListParams{Limit: limit}})
	if err != nil {
		return nil, err
	}
	out := page.Items
	for i, u := range out {
		if strings.EqualFold(u.ID, text) || strings.EqualFold(u.Email, text) {
			copy(out[1:i+1], out[:i])
			out[0] = u
			break
		}
	}
	return out, nil
}

// staffSearch checks that c is staff and returns the search text trimmed
// and the limit (def when not positive).
func staffSearch(c *Actor, text string, limit, def int) (string, int, error) {
	if err := requireStaff(c); err != nil {
		return "", 0, err
	}
	if limit <= 0 {
		limit = def
	}
	return strings.TrimSpace(text), limit, nil
}

// ConsoleRecordSearch is the records browser's search: the record whose
// id is Text, then the records of Type whose declared string fields
// contain it (SearchRecords), at most Limit (default 50).
type ConsoleRecordSearch struct {
	Type, Text string
	Limit      int
}

// SearchConsoleRecords finds records for staff (CodeForbidden otherwise)
// by number or id and by the type's declared string fields. The id is
// looked up exactly first; the fields are matched by SearchRecords, a
// filter of the list query.
func (a *App) SearchConsoleRecords(ctx context.Context, c *Actor, in ConsoleRecordSearch) ([]*access.Record, error) {
	text, limit, err := staffSearch(c, in.Text, in.Limit, 50)
	if err != nil {
		return nil, err
	}
	t, err := a.recordType(in.Type)
	if text == "" || err != nil {
		return nil, err
	}
	var out []*access.Record
	if access.ValidID(text) {
		rec, _, err := a.GetRecord(ctx, c, t.Name, text, "")
		switch {
		case err == nil:
			out = append(out, rec)
		case access.ErrorCode(err) != access.CodeNotFound:
			return nil, err
		}
	}
	found, err := a.SearchRecords(ctx, c, RecordSearch{Type: t.Name, Text: text, Limit: limit})
	if err != nil {
		return nil, err
	}
	for _, r := range found {
		if len(out) == limit {
			break
		}
		if len(out) > 0 && out[0].ID == r.ID {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}
