package api

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/portcullis-dev/portcullis/internal/app"
)

// checkBody draws a check or check:batch body near the plain form that
// decodeFast takes: the members in their usual and other spellings, once
// or twice, unknown ones, strings with and without escapes or non-ASCII
// bytes, integers and other numbers, nulls, whitespace, and sometimes a
// body cut short or followed by more.
func checkBody(t *rapid.T, batch bool) string {
	ws := func(l string) string {
		return rapid.SampledFrom([]string{"", "", "", " ", "\n", "\t ", "\r\n"}).Draw(t, l)
	}
	str := func(l string) string {
		return rapid.SampledFrom([]string{`"u1"`, `"sales_order"`, `"SO-1"`, `""`, `"read"`, `"update"`, `"a b~"`,
			`"a\"b"`, `"\u0041"`, `"é"`, "\"\xff\"", `"a\/b"`, "\"\x7f\"", `null`, `7`}).Draw(t, l)
	}
	num := func(l string) string {
		return rapid.SampledFrom([]string{`0`, `7`, `-3`, `-0`, `123456789`, `01`, `1.5`, `1e3`, `-`,
			`9223372036854775807`, `9223372036854775808`, `"7"`, `null`, `true`}).Draw(t, l)
	}
	object := func(l string, members func(i int) string) string {
		n := rapid.IntRange(0, 6).Draw(t, l+"n")
		parts := make([]string, n)
		for i := range parts {
			parts[i] = ws(l+"w1") + members(i) + ws(l+"w2")
		}
		return "{" + strings.Join(parts, ",") + ws(l+"w3") + "}"
	}
	check := func(l string) string {
		return object(l, func(i int) string {
			key := rapid.SampledFrom([]string{"user", "action", "type", "id", "min_revision", "user", "type", "id",
				"User", "ID", "extra", "checks"}).Draw(t, l+"key")
			val := str(l + "str")
			if key == "min_revision" || rapid.IntRange(0, 9).Draw(t, l+"numval") == 0 {
				val = num(l + "num")
			}
			return `"` + key + `"` + ws(l+"w4") + ":" + ws(l+"w5") + val
		})
	}
	var body string
	if batch {
		body = object("b", func(i int) string {
			switch rapid.IntRange(0, 5).Draw(t, "member") {
			case 0:
				return `"min_revision":` + num("brev")
			case 1:
				return `"extra":1`
			case 2:
				return `"checks":` + rapid.SampledFrom([]string{`null`, `{}`, `[]`, `[1]`}).Draw(t, "odd")
			}
			n := rapid.IntRange(0, 4).Draw(t, "checks")
			items := make([]string, n)
			for i := range items {
				items[i] = ws("iw") + check("c") + ws("iw2")
			}
			return `"checks"` + ws("w6") + ":" + ws("w7") + "[" + strings.Join(items, ",") + "]"
		})
	} else {
		body = check("c")
	}
	switch rapid.IntRange(0, 9).Draw(t, "tail") {
	case 0:
		body = body[:rapid.IntRange(0, len(body)).Draw(t, "cut")]
	case 1:
		body += rapid.SampledFrom([]string{" ", "x", "{}", ","}).Draw(t, "more")
	}
	return ws("lead") + body + ws("trail")
}

// TestCheckBodiesMatchDecode: a check or check:batch body decodes to the
// value and the error that encoding/json gives it, whether decodeFast
// takes it or leaves it to the general decoder; and decodeFast takes the
// plain form (a good part of the drawn bodies), so the test exercises it.
func TestCheckBodiesMatchDecode(t *testing.T) {
	fast := 0
	rapid.Check(t, func(t *rapid.T) {
		batch := rapid.Bool().Draw(t, "batch")
		body := checkBody(t, batch)
		fresh := func() any {
			if batch {
				return &checkBatchRequest{MinRevision: 1}
			}
			return &checkRequest{Action: "read"}
		}
		req := func() *http.Request { return httptest.NewRequest("POST", "/", strings.NewReader(body)) }
		got, want := fresh(), fresh()
		gotErr := decode(req(), got)
		wantErr := decodeV1(req().Body, want)
		if !reflect.DeepEqual(got, want) || errText(gotErr) != errText(wantErr) {
			t.Fatalf("body %q:\ndecode        %#v, %v\nencoding/json %#v, %v", body, got, gotErr, want, wantErr)
		}
		if fresh().(fastDecoder).decodeFast([]byte(body)) {
			fast++
		}
	})
	if fast < 10 {
		t.Errorf("decodeFast took %d bodies: the fast path is not exercised", fast)
	}
}

// TestCheckFastPath: the bodies clients send take the fast path.
func TestCheckFastPath(t *testing.T) {
	var one checkRequest
	if !one.decodeFast([]byte(`{"user":"U-ANNA","action":"read","type":"sales_order","id":"SO-1","min_revision":12}`)) ||
		one != (checkRequest{User: "U-ANNA", Action: "read", Type: "sales_order", ID: "SO-1", MinRevision: 12}) {
		t.Errorf("check: %+v", one)
	}
	var batch checkBatchRequest
	body := `{"checks": [{"user": "U-ANNA", "type": "sales_order", "id": "SO-1"},` + "\n" +
		` {"user": "U-BEN", "type": "invoice", "id": "IN-2", "action": "update"}], "min_revision": 3}`
	want := checkBatchRequest{MinRevision: 3, Checks: []app.CheckRequest{
		{User: "U-ANNA", Type: "sales_order", ID: "SO-1"}, {User: "U-BEN", Type: "invoice", ID: "IN-2", Action: "update"}}}
	if !batch.decodeFast([]byte(body)) || !reflect.DeepEqual(batch, want) {
		t.Errorf("batch: %+v", batch)
	}
}

// TestCheckResultsMatchWriteJSON: the check answers appended by hand are
// writeJSON's bytes, for field names of every kind.
func TestCheckResultsMatchWriteJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		name := rapid.SampledFrom([]string{"price", "unit_cost", "", "a\"b", "a\\b", "<&>", "é", "\u2028", "\xff", "\x01", "\x7f"})
		results := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) app.CheckResult {
			r := app.CheckResult{Allowed: rapid.Bool().Draw(t, "allowed"), Revision: rapid.Int64().Draw(t, "rev")}
			if rapid.IntRange(0, 4).Draw(t, "nil") > 0 {
				r.Fields = rapid.SliceOfN(name, 0, 4).Draw(t, "fields")
			}
			return r
		}), 0, 5).Draw(t, "results")
		if rapid.IntRange(0, 9).Draw(t, "nilresults") == 0 {
			results = nil
		}
		want := httptest.NewRecorder()
		writeJSON(want, 200, map[string]any{"results": results})
		got, err := appendCheckResults(nil, results)
		if err != nil || string(got) != want.Body.String() {
			t.Fatalf("batch %#v:\n got %q, %v\nwant %q", results, got, err, want.Body.String())
		}
		for _, r := range results {
			want := httptest.NewRecorder()
			writeJSON(want, 200, r)
			got, err := appendCheckResult(nil, r)
			if err != nil || string(got)+"\n" != want.Body.String() {
				t.Fatalf("check %#v:\n got %q, %v\nwant %q", r, got, err, want.Body.String())
			}
		}
	})
}
