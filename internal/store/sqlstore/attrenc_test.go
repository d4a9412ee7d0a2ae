package sqlstore

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/portcullis-dev/portcullis/internal/jsonenc"
)

// jsonv2Attributes is encodeAttributes' reference encoding.
func jsonv2Attributes(attrs map[string]any) (string, error) {
	var buf bytes.Buffer
	if err := jsonv2.MarshalWrite(&buf, attrs, attributesOptions); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// randAttrValue is a random attribute value; maps hold at most one key
// when single, so that their encoding has one order.
func randAttrValue(rng *rand.Rand, depth int, single bool) any {
	switch k := rng.IntN(8); {
	case k == 0 || depth > 3:
		return randAttrString(rng)
	case k == 1:
		fs := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-7, 1e-6, 123456789, 1e20, 1e21, 1.5e300, -2.5e-300, 5e-324, math.MaxFloat64, 3.14159, 100, 1e6}
		if rng.IntN(2) == 0 {
			return fs[rng.IntN(len(fs))]
		}
		return math.Float64frombits(rng.Uint64()&^(0x7ff<<52) | uint64(rng.IntN(0x7fe))<<52)
	case k == 2:
		if rng.IntN(2) == 0 {
			return rng.Int64() - math.MaxInt64/2
		}
		return rng.IntN(2) == 0
	case k == 3:
		return nil
	case k == 4:
		n := rng.IntN(4)
		if single {
			n = min(n, 1)
		}
		m := map[string]any{}
		for range n {
			m[randAttrString(rng)] = randAttrValue(rng, depth+1, single)
		}
		return m
	case k == 5:
		var a []any
		for range rng.IntN(4) {
			a = append(a, randAttrValue(rng, depth+1, single))
		}
		return a
	default:
		return float64(rng.IntN(100000)) / 100
	}
}

func randAttrString(rng *rand.Rand) string {
	alphabet := []string{"a", "Z", "0", " ", "\"", "\\", "/", "<", ">", "&", "\u2028", "\u2029", "é", "日本", "😀", "\x00", "\x01", "\b", "\t", "\n", "\f", "\r", "\x1f", "\x7f", "\ufffd"}
	var sb strings.Builder
	for range rng.IntN(8) {
		sb.WriteString(alphabet[rng.IntN(len(alphabet))])
	}
	return sb.String()
}

// TestEncodeAttributes_JSONEncMatchesJSONv2: the fast encoder writes exactly
// jsonv2's bytes (single-key maps: one order), the same document for
// multi-key maps, and refuses what jsonv2 refuses.
func TestEncodeAttributes_JSONEncMatchesJSONv2(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		single := i%2 == 0
		attrs := map[string]any{randAttrString(rng): randAttrValue(rng, 0, single)}
		if !single {
			for range rng.IntN(6) {
				attrs[randAttrString(rng)] = randAttrValue(rng, 0, false)
			}
		}
		want, err := jsonv2Attributes(attrs)
		if err != nil {
			t.Fatalf("jsonv2: %v", err)
		}
		got, ok := jsonenc.AppendObject(nil, attrs)
		if !ok {
			t.Fatalf("refused %#v", attrs)
		}
		if single {
			if string(got) != want {
				t.Fatalf("%#v:\n got %s\nwant %s", attrs, got, want)
			}
			continue
		}
		var a, b any
		if err := jsonv2.Unmarshal(got, &a); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if err := jsonv2.Unmarshal([]byte(want), &b); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || !reflect.DeepEqual(a, b) {
			t.Fatalf("got %s\nwant %s", got, want)
		}
	}
	for _, bad := range []map[string]any{
		{"x": math.NaN()}, {"x": math.Inf(1)}, {"x": "\xff"}, {"\xc3": 1.0}, {"x": int32(1)}, {"x": []string{"a"}},
	} {
		if _, ok := jsonenc.AppendObject(nil, bad); ok {
			t.Errorf("accepted %#v", bad)
		}
	}
}

// TestJSONStrings: the JSON lists given to json_each decode to the same
// strings as json.Marshal's (invalid UTF-8 falls back to it), and SQLite
// reads back every value.
func TestJSONStrings(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		vals := make([]string, rng.IntN(5))
		for i := range vals {
			vals[i] = randAttrString(rng)
			if rng.IntN(50) == 0 {
				vals[i] += "\xff"
			}
		}
		got := jsonStrings(vals)
		want, _ := json.Marshal(vals)
		var a, b []string
		if err := json.Unmarshal([]byte(got), &a); err != nil {
			t.Fatalf("%q: %s: %v", vals, got, err)
		}
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%q: got %s, json.Marshal %s", vals, got, want)
		}
	}
	s := recOpen(t, t.TempDir()+"/strings.db")
	vals := []string{"a\"b", "c\\d", "\x00\x1f", "日本", "😀", "\u2028", "</script>&"}
	rows, err := s.db.QueryContext(t.Context(), "SELECT value FROM json_each(?) ORDER BY key", jsonStrings(vals))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var back []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		back = append(back, v)
	}
	if !reflect.DeepEqual(back, vals) {
		t.Errorf("json_each read %q, want %q", back, vals)
	}
}
