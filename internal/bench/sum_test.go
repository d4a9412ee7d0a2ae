package bench

import (
	"crypto/sha256"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/worldgen"
)

// TestRecordSum checks that the generation checksum's own encoder writes
// encoding/json's bytes: for every record the generator makes at small, and
// for values it does not make (where it falls back or must still agree).
func TestRecordSum(t *testing.T) {
	m := worldgen.NewModel(worldgen.Small, 5, testEpoch)
	rg := newRecordGen(m, 5, map[string]*OrderCount{})
	fast, slow := sha256.New(), sha256.New()
	var buf []byte
	n, fallbacks := 0, 0
	for {
		b := rg.next(nil, 5000)
		if len(b) == 0 {
			break
		}
		for _, r := range b {
			want, _ := json.Marshal(r)
			got, ok := appendRecordJSON(nil, r)
			if !ok {
				fallbacks++
			} else if string(got) != string(want) {
				t.Fatalf("record %s: got\n%s\nwant\n%s", r.ID, got, want)
			}
			writeSum(slow, "record", r)
		}
		buf = recordSum(fast, b, buf)
		n += len(b)
	}
	if n != worldgen.Small.Records || fallbacks > 0 {
		t.Errorf("%d records, %d encoded by encoding/json: want %d, none", n, fallbacks, worldgen.Small.Records)
	}
	if string(fast.Sum(nil)) != string(slow.Sum(nil)) {
		t.Error("recordSum's checksum differs from writeSum's")
	}

	odd := []*access.Record{
		{Type: "t", ID: "a<b&c>", Attributes: map[string]any{}},
		{Type: "t", ID: "ü", Attributes: map[string]any{"x": "line\nbreak"}},
		{Type: "t", ID: "q\"uote", Attributes: map[string]any{"x": `back\slash`}},
		{Type: "t", ID: "1", Attributes: map[string]any{"tiny": 1e-7, "big": 1e21, "neg": -0.5, "zero": 0.0, "int": 42.0,
			"exp": 1.5e-300, "b": true, "nil": nil, "arr": []any{1.0, "x", []any{}, map[string]any{"z": 1.0, "a": 2.0}}}},
		{Type: "t", ID: "2", Attributes: nil, Parent: &access.Ref{Type: "p", ID: "q"}, Creator: "u",
			Teams: []access.TeamEntry{{Principal: "user:u", Access: "read"}, {Principal: "account:a", Access: "read_write"}}},
		{Type: "t", ID: "3", UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Revision: 7, Attributes: map[string]any{}},
		{Type: "t", ID: "4", Attributes: map[string]any{"int": 3, "inf": math.Inf(1)}},
	}
	for _, r := range odd {
		want, err := json.Marshal(r)
		got, ok := appendRecordJSON(nil, r)
		if ok && (err != nil || string(got) != string(want)) {
			t.Errorf("record %q: got\n%s\nwant\n%s (%v)", r.ID, got, want, err)
		}
	}
	h1, h2 := sha256.New(), sha256.New()
	recordSum(h1, odd[:6], nil)
	for _, r := range odd[:6] {
		writeSum(h2, "record", r)
	}
	if string(h1.Sum(nil)) != string(h2.Sum(nil)) {
		t.Error("recordSum's checksum differs from writeSum's for odd records")
	}
}
