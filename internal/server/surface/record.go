package surface

import (
	"encoding/json"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// RecordOut is the JSON form of a record (DESIGN.md §1 Records), as the API
// sends it and the console shows it raw.
type RecordOut struct {
	Type    string              `json:"type"`
	ID      string              `json:"id"`
	Owner   *string             `json:"owner"`
	Date    *string             `json:"date"`
	Parent  *access.Ref         `json:"parent"`
	Teams   *[]access.TeamEntry `json:"teams,omitempty"` // staff only
	Creator *string             `json:"creator"`
	// Attributes is a map[string]any, or the stored JSON object passed
	// through (json.RawMessage) when the viewer sees all of it.
	Attributes any       `json:"attributes"`
	UpdatedAt  time.Time `json:"updated_at"`
	Revision   int64     `json:"revision"`
}

// RecordJSON renders a record (already masked for an external viewer):
// empty owner, date and creator as null; teams only for staff (an empty
// list when none), never for an external viewer.
func RecordJSON(r *access.Record, staff bool) RecordOut {
	out := RecordOut{Type: r.Type, ID: r.ID, Owner: nullable(r.Owner), Date: nullable(r.Date), Parent: r.Parent,
		Creator: nullable(r.Creator), Attributes: r.Attributes, UpdatedAt: r.UpdatedAt, Revision: r.Revision}
	switch {
	case r.Raw != nil:
		out.Attributes = json.RawMessage(r.Raw)
	case r.Attributes == nil:
		out.Attributes = map[string]any{}
	}
	if staff {
		teams := r.Teams
		if teams == nil {
			teams = []access.TeamEntry{}
		}
		out.Teams = &teams
	}
	return out
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
