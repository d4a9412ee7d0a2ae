package api

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// referencePage is what handleListRecords wrote before writeRecordPage:
// writeRecords of the surface.RecordJSON items.
func referencePage(recs []*access.Record, staff bool, next string) *httptest.ResponseRecorder {
	items := make([]surface.RecordOut, len(recs))
	for i, r := range recs {
		items[i] = surface.RecordJSON(r, staff)
	}
	w := httptest.NewRecorder()
	writeRecords(w, 200, newList(items, next))
	return w
}

// jsonText draws JSON texts near what attributes hold, with the cases
// verbatimJSON must refuse: whitespace, escapes (\u among them), HTML
// characters, U+2028, invalid UTF-8, control characters, odd numbers,
// duplicate names and truncated or trailing text.
func jsonText(t *rapid.T, label string, depth int) string {
	atoms := []string{`"x"`, `"a<b>&c"`, `"line\nbreak"`, `"\u00e9t\u00e9"`, `"\u2028"`, "\"\u2028\"", "\"caf\u00e9\"", "\"\xff\"", "\"\x01\"",
		`"q\"uote"`, `"back\\slash"`, `"sl\/ash"`, `"\ud800"`, `0`, `-0`, `12`, `12.50`, `1e5`, `-1.5E-3`, `01`, `1.`, `.5`, `true`, `false`, `null`, `nul`, `""`}
	kind := rapid.IntRange(0, 3).Draw(t, label+"kind")
	if depth > 3 {
		kind = 0
	}
	ws := func(l string) string { return rapid.SampledFrom([]string{"", "", "", "", " ", "\n", "\t "}).Draw(t, l) }
	switch kind {
	case 0:
		return rapid.SampledFrom(atoms).Draw(t, label+"atom")
	case 1:
		n := rapid.IntRange(0, 3).Draw(t, label+"n")
		s := "[" + ws(label+"w0")
		for i := range n {
			if i > 0 {
				s += "," + ws(label+"w1")
			}
			s += jsonText(t, label+"e", depth+1)
		}
		return s + ws(label+"w2") + "]"
	default:
		n := rapid.IntRange(0, 4).Draw(t, label+"n")
		s := "{" + ws(label+"w0")
		for i := range n {
			if i > 0 {
				s += "," + ws(label+"w1")
			}
			key := rapid.SampledFrom([]string{`"a"`, `"a"`, `"status"`, `"n\u00e9"`, `"<k>"`, "\"\u2029\"", `"\n"`}).Draw(t, label+"k")
			s += key + ws(label+"w3") + ":" + ws(label+"w4") + jsonText(t, label+"v", depth+1)
		}
		return s + ws(label+"w2") + "}"
	}
}

// TestWriteRecordPage: writeRecordPage writes byte for byte what
// writeRecords wrote for the same page, for raw attributes of every kind
// (valid or not), decoded attributes, odd strings, parents, teams, times
// and cursors, staff or not.
func TestWriteRecordPage(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		str := func(l string) string {
			return rapid.SampledFrom([]string{"", "SO-1", "C000001-S1", "2026-01-02", "2026-01-02T03:04:05Z", "a<b>&c", "q\"uote", "tab\t", "\u2028", "caf\u00e9", "\xff", "back\\slash"}).Draw(t, l)
		}
		n := rapid.IntRange(0, 4).Draw(t, "n")
		recs := make([]*access.Record, n)
		for i := range recs {
			r := &access.Record{Type: str("type"), ID: str("id"), Owner: str("owner"), Date: str("date"), Creator: str("creator"),
				Revision: rapid.Int64().Draw(t, "rev")}
			if rapid.Bool().Draw(t, "parent") {
				r.Parent = &access.Ref{Type: str("ptype"), ID: str("pid")}
			}
			if rapid.Bool().Draw(t, "teams") {
				r.Teams = []access.TeamEntry{{Principal: str("principal"), Access: "read"}}
			}
			switch rapid.IntRange(0, 3).Draw(t, "time") {
			case 0:
				r.UpdatedAt = time.UnixMicro(rapid.Int64Range(0, 1<<52).Draw(t, "us")).UTC()
			case 1:
				r.UpdatedAt = time.UnixMicro(rapid.Int64Range(0, 1<<52).Draw(t, "us")).In(time.FixedZone("x", 3600))
			case 2:
				r.UpdatedAt = time.Date(rapid.IntRange(-5, 10005).Draw(t, "year"), 1, 2, 3, 4, 5, rapid.IntRange(0, 999999999).Draw(t, "ns"), time.UTC)
			}
			switch rapid.IntRange(0, 3).Draw(t, "attrs") {
			case 0:
				r.Raw = []byte(jsonText(t, "raw", 0))
			case 1:
				var m map[string]any
				if json.Unmarshal([]byte(jsonText(t, "map", 1)), &m) == nil {
					r.Attributes = m
				}
			case 2:
				r.Raw = []byte{}
			}
			recs[i] = r
		}
		staff := rapid.Bool().Draw(t, "staff")
		next := rapid.SampledFrom([]string{"", "eyJhIjoxfQ", "a<b>\u2028"}).Draw(t, "next")
		want := referencePage(recs, staff, next)
		got := httptest.NewRecorder()
		writeRecordPage(got, 200, recs, staff, next)
		if got.Body.String() != want.Body.String() || got.Code != want.Code || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
			t.Fatalf("writeRecordPage wrote\n%q\nwriteRecords\n%q", got.Body, want.Body)
		}
	})
}

// TestVerbatimJSON: verbatimJSON accepts exactly what jsonv2 writes
// unchanged, on ordinary attributes and the cases it must refuse.
func TestVerbatimJSON(t *testing.T) {
	for raw, want := range map[string]bool{
		`{"status":"open","total":1234.5,"lines":[1,2,{"a":null}],"ok":true}`: true,
		`{"a":"x<y>&z","b":"caf` + "\u00e9" + `","c":"a\nb\"c"}`:              true,
		`{"a":1} `:           false,
		`{"a": 1}`:           false,
		`{"a":"\u00e9"}`:     false,
		"{\"a\":\"\u2028\"}": false,
		"{\"a\":\"\xff\"}":   false,
		`{"a":01}`:           false,
		`{"a":1`:             false,
		``:                   false,
		`{}`:                 true,
		`[]`:                 true,
	} {
		if got := verbatimJSON([]byte(raw)); got != want {
			t.Errorf("verbatimJSON(%q) = %v, want %v", raw, got, want)
		}
	}
}

// BenchmarkVerbatimJSON checks a typical stored attribute document (the
// page writer does it for every row it copies).
func BenchmarkVerbatimJSON(b *testing.B) {
	raw := []byte(`{"status":"open","customer_po":"PO-2026-004411","ship_to":"Lager Nord, Tor 3","currency":"EUR","lines":[{"sku":"SKU-0160","qty":12,"price":19.9},{"sku":"SKU-0042","qty":1,"price":240}],"notes":"Bitte vor 10 Uhr liefern; Rampe 2 ist gesperrt.","total":478.8,"paid":false}`)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if !verbatimJSON(raw) {
			b.Fatal("not verbatim")
		}
	}
}
