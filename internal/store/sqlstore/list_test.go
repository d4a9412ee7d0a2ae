package sqlstore

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

func TestDateKey(t *testing.T) {
	for date, want := range map[string]string{
		"":                               "",
		"2025-06-01":                     "2025-06-01",
		"2025-06-01T23:30:00+02:00":      "2025-06-01T21:30:00.000000000Z",
		"2025-06-01T23:30:00-02:00":      "2025-06-02T01:30:00.000000000Z",
		"2025-06-01T00:00:00.123456789Z": "2025-06-01T00:00:00.123456789Z",
	} {
		got, err := dateKey(date)
		if err != nil || got != want {
			t.Errorf("dateKey(%q) = %q, %v; want %q", date, got, err, want)
		}
		// The key's day prefix is the engine's day: one range condition
		// (dkey >= "YYYY-MM-DD") is "UTC day on or after".
		if day, _ := access.Day(date); !strings.HasPrefix(got, day) {
			t.Errorf("dateKey(%q) = %q does not start with its day %q", date, got, day)
		}
	}
	for _, bad := range []string{"2025-13-01", "yesterday", "2025-06-01T25:00:00Z"} {
		if _, err := dateKey(bad); access.ErrorCode(err) != access.CodeInvalid {
			t.Errorf("dateKey(%q): %v, want invalid", bad, err)
		}
	}
}

// TestEncodeAttributes_MatchesEncodingJSON holds the stored attributes to
// what encoding/json would store, and their measured size to json.Marshal's.
func TestEncodeAttributes_MatchesEncodingJSON(t *testing.T) {
	for _, v := range []map[string]any{
		{"a": "x\"y\\z\n\t\x01<>&", "b": 1.5, "c": []any{true, false, nil, 1e21, 1e-7, 0.0, 123456789.0},
			"d": map[string]any{"e": "héllo \u2028", "f": 12.5}, "g": int64(7), "h": []string{"typed"}},
		{},
	} {
		got, err := encodeAttributes(v)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		want, _ := json.Marshal(v)
		if err := json.Unmarshal([]byte(got), &a); err != nil {
			t.Fatalf("encodeAttributes(%v) = %s: not JSON: %v", v, got, err)
		}
		json.Unmarshal(want, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("encodeAttributes(%v) = %s, encoding/json %s", v, got, want)
		}
		if n := marshalledSize(got); n != len(want) {
			t.Errorf("marshalledSize(%s) = %d, json.Marshal gives %d bytes", got, n, len(want))
		}
	}
	for _, bad := range []map[string]any{{"x": math.NaN()}, {"x": "invalid \xff utf-8"}} {
		if got, err := encodeAttributes(bad); err == nil {
			t.Errorf("%v encoded as %s", bad, got)
		}
	}
}

func TestParseSort(t *testing.T) {
	typ := policy.Default().Type("sales_order")
	for _, s := range []string{"", "date", "-date", "id", "-id", "attr.status", "-attr.amount", "updated_at"} {
		if _, err := parseSort(typ, s); err != nil {
			t.Errorf("parseSort(%q): %v", s, err)
		}
	}
	for s, code := range map[string]string{
		"owner": access.CodeInvalid, "-updated_at": access.CodeInvalid, "attr.lines": access.CodeInvalidField, "attr.nope": access.CodeInvalidField,
	} {
		if _, err := parseSort(typ, s); access.ErrorCode(err) != code {
			t.Errorf("parseSort(%q): %v, want %s", s, err, code)
		}
	}
}

func TestCursor_RoundTripAndShape(t *testing.T) {
	typ := policy.Default().Type("sales_order")
	for _, c := range []struct {
		sort string
		key  pageKey
	}{
		{"-date", pageKey{Seg: 0, Key: "2025-06-01T21:30:00.000000000Z", ID: "SO1"}},
		{"date", pageKey{Seg: 1, ID: "SO2"}},
		{"-attr.amount", pageKey{Seg: 0, Key: 12.25, ID: "SO3"}},
		{"updated_at", pageKey{Seg: 0, Key: int64(1749988800000001), ID: "SO4"}},
		{"id", pageKey{Seg: 0, ID: "SO5"}},
	} {
		sp, _ := parseSort(typ, c.sort)
		q := store.RecordQuery{Type: "sales_order", Sort: c.sort, DateFrom: "2025-01-01"}
		shape, _ := queryShape(typ, q, sp)
		got, err := sp.decodeCursor(sp.encodeCursor(shape, c.key), shape)
		if err != nil || !reflect.DeepEqual(*got, c.key) {
			t.Errorf("%s: round trip %+v -> %+v, %v", c.sort, c.key, got, err)
		}
		q.DateFrom = "2025-01-02"
		other, _ := queryShape(typ, q, sp)
		if _, err := sp.decodeCursor(sp.encodeCursor(shape, c.key), other); access.ErrorCode(err) != access.CodeInvalid {
			t.Errorf("%s: cursor of another list: %v", c.sort, err)
		}
	}
}

func TestAttrValue(t *testing.T) {
	fields := policy.Default().Type("sales_order").Fields
	for _, c := range []struct {
		field string
		in    any
		want  any
	}{
		{"status", "open", "open"},
		{"amount", 3, 3.0},
		{"amount", "2.5", 2.5},
		{"order_date", "2025-01-01", "2025-01-01"},
	} {
		got, err := attrValue(fields[c.field], c.in)
		if err != nil || got != c.want {
			t.Errorf("attrValue(%s, %v) = %v, %v; want %v", c.field, c.in, got, err, c.want)
		}
	}
	if _, err := attrValue(fields["amount"], "ten"); access.ErrorCode(err) != access.CodeInvalid {
		t.Errorf("a word for a number: %v", err)
	}
}
