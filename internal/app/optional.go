package app

import (
	"encoding/json"
	"errors"
	"reflect"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Optional is one field of a partial write (DESIGN.md §5.1): absent (the
// stored value stays), null (the field is cleared or reset to its default)
// or set to Value. Its zero value is absent. Decoded from JSON, a key the
// body omits stays absent, `null` is Null and anything else is Set; forms
// build the same values with Some and Null.
type Optional[T any] struct {
	Set   bool // the input named the field
	Null  bool // ... as null (Value is the zero value)
	Value T
}

// Some returns an Optional set to v.
func Some[T any](v T) Optional[T] { return Optional[T]{Set: true, Value: v} }

// Null returns an Optional set to null.
func Null[T any]() Optional[T] { return Optional[T]{Set: true, Null: true} }

// UnmarshalJSON implements json.Unmarshaler; encoding/json calls it for
// null too, which is how null and absent differ.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		var zero T
		o.Null, o.Value = true, zero
		return nil
	}
	o.Null = false
	err := json.Unmarshal(b, &o.Value)
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	if err != nil && !errors.As(err, &te) && !errors.As(err, &se) {
		// A value of the right JSON kind that does not parse (a time that
		// is not RFC 3339): report it as a type error, which encoding/json
		// completes with the field's name.
		return &json.UnmarshalTypeError{Value: "string", Type: reflect.TypeOf(o.Value)}
	}
	return err
}

// UnmarshalJSONFrom implements the streaming unmarshaler of
// github.com/go-json-experiment/json (the batch decoder), with the same
// meaning as UnmarshalJSON.
func (o *Optional[T]) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	o.Set = true
	if dec.PeekKind() == 'n' {
		var zero T
		o.Null, o.Value = true, zero
		_, err := dec.ReadToken()
		return err
	}
	o.Null = false
	return jsonv2.UnmarshalDecode(dec, &o.Value)
}

// MarshalJSON implements json.Marshaler: null when absent or null.
func (o Optional[T]) MarshalJSON() ([]byte, error) {
	if !o.Set || o.Null {
		return []byte("null"), nil
	}
	return json.Marshal(o.Value)
}

// apply writes the field into dst when it is set: its value, or def when
// null.
func (o Optional[T]) apply(dst *T, def T) {
	switch {
	case !o.Set:
	case o.Null:
		*dst = def
	default:
		*dst = o.Value
	}
}

// applyPtr writes a nullable field into *dst: nil when null, a pointer to
// the value when set, unchanged when absent.
func applyPtr[T any](o Optional[T], dst **T) {
	switch {
	case !o.Set:
	case o.Null:
		*dst = nil
	default:
		v := o.Value
		*dst = &v
	}
}
