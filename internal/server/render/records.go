package render

import (
	"slices"
	"sort"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/i18n"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// TypeTitle is an object type's title, or its name.
func TypeTitle(t *policy.Type) string { return t.TitleIn(access.LocaleDefault) }

// FieldOrder is a field's position in the policy's declaration order
// (undeclared fields after all declared ones).
func FieldOrder(t *policy.Type, name string) int {
	for i, f := range t.FieldList {
		if f.Name == name {
			return i
		}
	}
	return len(t.FieldList)
}

// LineTable renders an array of objects (order lines) as a table.
type LineTable struct {
	Name    string
	Columns []string
	Rows    [][]any
}

// AsLineTable turns an array of objects into a table, columns in
// first-seen order (each object's keys sorted); anything else is no table.
func AsLineTable(name string, v any) (LineTable, bool) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return LineTable{}, false
	}
	lt := LineTable{Name: name}
	seen := map[string]bool{}
	objs := make([]map[string]any, 0, len(arr))
	for _, el := range arr {
		m, ok := el.(map[string]any)
		if !ok {
			return LineTable{}, false
		}
		objs = append(objs, m)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !seen[k] {
				seen[k] = true
				lt.Columns = append(lt.Columns, k)
			}
		}
	}
	for _, m := range objs {
		row := make([]any, len(lt.Columns))
		for i, c := range lt.Columns {
			row[i] = m[c]
		}
		lt.Rows = append(lt.Rows, row)
	}
	return lt, true
}

// SortedKeys lists the keys of attrs in the order pages show attributes:
// the type's declared fields first, in declaration order, then the rest
// by name.
func SortedKeys(t *policy.Type, attrs map[string]any) []string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.SliceStable(keys, func(i, j int) bool {
		oi, oj := FieldOrder(t, keys[i]), FieldOrder(t, keys[j])
		return oi < oj || (oi == oj && keys[i] < keys[j])
	})
	return keys
}

// Cell renders attribute path of rec (a top-level name, or
// "lines[].price" for a value v of a line) in locale: a value with a
// label as its label, an amount of a money field with the record's
// currency, anything else as FormatValueIn does.
func Cell(locale string, t *policy.Type, rec *access.Record, path string, v any) string {
	if t != nil {
		switch x := v.(type) {
		case string:
			if f, ok := t.Fields[path]; ok && f.Labels[x] != nil {
				return f.Label(x, locale)
			}
		case float64:
			if slices.Contains(t.MoneyFields, path) {
				cur := t.Currency
				if rec != nil {
					if c, ok := rec.Attributes[t.CurrencyField].(string); ok && c != "" {
						cur = c
					}
				}
				if cur != "" {
					return i18n.Money(locale, x, cur)
				}
			}
		}
	}
	return FormatValueIn(locale, v)
}

// ValueLabel is the label of value v of t's field in locale, or v.
func ValueLabel(locale string, t *policy.Type, field, v string) string {
	if t == nil {
		return v
	}
	return t.Fields[field].Label(v, locale)
}

// RecordName is what a person calls a record beside its id: its "name"
// attribute (an account, an address, a contact), else its "title" (a
// ticket's subject); "" when it has neither. The record is the one the
// viewer was given, so a hidden field is not there to show.
func RecordName(rec *access.Record) string {
	for _, f := range []string{"name", "title"} {
		if v, ok := rec.Attributes[f].(string); ok && strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
