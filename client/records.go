package client

import (
	"context"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// Ref names a record.
type Ref struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// TeamEntry shares a record with a user ("user:<id>") or an account
// ("account:<id>"); Access is read or read_write.
type TeamEntry struct {
	Principal string `json:"principal"`
	Access    string `json:"access"`
}

// Record is a record as the caller sees it: for an external caller (or
// as_user) only the fields it may see, and no Teams.
type Record struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Owner      string         `json:"owner,omitempty"`
	Date       string         `json:"date,omitempty"`
	Parent     *Ref           `json:"parent,omitempty"`
	Teams      []TeamEntry    `json:"teams,omitempty"`
	Creator    string         `json:"creator,omitempty"`
	Attributes map[string]any `json:"attributes"`
	UpdatedAt  time.Time      `json:"updated_at,omitzero"`
	Revision   int64          `json:"revision,omitempty"`
}

// recordInput is a record as PUT and batch take it: empty fields are
// omitted, so they keep their stored value.
type recordInput struct {
	Type       string         `json:"type,omitempty"`
	ID         string         `json:"id,omitempty"`
	Owner      string         `json:"owner,omitempty"`
	Date       string         `json:"date,omitempty"`
	Parent     *Ref           `json:"parent,omitempty"`
	Teams      []TeamEntry    `json:"teams,omitempty"`
	Creator    string         `json:"creator,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

func input(r Record) recordInput {
	return recordInput{Type: r.Type, ID: r.ID, Owner: r.Owner, Date: r.Date, Parent: r.Parent, Teams: r.Teams, Creator: r.Creator, Attributes: r.Attributes}
}

// GetOptions are the options of a read.
type GetOptions struct {
	// AsUser answers as that user would get it (staff and tokens only).
	AsUser string
	// MinRevision waits (up to 5 s) until the server reflects this
	// revision: pass the Revision of a write to read it back on any node.
	MinRevision int64
}

func (o GetOptions) query() url.Values {
	q := url.Values{}
	if o.AsUser != "" {
		q.Set("as_user", o.AsUser)
	}
	if o.MinRevision > 0 {
		q.Set("min_revision", strconv.FormatInt(o.MinRevision, 10))
	}
	return q
}

// GetRecord returns one record; one the caller (or AsUser) cannot read is
// a CodeNotFound error.
func (c *Client) GetRecord(ctx context.Context, typ, id string, o GetOptions) (Record, error) {
	var r Record
	_, err := c.do(ctx, "GET", recordPath(typ, id), o.query(), nil, &r)
	return r, err
}

// PutRecord creates or replaces a record (staff and tokens); fields it
// leaves empty keep their stored value. It returns the record as stored
// and whether it was created.
func (c *Client) PutRecord(ctx context.Context, r Record) (Record, error) {
	var out Record
	_, err := c.do(ctx, "PUT", recordPath(r.Type, r.ID), nil, input(r), &out)
	return out, err
}

// PatchRecord changes a record: patch is the JSON body, e.g.
// {"attributes": {"status": "closed", "note": null}} (attributes merge as
// a JSON Merge Patch; external users may change attributes only).
func (c *Client) PatchRecord(ctx context.Context, typ, id string, patch map[string]any) (Record, error) {
	var out Record
	_, err := c.do(ctx, "PATCH", recordPath(typ, id), nil, patch, &out)
	return out, err
}

// CreateRecord creates a record as the caller (the portal's create): the
// server assigns the id unless staff give one, and sets the creator. It
// returns the record as the caller sees it (zero Record when it cannot
// read it back) and the write's revision.
func (c *Client) CreateRecord(ctx context.Context, r Record) (Record, int64, error) {
	var out Record
	in := input(r)
	in.Type = ""
	rev, err := c.do(ctx, "POST", "/api/v1/records/"+url.PathEscape(r.Type), nil, in, &out)
	return out, rev, err
}

// DeleteRecord deletes a record and returns the write's revision.
func (c *Client) DeleteRecord(ctx context.Context, typ, id string) (int64, error) {
	return c.do(ctx, "DELETE", recordPath(typ, id), nil, nil, nil)
}

func recordPath(typ, id string) string {
	return "/api/v1/records/" + url.PathEscape(typ) + "/" + url.PathEscape(id)
}

// BatchResult reports a committed batch.
type BatchResult struct {
	Upserted int   `json:"upserted"`
	Deleted  int   `json:"deleted"`
	Revision int64 `json:"revision"`
}

// Batch upserts and deletes up to 10,000 records at once, all or nothing
// (staff writers and their tokens). A bad item fails the batch with a
// CodeInvalid *Error whose Items name every bad index.
func (c *Client) Batch(ctx context.Context, upsert []Record, del []Ref) (BatchResult, error) {
	in := struct {
		Upsert []recordInput `json:"upsert,omitempty"`
		Delete []Ref         `json:"delete,omitempty"`
	}{Delete: del}
	for _, r := range upsert {
		in.Upsert = append(in.Upsert, input(r))
	}
	var out BatchResult
	_, err := c.do(ctx, "POST", "/api/v1/records:batch", nil, in, &out)
	return out, err
}

// ListOptions select a record list (DESIGN.md §5.9).
type ListOptions struct {
	// AsUser lists as that user would (staff and tokens only): the List
	// API of other applications.
	AsUser string
	// Account restricts to records owned in the account's subtree.
	Account          string
	DateFrom, DateTo string // YYYY-MM-DD, inclusive
	// Attrs filters on declared fields: name → accepted values (OR).
	Attrs map[string][]string
	// Search keeps the records whose id or a declared string field the
	// caller may filter on contains the text (the q parameter).
	Search string
	// Sort is date, -date (default), id, -id, attr.<name> or -attr.<name>.
	Sort string
	// Limit is the page size (default 50, at most 500).
	Limit       int
	MinRevision int64
}

func (o ListOptions) query(cursor string) url.Values {
	q := GetOptions{AsUser: o.AsUser, MinRevision: o.MinRevision}.query()
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("account", o.Account)
	set("date_from", o.DateFrom)
	set("date_to", o.DateTo)
	set("sort", o.Sort)
	set("q", o.Search)
	set("cursor", cursor)
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	for name, vals := range o.Attrs {
		for _, v := range vals {
			q.Add("attr."+name, v)
		}
	}
	return q
}

// Page is one page of a list; Next is the cursor of the next page, ""
// on the last.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next_cursor"`
}

// ListRecords returns one page of the records of typ the caller (or
// AsUser) may read, starting at cursor ("" for the first page).
func (c *Client) ListRecords(ctx context.Context, typ string, o ListOptions, cursor string) (Page[Record], error) {
	var p Page[Record]
	_, err := c.do(ctx, "GET", "/api/v1/records/"+url.PathEscape(typ), o.query(cursor), nil, &p)
	return p, err
}

// Records iterates over every record of the list, page after page. An
// error ends the iteration, yielded with a zero Record.
//
//	for rec, err := range c.Records(ctx, "sales_order", client.ListOptions{Sort: "id"}) {
//		if err != nil { return err }
//		...
//	}
func (c *Client) Records(ctx context.Context, typ string, o ListOptions) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		cursor := ""
		for {
			p, err := c.ListRecords(ctx, typ, o, cursor)
			if err != nil {
				yield(Record{}, err)
				return
			}
			for _, r := range p.Items {
				if !yield(r, nil) {
					return
				}
			}
			if p.Next == "" {
				return
			}
			cursor = p.Next
		}
	}
}
