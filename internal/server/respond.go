package server

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// statusOf maps every domain error code to its HTTP status: the one place
// where the API's error contract (DESIGN.md §3) lives.
var statusOf = map[string]int{
	access.CodeInvalid:             http.StatusBadRequest,
	access.CodeInvalidField:        http.StatusBadRequest,
	access.CodeUnauthenticated:     http.StatusUnauthorized,
	access.CodeForbidden:           http.StatusForbidden,
	access.CodeConstraintViolation: http.StatusForbidden,
	access.CodeNotFound:            http.StatusNotFound,
	access.CodeConflict:            http.StatusConflict,
	access.CodeProtected:           http.StatusConflict,
	access.CodeTooLarge:            http.StatusRequestEntityTooLarge,
	access.CodeRateLimited:         http.StatusTooManyRequests,
	access.CodeUnavailable:         http.StatusServiceUnavailable,
	codeMethodNotAllowed:           http.StatusMethodNotAllowed,
	codeUnsupportedMediaType:       http.StatusUnsupportedMediaType,
	access.CodeInternal:            http.StatusInternalServerError,
}

// HTTP-level codes beyond the domain's (DESIGN.md §5.13).
const (
	codeMethodNotAllowed     = "method_not_allowed"
	codeUnsupportedMediaType = "unsupported_media_type"
)

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code       string             `json:"code"`
	Message    string             `json:"message"`
	ExistingID string             `json:"existing_id,omitempty"`
	Items      []access.ItemError `json:"items,omitempty"`
}

// writeError answers with the error's code and message. An error that is
// not an *access.Error is internal: it is logged with the request and the
// client only learns that something went wrong.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *access.Error
	if !errors.As(err, &e) {
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &access.Error{Code: access.CodeInternal, Message: "internal error"}
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, errorBody{errorDetail{Code: e.Code, Message: e.Message, ExistingID: e.ExistingID, Items: e.Items}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
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

// setRevision puts the revision of a write in the response header.
func setRevision(w http.ResponseWriter, rev int64) {
	if rev > 0 {
		w.Header().Set("Portcullis-Revision", strconv.FormatInt(rev, 10))
	}
}

// maxBody caps every request body (DESIGN.md §5.10).
const maxBody = 32 << 20

// decode reads a JSON object body into v, rejecting unknown fields,
// trailing data and bodies over the limit with clear errors.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return access.Errorf(access.CodeInvalid, "request body must be a single JSON value")
	}
	return nil
}

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
	case errors.As(err, &te):
		if te.Field != "" {
			return access.Errorf(access.CodeInvalid, "field %s must be %s", te.Field, jsonKind(te.Type.Kind().String()))
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
