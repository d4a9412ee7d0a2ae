package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
)

// writeJSON answers with v as JSON (HTML characters unescaped: the API's
// bodies are never HTML).
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}

// writeRecords is writeJSON for a page of records: the same JSON
// (encoding/json's semantics, jsonv1.DefaultOptionsV1), written by jsonv2,
// which checks the attributes passed through as stored JSON in one pass
// instead of encoding/json's validate-then-compact of every RawMessage.
func writeRecords(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	bw := bufio.NewWriterSize(w, 32<<10)
	if err := jsonv2.MarshalWrite(bw, v, jsonv1.DefaultOptionsV1(), jsontext.EscapeForHTML(false)); err != nil {
		slog.Debug("write response", "err", err)
		return
	}
	_ = bw.WriteByte('\n') // as json.Encoder ends a value
	if err := bw.Flush(); err != nil {
		slog.Debug("write response", "err", err)
	}
}

// list is the list envelope of DESIGN.md §3.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func newList[T any](items []T, next string) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items, NextCursor: next}
}

func pageOf[T any](p app.Page[T]) list[T] { return newList(p.Items, p.Next) }

// decode reads a JSON object body into v, rejecting unknown fields,
// trailing data and bodies over the limit with clear errors. The body is
// decoded by jsonv2 with encoding/json's semantics (jsonv1.DefaultOptionsV1,
// as writeRecords), two to three times cheaper than encoding/json's
// reflection for the many small objects of a check:batch (#14); a body
// that jsonv2 refuses is decoded again by encoding/json, so that every
// error stays exactly encoding/json's.
func decode(r *http.Request, v any) error {
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 && n <= 1<<20 {
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return decodeError(err)
	}
	if fd, ok := v.(fastDecoder); ok && fd.decodeFast(buf.Bytes()) {
		return nil
	}
	// jsonv2 with these options accepts what encoding/json accepts (the
	// package documents them as its semantics; TestDecodeMatchesEncodingJSON
	// compares the two), so the second decode only writes the error.
	if jsonv2.Unmarshal(buf.Bytes(), v, jsonv1.DefaultOptionsV1(), jsonv2.RejectUnknownMembers(true)) == nil {
		return nil
	}
	return decodeV1(bytes.NewReader(buf.Bytes()), v)
}

// fastDecoder is a destination of decode with a parser of its own for
// the common form of its bodies (checkjson.go); decodeFast reports false,
// leaving the value as it was, for anything else.
type fastDecoder interface {
	decodeFast(body []byte) bool
}

// decodeV1 is decode by encoding/json: the errors of the API.
func decodeV1(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return access.Errorf(access.CodeInvalid, "request body must be a single JSON value")
	}
	return nil
}

// decodeError turns a decoding error into the API's: CodeTooLarge for a
// body over the limit, CodeInvalid naming the field otherwise.
func decodeError(err error) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return access.Errorf(access.CodeTooLarge, "request body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, io.EOF):
		return access.Errorf(access.CodeInvalid, "request body is empty")
	case errors.As(err, &se):
		return access.Errorf(access.CodeInvalid, "request body is not valid JSON (at byte %d)", se.Offset)
	case errors.As(err, &te) && te.Type == reflect.TypeOf(time.Time{}):
		return access.FieldErrorf(access.CodeInvalid, te.Field, "field %s must be an RFC 3339 time, like 2026-01-31T00:00:00Z", te.Field)
	case errors.As(err, &te):
		if te.Field != "" {
			return access.FieldErrorf(access.CodeInvalid, te.Field, "field %s must be %s", te.Field, jsonKind(te.Type.Kind().String()))
		}
		return access.Errorf(access.CodeInvalid, "request body must be a JSON %s", jsonKind(te.Type.Kind().String()))
	}
	if msg := err.Error(); len(msg) > 0 && len(msg) < 200 {
		// encoding/json's unknown-field message names the field.
		return access.Errorf(access.CodeInvalid, "%s", trimJSONPrefix(msg))
	}
	return access.Errorf(access.CodeInvalid, "request body is not valid")
}

func trimJSONPrefix(s string) string {
	const p = "json: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

func jsonKind(k string) string {
	switch k {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "ptr", "interface":
		return "a value"
	}
	return "a number"
}
