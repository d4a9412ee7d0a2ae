package api

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// TestWriteRecordsMatchesWriteJSON: a page of records written by
// writeRecords is byte for byte what writeJSON writes (HTML characters and
// U+2028 in ids and in raw attributes, decoded attributes, staff teams,
// null parents and owners, the cursor, an empty page).
func TestWriteRecordsMatchesWriteJSON(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	recs := []*access.Record{
		{Type: "order", ID: "a<b>&\u2028x", Owner: "o", Date: "2026-01-01", Raw: []byte(`{"a":1,"s":"x<y>\u2028"}`), UpdatedAt: now, Revision: 3, Parent: &access.Ref{Type: "p", ID: "q"}},
		{Type: "order", ID: "b", Attributes: map[string]any{"z": 1.5, "a": []any{"x", nil, true}}, UpdatedAt: now},
		{Type: "order", ID: "c", Teams: []access.TeamEntry{{Principal: "account:acme", Access: "read"}}},
	}
	for _, staff := range []bool{false, true} {
		items := []surface.RecordOut{}
		for _, r := range recs {
			items = append(items, surface.RecordJSON(r, staff))
		}
		for _, v := range []list[surface.RecordOut]{newList(items, "cursor"), newList([]surface.RecordOut{}, "")} {
			want, got := httptest.NewRecorder(), httptest.NewRecorder()
			writeJSON(want, 200, v)
			writeRecords(got, 200, v)
			if got.Body.String() != want.Body.String() || got.Header().Get("Content-Type") != "application/json" {
				t.Errorf("staff=%v: writeRecords wrote\n%s\nwriteJSON\n%s", staff, got.Body, want.Body)
			}
		}
	}
}
