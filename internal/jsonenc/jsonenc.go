// Package jsonenc appends JSON objects of decoded JSON values (what
// encoding/json and jsonv2 decode into an any) without reflection or
// allocations: the store's attribute encoding and the CSV import's lines.
package jsonenc

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendObject appends the JSON text of m exactly as
// github.com/go-json-experiment/json writes it with EscapeForHTML(false)
// and EscapeForJS(false) (keys in map order, only ", \ and control characters escaped, floats
// in the ES6 form), for the values JSON decoding and the import produce:
// strings, float64, int, int64, bool, nil, []any and map[string]any. It reports false
// for anything else (another type, NaN or an infinity, invalid UTF-8, or
// nesting deeper than maxDepth), and the caller then uses a reflecting
// encoder. Re-encoding attributes was a fifth of a batch's CPU time
// through jsonv2's reflection; this is several times cheaper.
func AppendObject(b []byte, m map[string]any) ([]byte, bool) {
	return appendObject(b, m, 0)
}

// AppendStrings appends vals as a JSON array of strings, each escaped as
// AppendObject escapes strings. It reports false for invalid UTF-8. The
// store passes long lists of ids and principals to SQLite's json_each
// this way; encoding/json's reflection cost more than the rest of
// rendering such a list query.
func AppendStrings(b []byte, vals []string) ([]byte, bool) {
	b = append(b, '[')
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendString(b, v); !ok {
			return b, false
		}
	}
	return append(b, ']'), true
}

// maxDepth stays well below jsonv2's nesting limit (10,000).
const maxDepth = 1000

func appendObject(b []byte, m map[string]any, depth int) ([]byte, bool) {
	if depth > maxDepth {
		return b, false
	}
	b = append(b, '{')
	first := true
	for k, v := range m {
		if !first {
			b = append(b, ',')
		}
		first = false
		var ok bool
		if b, ok = appendString(b, k); !ok {
			return b, false
		}
		b = append(b, ':')
		if b, ok = appendValue(b, v, depth+1); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

func appendValue(b []byte, v any, depth int) ([]byte, bool) {
	switch v := v.(type) {
	case string:
		return appendString(b, v)
	case float64:
		return AppendFloat(b, v)
	case bool:
		return strconv.AppendBool(b, v), true
	case int:
		return strconv.AppendInt(b, int64(v), 10), true
	case int64:
		return strconv.AppendInt(b, v, 10), true
	case nil:
		return append(b, "null"...), true
	case map[string]any:
		return appendObject(b, v, depth)
	case []any:
		if depth > maxDepth {
			return b, false
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendValue(b, e, depth+1); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	}
	return b, false
}

// AppendFloat writes f as ECMAScript's Number.prototype.toString does
// (what jsonv2 and encoding/json write); false for NaN and infinities.
func AppendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

const hexDigits = "0123456789abcdef"

// appendString writes s quoted, escaping only ", \ and the control
// characters (\b \t \n \f \r short, the rest \u00XX); invalid UTF-8 is
// refused.
func appendString(b []byte, s string) ([]byte, bool) {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return b, false
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\f':
			b = append(b, '\\', 'f')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"'), true
}
