package app

import (
	"context"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// Related lists (shared/design/records.md §3): a record page shows the
// records whose parent it is (an order its shipments, an invoice its
// payments), as the subject sees them.

// RelatedList is one related list of a record: its visible children of
// one type, newest first.
type RelatedList struct {
	Type  *policy.Type
	Items []*access.Record
	// Parent is the list's parent filter value, "<type>:<id>", for a
	// link to the whole list.
	Parent string
	// More is set when the record has more visible children of the type
	// than Items holds.
	More bool
}

// RelatedRecords returns the children of record typ/id that the subject
// (the actor, or asUser for staff) may read, one list per type whose
// parent_type is typ (in policy order), each newest first and at most
// limit long, fields masked; types with no visible child are left out.
// It is ListRecords with a parent filter: CodeNotFound for an unknown
// type; for a record the subject cannot read every list is empty.
func (a *App) RelatedRecords(ctx context.Context, c *Actor, typ, id, asUser string, limit int) ([]RelatedList, error) {
	if _, err := a.recordType(typ); err != nil {
		return nil, err
	}
	parent := typ + ":" + id
	var out []RelatedList
	for _, t := range a.eng.Policy().Types() {
		if t.ParentType != typ {
			continue
		}
		page, err := a.ListRecords(ctx, c, RecordList{Type: t.Name, AsUser: asUser, Parent: parent, Sort: "-date",
			ListParams: ListParams{Limit: limit}})
		if err != nil {
			return nil, err
		}
		if len(page.Items) > 0 {
			out = append(out, RelatedList{Type: t, Items: page.Items, Parent: parent, More: page.Next != ""})
		}
	}
	return out, nil
}
