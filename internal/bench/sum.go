package bench

import (
	"encoding/json"
	"hash"
	"slices"
	"strconv"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/jsonenc"
)

// recordSum adds records to the generation checksum as writeSum(h,
// "record", r) would, for each record of b in order. The JSON is produced
// by appendRecordJSON, byte for byte encoding/json's output for the
// values the generator makes (a tenth of json.Marshal's CPU per record);
// a record with anything else is marshaled by encoding/json.
func recordSum(h hash.Hash, b []*access.Record, buf []byte) []byte {
	for _, r := range b {
		buf = append(buf[:0], "record"...)
		var ok bool
		if buf, ok = appendRecordJSON(buf, r); !ok {
			writeSum(h, "record", r)
			continue
		}
		buf = append(buf, '\n')
		h.Write(buf)
	}
	return buf
}

// appendRecordJSON appends json.Marshal(r) to b; ok is false (and b
// unusable) when r holds a value it does not encode exactly like
// encoding/json: anything but strings, float64s, bools, nil, []any and
// map[string]any in the attributes, a non-zero UpdatedAt, or a string
// needing escapes.
func appendRecordJSON(b []byte, r *access.Record) (_ []byte, ok bool) {
	if !r.UpdatedAt.IsZero() || r.Raw != nil {
		return b, false
	}
	b = append(b, `{"type":`...)
	if b, ok = appendJSONString(b, r.Type); !ok {
		return b, false
	}
	b = append(b, `,"id":`...)
	if b, ok = appendJSONString(b, r.ID); !ok {
		return b, false
	}
	b = append(b, `,"owner":`...)
	if b, ok = appendJSONString(b, r.Owner); !ok {
		return b, false
	}
	if r.Date != "" {
		b = append(b, `,"date":`...)
		if b, ok = appendJSONString(b, r.Date); !ok {
			return b, false
		}
	}
	if r.Parent != nil {
		b = append(b, `,"parent":{"type":`...)
		if b, ok = appendJSONString(b, r.Parent.Type); !ok {
			return b, false
		}
		b = append(b, `,"id":`...)
		if b, ok = appendJSONString(b, r.Parent.ID); !ok {
			return b, false
		}
		b = append(b, '}')
	}
	if len(r.Teams) > 0 {
		b = append(b, `,"teams":[`...)
		for i, te := range r.Teams {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"principal":`...)
			if b, ok = appendJSONString(b, te.Principal); !ok {
				return b, false
			}
			b = append(b, `,"access":`...)
			if b, ok = appendJSONString(b, te.Access); !ok {
				return b, false
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if r.Creator != "" {
		b = append(b, `,"creator":`...)
		if b, ok = appendJSONString(b, r.Creator); !ok {
			return b, false
		}
	}
	b = append(b, `,"attributes":`...)
	if r.Attributes == nil {
		b = append(b, "null"...)
	} else if b, ok = appendJSONValue(b, r.Attributes); !ok {
		return b, false
	}
	b = append(b, `,"updated_at":"`...)
	b = r.UpdatedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","revision":`...)
	b = strconv.AppendInt(b, r.Revision, 10)
	return append(b, '}'), true
}

// appendJSONValue appends v as encoding/json encodes it.
func appendJSONValue(b []byte, v any) (_ []byte, ok bool) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		return appendJSONString(b, v)
	case bool:
		return strconv.AppendBool(b, v), true
	case float64:
		return jsonenc.AppendFloat(b, v)
	case []any:
		if v == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendJSONValue(b, e); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case map[string]any:
		if v == nil {
			return append(b, "null"...), true
		}
		var arr [16]string
		keys := arr[:0]
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // encoding/json sorts map keys
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendJSONString(b, k); !ok {
				return b, false
			}
			b = append(b, ':')
			if b, ok = appendJSONValue(b, v[k]); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	}
	return b, false
}

// appendJSONString appends s quoted when it needs no escape in
// encoding/json (printable ASCII but ", \, <, > and &); ok is false
// otherwise.
func appendJSONString(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// writeSum adds one written item to the generation checksum.
func writeSum(h hash.Hash, kind string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // generated values always encode
	}
	h.Write([]byte(kind))
	h.Write(b)
	h.Write([]byte{'\n'})
}
