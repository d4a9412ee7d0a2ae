package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// writeRecordPage writes a page of records as writeRecords writes
// newList(surface.RecordJSON(...) of each, next), byte for byte
// (TestWriteRecordPage), without reflection (#14): the common values are
// appended directly into one pooled buffer, which is then written at once.
// The record's own strings are copied verbatim when they need no escape
// (ids, types, dates, accounts); raw attributes are copied verbatim when
// they are compact, valid JSON that jsonv2's reformatting would leave as
// they are (verbatimJSON). Anything else (a string to escape, decoded
// attributes, teams, a time not in UTC or outside years 0-9999) is encoded alone by
// jsonv2 with writeRecords' options, which writes a value the same
// wherever it is nested.
func writeRecordPage(w http.ResponseWriter, status int, recs []*access.Record, staff bool, next string) {
	writeAppended(w, status, func(b []byte) ([]byte, error) { return appendRecordPage(b, recs, staff, next) })
}

// writeAppended answers with the JSON text appendBody appends to a pooled
// buffer.
func writeAppended(w http.ResponseWriter, status int, appendBody func([]byte) ([]byte, error)) {
	bp := pageBufs.Get().(*[]byte)
	b, err := appendBody((*bp)[:0])
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err != nil {
		slog.Debug("write response", "err", err)
	} else if _, err := w.Write(b); err != nil {
		slog.Debug("write response", "err", err)
	}
	if cap(b) <= maxPooledPage {
		*bp = b
		pageBufs.Put(bp)
	}
}

// maxPooledPage bounds the buffers kept for reuse (a page of 50 ordinary
// records is about 30 KB).
const maxPooledPage = 1 << 20

var pageBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// recordJSONOptions are writeRecords' options.
var recordJSONOptions = jsonv2.JoinOptions(jsonv1.DefaultOptionsV1(), jsontext.EscapeForHTML(false))

// appendValue appends v encoded alone with writeRecords' options.
func appendValue(b []byte, v any) ([]byte, error) {
	out, err := jsonv2.Marshal(v, recordJSONOptions)
	if err != nil {
		return b, err
	}
	return append(b, out...), nil
}

// appendRecordPage appends the page's JSON text and a newline.
func appendRecordPage(b []byte, recs []*access.Record, staff bool, next string) ([]byte, error) {
	var err error
	b = append(b, `{"items":[`...)
	for i, r := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendRecord(b, r, staff); err != nil {
			return b, err
		}
	}
	b = append(b, ']')
	if next != "" {
		b = append(b, `,"next_cursor":`...)
		if b, err = appendString(b, next); err != nil {
			return b, err
		}
	}
	return append(b, "}\n"...), nil
}

// appendRecord appends surface.RecordJSON(r, staff).
func appendRecord(b []byte, r *access.Record, staff bool) ([]byte, error) {
	var err error
	b = append(b, `{"type":`...)
	if b, err = appendString(b, r.Type); err != nil {
		return b, err
	}
	b = append(b, `,"id":`...)
	if b, err = appendString(b, r.ID); err != nil {
		return b, err
	}
	b = append(b, `,"owner":`...)
	if b, err = appendNullable(b, r.Owner); err != nil {
		return b, err
	}
	b = append(b, `,"date":`...)
	if b, err = appendNullable(b, r.Date); err != nil {
		return b, err
	}
	b = append(b, `,"parent":`...)
	if r.Parent == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"type":`...)
		if b, err = appendString(b, r.Parent.Type); err != nil {
			return b, err
		}
		b = append(b, `,"id":`...)
		if b, err = appendString(b, r.Parent.ID); err != nil {
			return b, err
		}
		b = append(b, '}')
	}
	if staff {
		teams := r.Teams
		if teams == nil {
			teams = []access.TeamEntry{}
		}
		b = append(b, `,"teams":`...)
		if b, err = appendValue(b, teams); err != nil {
			return b, err
		}
	}
	b = append(b, `,"creator":`...)
	if b, err = appendNullable(b, r.Creator); err != nil {
		return b, err
	}
	b = append(b, `,"attributes":`...)
	switch {
	case r.Raw != nil && verbatimJSON(r.Raw):
		b = append(b, r.Raw...)
	case r.Raw != nil:
		b, err = appendValue(b, json.RawMessage(r.Raw))
	case r.Attributes == nil:
		b = append(b, "{}"...)
	default:
		b, err = appendValue(b, r.Attributes)
	}
	if err != nil {
		return b, err
	}
	b = append(b, `,"updated_at":`...)
	if y := r.UpdatedAt.Year(); y >= 0 && y <= 9999 && r.UpdatedAt.Location() == time.UTC {
		b = append(b, '"')
		b = r.UpdatedAt.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	} else if b, err = appendValue(b, r.UpdatedAt); err != nil {
		return b, err
	}
	b = append(b, `,"revision":`...)
	b = strconv.AppendInt(b, r.Revision, 10)
	return append(b, '}'), nil
}

// appendNullable appends s, or null for "" (surface's nullable).
func appendNullable(b []byte, s string) ([]byte, error) {
	if s == "" {
		return append(b, "null"...), nil
	}
	return appendString(b, s)
}

// appendString appends s quoted: verbatim when it is plainString, else
// as jsonv2 writes it.
func appendString(b []byte, s string) ([]byte, error) {
	if !plainString(s) {
		return appendValue(b, s)
	}
	return appendQuoted(b, s), nil
}

// plainString reports whether every byte of s is plainStringByte: a
// string both encoders write as it is, between quotes.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainStringByte[s[i]] {
			return false
		}
	}
	return true
}

// appendQuoted appends s between quotes as it is.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// verbatimJSON reports whether raw is one valid JSON value that jsonv2
// (writeRecords' options) writes unchanged: no whitespace outside
// strings, strings without \u escapes, control characters, invalid UTF-8
// or U+2028/U+2029 (which it escapes), nesting of at most
// maxVerbatimDepth. It errs towards false: the caller then encodes raw
// with jsonv2.
func verbatimJSON(raw []byte) bool {
	n, ok := verbatimValue(raw, 0, 0)
	return ok && n == len(raw)
}

const maxVerbatimDepth = 100

// verbatimValue checks the value at raw[i:] and returns the index after
// it.
func verbatimValue(raw []byte, i, depth int) (int, bool) {
	if i >= len(raw) {
		return i, false
	}
	switch c := raw[i]; {
	case c == '{':
		if depth >= maxVerbatimDepth {
			return i, false
		}
		i++
		if i < len(raw) && raw[i] == '}' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = verbatimString(raw, i); !ok || i >= len(raw) || raw[i] != ':' {
				return i, false
			}
			if i, ok = verbatimValue(raw, i+1, depth+1); !ok || i >= len(raw) {
				return i, false
			}
			switch raw[i] {
			case ',':
				i++
			case '}':
				return i + 1, true
			default:
				return i, false
			}
		}
	case c == '[':
		if depth >= maxVerbatimDepth {
			return i, false
		}
		i++
		if i < len(raw) && raw[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = verbatimValue(raw, i, depth+1); !ok || i >= len(raw) {
				return i, false
			}
			switch raw[i] {
			case ',':
				i++
			case ']':
				return i + 1, true
			default:
				return i, false
			}
		}
	case c == '"':
		return verbatimString(raw, i)
	case c == 't':
		return verbatimLiteral(raw, i, "true")
	case c == 'f':
		return verbatimLiteral(raw, i, "false")
	case c == 'n':
		return verbatimLiteral(raw, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return verbatimNumber(raw, i)
	}
	return i, false
}

func verbatimLiteral(raw []byte, i int, lit string) (int, bool) {
	if len(raw)-i < len(lit) || string(raw[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// verbatimNumber checks a JSON number (RFC 8259 grammar), which jsonv2
// copies as it is.
func verbatimNumber(raw []byte, i int) (int, bool) {
	digits := func(i int) (int, bool) {
		j := i
		for j < len(raw) && raw[j] >= '0' && raw[j] <= '9' {
			j++
		}
		return j, j > i
	}
	if raw[i] == '-' {
		i++
	}
	switch {
	case i < len(raw) && raw[i] == '0':
		i++
	case i < len(raw) && raw[i] >= '1' && raw[i] <= '9':
		i, _ = digits(i)
	default:
		return i, false
	}
	var ok bool
	if i < len(raw) && raw[i] == '.' {
		if i, ok = digits(i + 1); !ok {
			return i, false
		}
	}
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			i++
		}
		if i, ok = digits(i); !ok {
			return i, false
		}
	}
	return i, true
}

// plainStringByte marks the bytes a string holds verbatim on their own:
// printable ASCII but '"' and '\\'.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// verbatimString checks a string at raw[i:]: printable characters, valid
// UTF-8 but U+2028 and U+2029, and the two-character escapes.
func verbatimString(raw []byte, i int) (int, bool) {
	if i >= len(raw) || raw[i] != '"' {
		return i, false
	}
	i++
	for i < len(raw) {
		// Most bytes are plain: skip them without the switch.
		for i < len(raw) && plainStringByte[raw[i]] {
			i++
		}
		if i == len(raw) {
			break
		}
		c := raw[i]
		switch {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(raw) {
				return i, false
			}
			switch raw[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
				return i, false
			}
			i += n
		}
	}
	return i, false
}
