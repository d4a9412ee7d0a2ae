package app

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/portcullis-dev/portcullis/internal/policy"
)

// TestCSVReader_NextUpdate is a property test of the records CSV reader's
// direct path (nextUpdate, #16): for random headers and cells (empty,
// numbers, NaN and infinities, booleans, padded values, quotes, JSON for
// parent and teams, invalid UTF-8, a wrong type), every row yields the
// same RecordUpdate, or the same error, as its JSON line decoded the way
// readChunk decodes it, and the direct path is taken at all.
func TestCSVReader_NextUpdate(t *testing.T) {
	typ := &policy.Type{Name: "sales_order", Fields: map[string]policy.Field{
		"amount": {Name: "amount", Type: "number"},
		"paid":   {Name: "paid", Type: "bool"},
		"number": {Name: "number", Type: "string"},
	}}
	columns := []string{"id", "owner", "date", "creator", "type", "parent", "teams", "updated_at", "revision",
		"attr.amount", "attr.paid", "attr.number", "attr.note", "attr.\xffbad"}
	cells := []string{"", "", "x", "SO-1", " 12 ", "12", "-0", "1.50", "1e400", "NaN", "Inf", "true", "FALSE", "yes",
		"sales_order", "other", `{"type":"sales_order","id":"P1"}`, `[{"principal":"user:u1","access":"read"}]`,
		`{"bad":1}`, `not json`, "caf\xe9", "ü\"q\"", "a\nb", "2025-03-01"}
	direct := 0
	rapid.Check(t, func(t *rapid.T) {
		head := rapid.SliceOfNDistinct(rapid.SampledFrom(columns), 1, 8, rapid.ID[string]).Draw(t, "head")
		n := rapid.IntRange(1, 6).Draw(t, "rows")
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write(head)
		for range n {
			row := make([]string, len(head))
			for i := range row {
				row[i] = rapid.SampledFrom(cells).Draw(t, "cell")
			}
			w.Write(row)
		}
		w.Flush()
		open := func() *csvReader {
			cr, err := newCSVReader(bytes.NewReader(buf.Bytes()), recordColumn(typ))
			if err != nil {
				t.Skip("header refused")
			}
			cr.fixed = map[string]any{"type": typ.Name}
			cr.typ = typ.Name
			cr.plainHead = plainHead(cr.cols)
			return cr
		}
		fast, lines := open(), open()
		for {
			var got RecordUpdate
			raw, gotLine, gotErr := fast.nextUpdate(&got)
			if gotErr == nil && raw != nil {
				gotErr = jsonv2.Unmarshal(raw, &got, jsonv2.RejectUnknownMembers(true))
			}
			var want RecordUpdate
			wantRaw, wantLine, wantErr := lines.next()
			if wantErr == nil {
				wantErr = jsonv2.Unmarshal(wantRaw, &want, jsonv2.RejectUnknownMembers(true))
			}
			if gotLine != wantLine {
				t.Fatalf("line %d, want %d", gotLine, wantLine)
			}
			// A row the direct path leaves to the line (raw) is the same
			// line, but its map order, and so which of two bad fields the
			// decoder names, may differ between two encodings.
			if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && raw == nil && gotErr.Error() != wantErr.Error()) {
				t.Fatalf("line %d: error %v, want %v", gotLine, gotErr, wantErr)
			}
			if errors.Is(wantErr, io.EOF) {
				return
			}
			if wantErr != nil {
				return // the import stops at the first bad line
			}
			if raw == nil {
				direct++
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("line %d: (-line +direct)\n%s", gotLine, diff)
			}
		}
	})
	if direct == 0 {
		t.Error("no row took the direct path")
	}
}
