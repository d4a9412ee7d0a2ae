package server

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// fields is a JSON object body read for a partial write (DESIGN.md §5.1):
// a key the body omits keeps the stored value, null clears it.
type fields map[string]json.RawMessage

// readFields decodes a JSON object body and rejects keys outside allowed.
func readFields(r *http.Request, allowed ...string) (fields, error) {
	var f fields
	if err := decode(r, &f); err != nil {
		return nil, err
	}
	return f, checkKeys(f, allowed)
}

// parseFields is readFields for one JSON value inside a body.
func parseFields(raw []byte, allowed ...string) (fields, error) {
	var f fields
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, decodeError(err)
	}
	return f, checkKeys(f, allowed)
}

func checkKeys(f fields, allowed []string) error {
	if f == nil {
		return access.Errorf(access.CodeInvalid, "expected a JSON object")
	}
	var unknown []string
	for k := range f {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return access.Errorf(access.CodeInvalid, "unknown field %s", strings.Join(unknown, ", "))
	}
	return nil
}

func (f fields) has(key string) bool { _, ok := f[key]; return ok }

func (f fields) isNull(key string) bool { return string(f[key]) == "null" }

// str sets *dst from a string field; null clears it.
func (f fields) str(key string, dst *string) error {
	raw, ok := f[key]
	if !ok {
		return nil
	}
	if string(raw) == "null" {
		*dst = ""
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return access.Errorf(access.CodeInvalid, "field %s must be a string", key)
	}
	return nil
}

// boolean sets *dst from a boolean field; null restores def.
func (f fields) boolean(key string, dst *bool, def bool) error {
	raw, ok := f[key]
	if !ok {
		return nil
	}
	if string(raw) == "null" {
		*dst = def
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return access.Errorf(access.CodeInvalid, "field %s must be true or false", key)
	}
	return nil
}

// intPtr sets *dst from a non-negative integer field; null clears it.
func (f fields) intPtr(key string, dst **int) error {
	raw, ok := f[key]
	if !ok {
		return nil
	}
	if string(raw) == "null" {
		*dst = nil
		return nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil || n < 0 {
		return access.Errorf(access.CodeInvalid, "field %s must be a non-negative integer or null", key)
	}
	*dst = &n
	return nil
}

// timePtr sets *dst from an RFC 3339 field; null clears it.
func (f fields) timePtr(key string, dst **time.Time) error {
	raw, ok := f[key]
	if !ok {
		return nil
	}
	if string(raw) == "null" {
		*dst = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return access.Errorf(access.CodeInvalid, "field %s must be an RFC 3339 time or null", key)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return access.Errorf(access.CodeInvalid, "field %s must be an RFC 3339 time, like 2026-01-31T00:00:00Z", key)
	}
	t = t.UTC()
	*dst = &t
	return nil
}

// into decodes a field into dst (any JSON shape); null leaves the zero value.
func (f fields) into(key string, dst any) error {
	raw, ok := f[key]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return access.Errorf(access.CodeInvalid, "field %s has the wrong shape", key)
	}
	return nil
}

// first returns the first error.
func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// listParams reads limit and cursor: limit defaults to 50 and is cut to
// 500 (DESIGN.md §5.9).
func listParams(r *http.Request) (limit int, cursor string, err error) {
	q := r.URL.Query()
	limit = 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, "", access.Errorf(access.CodeInvalid, "limit must be a positive integer")
		}
		limit = min(n, 500)
	}
	return limit, q.Get("cursor"), nil
}

func checkID(what, id string) error {
	if !access.ValidID(id) {
		return access.Errorf(access.CodeInvalid, "%s id %q must be 1-64 characters of A-Za-z0-9._:-", what, id)
	}
	return nil
}
