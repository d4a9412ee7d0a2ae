package api

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/app"
)

// TestDecodeMatchesEncodingJSON: decode (jsonv2 with encoding/json's
// semantics, encoding/json again on failure) gives every body the value and
// the error that encoding/json alone gives it, for the request types the
// API decodes most (check, check:batch, a record update with optional
// fields): case-insensitive names, duplicate keys, unknown fields, wrong
// types, nulls, invalid UTF-8, trailing data, empty and oversized bodies,
// and defaults the caller set before decoding.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	bodies := []string{
		`{"user":"u1","type":"sales_order","id":"SO1"}`,
		`{"User":"u1","TYPE":"sales_order","iD":"SO1","action":"update","min_revision":7}`,
		`{"user":"u1","user":"u2"}`,
		`{"user":"u1","nope":1}`,
		`{"user":1}`,
		`{"user":null,"min_revision":null}`,
		`{"min_revision":1.5}`,
		`{"min_revision":"7"}`,
		"{\"user\":\"\xff\xfe\",\"id\":\"a\\ud800b\"}",
		`{"user":"u1"} {"user":"u2"}`,
		`{"user":"u1"}   `,
		`{"user":"u1"`,
		`[]`,
		`null`,
		``,
		`   `,
		`{"checks":[{"user":"u1","type":"t","id":"a"},{"user":"u2","type":"t","id":"b","action":"delete"}],"min_revision":3}`,
		`{"checks":[{"user":"u1","type":"t","id":"a","extra":true}]}`,
		`{"checks":{"user":"u1"}}`,
		`{"checks":null}`,
		`{"owner":null,"date":"2024-01-02","parent":{"type":"sales_order","id":"SO1"},"attributes":{"a":1,"b":[true,null,"x"]}}`,
		`{"owner":"acme","teams":[{"principal":"account:b","access":"read"}],"attributes":null}`,
		`{"parent":null,"teams":null,"creator":7}`,
		`{"attributes":{"a":1,"a":2}}`,
		`{"owner":"` + strings.Repeat("x", 300) + `"}`,
	}
	types := map[string]func() any{
		"check":  func() any { return &checkRequest{Action: "read"} }, // a default set before
		"batch":  func() any { return &checkBatchRequest{MinRevision: 1} },
		"update": func() any { return &app.RecordUpdate{} },
	}
	for name, fresh := range types {
		for _, limit := range []int64{1 << 20, 64} {
			for _, body := range bodies {
				req := func() *http.Request {
					r := httptest.NewRequest("POST", "/", strings.NewReader(body))
					r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, limit)
					return r
				}
				got, want := fresh(), fresh()
				gotErr := decode(req(), got)
				wantErr := decodeV1(req().Body, want)
				if !reflect.DeepEqual(got, want) || errText(gotErr) != errText(wantErr) {
					t.Errorf("%s, limit %d, body %q:\ndecode   %#v, %v\nencoding/json %#v, %v", name, limit, body, got, gotErr, want, wantErr)
				}
			}
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
