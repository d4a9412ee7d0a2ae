package portal

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/render"
)

// The line editor of a record form: the writable keys of an array of
// objects (a sales order's lines[].sku and lines[].qty) as a table, one
// row per element. It works without JavaScript: every button submits the
// whole form with an "op" (search, add:<sku>, remove:<row>) and the form
// comes back with the change; only the form's own submit button writes.

// pickerType and pickerKey: a line key named "sku" is chosen among the
// records of the inventory type the user can see (by SKU or description),
// never typed, when the current account allows reading inventory.
const (
	pickerType = "inventory"
	pickerKey  = "sku"
)

// pickerFields are the inventory attributes that describe an item: its
// key, then what its label is taken from.
var pickerFields = []string{"sku", "description", "name"}

// lineEditor is what portal_form.html renders for the type's writable
// array.
type lineEditor struct {
	Name, Label string
	Keys        []lineKey
	Rows        []lineRow
	// Picker is set when SKUs come from the inventory search.
	Picker   bool
	Query    string
	Searched bool
	Results  []pick
}

// lineKey is one writable key of the elements. Number keys (qty,
// quantity) are positive numbers.
type lineKey struct {
	Name, Label string
	Number      bool
}

// lineRow is one element: a cell per key, and the inventory item's
// description for a picked SKU.
type lineRow struct {
	Index  int // from 0, for the remove button
	Number int // from 1, for labels
	Cells  []lineCell
	Item   string
}

// lineCell is one input of a row. Fixed cells (a picked SKU) show their
// value as text and send it back in a hidden input.
type lineCell struct {
	Key       lineKey
	Input, ID string
	Value     string
	Fixed     bool
}

// pick is one inventory item the search found.
type pick struct {
	SKU, Description, Warehouse string
	Quantity                    any
}

// numericKey reports whether a line key holds a quantity.
func numericKey(name string) bool { return name == "qty" || name == "quantity" }

// input is the form input of key k, repeated once per row:
// "lines[].qty".
func (le *lineEditor) input(k string) string { return le.Name + "[]." + k }

// hasPicker reports whether le has an "sku" key.
func (le *lineEditor) hasPicker() bool {
	for _, k := range le.Keys {
		if k.Name == pickerKey {
			return true
		}
	}
	return false
}

// readRows reads the submitted rows, values by key, in order; a row
// whose every value is empty is dropped.
func (le *lineEditor) readRows(form url.Values) [][]string {
	n := 0
	for _, k := range le.Keys {
		n = max(n, len(form[le.input(k.Name)]))
	}
	var rows [][]string
	for i := range n {
		row := make([]string, len(le.Keys))
		empty := true
		for j, k := range le.Keys {
			if vs := form[le.input(k.Name)]; i < len(vs) {
				row[j] = strings.TrimSpace(vs[i])
				empty = empty && row[j] == ""
			}
		}
		if !empty {
			rows = append(rows, row)
		}
	}
	return rows
}

// rowsOf are the rows of a stored array (an edit form's start).
func (le *lineEditor) rowsOf(v any) [][]string {
	arr, _ := v.([]any)
	var rows [][]string
	for _, el := range arr {
		m, _ := el.(map[string]any)
		row := make([]string, len(le.Keys))
		for j, k := range le.Keys {
			row[j] = render.FormatValue(m[k.Name])
			if f, ok := m[k.Name].(float64); ok {
				row[j] = strconv.FormatFloat(f, 'f', -1, 64)
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// value turns rows into the array's value. On an edit, base holds the
// elements as the user sees them: row i keeps the other keys of element
// i, so a line's read-only values are sent back unchanged. The string is
// the message for the editor when a row does not parse (a catalog id),
// the int the row's line number.
func (le *lineEditor) value(rows [][]string, base []any) ([]any, string, int) {
	out := make([]any, 0, len(rows))
	for i, row := range rows {
		el := map[string]any{}
		if i < len(base) {
			if m, ok := base[i].(map[string]any); ok {
				for k, v := range m {
					el[k] = v
				}
			}
		}
		for j, k := range le.Keys {
			raw := row[j]
			switch {
			case raw == "" && k.Name == pickerKey:
				return nil, "Line {{.Line}}: choose an item.", i + 1
			case raw == "":
				delete(el, k.Name)
			case k.Number:
				n, err := strconv.ParseFloat(raw, 64)
				if err != nil || n <= 0 || n > 1e9 {
					return nil, "Line {{.Line}}: enter a quantity above zero.", i + 1
				}
				el[k.Name] = n
			default:
				el[k.Name] = raw
			}
		}
		out = append(out, el)
	}
	return out, "", 0
}

// setRows fills the editor's rows; items describes picked SKUs.
func (le *lineEditor) setRows(rows [][]string, items map[string]string) {
	le.Rows = nil
	for i, row := range rows {
		lr := lineRow{Index: i, Number: i + 1}
		for j, k := range le.Keys {
			c := lineCell{Key: k, Input: le.input(k.Name), ID: "f-" + le.Name + "-" + strconv.Itoa(i) + "-" + k.Name, Value: row[j]}
			if le.Picker && k.Name == pickerKey {
				c.Fixed = true
				lr.Item = items[row[j]]
			}
			lr.Cells = append(lr.Cells, c)
		}
		le.Rows = append(le.Rows, lr)
	}
}

// newRow is a row for a picked SKU: quantity 1.
func (le *lineEditor) newRow(sku string) []string {
	row := make([]string, len(le.Keys))
	for j, k := range le.Keys {
		switch {
		case k.Name == pickerKey:
			row[j] = sku
		case k.Number:
			row[j] = "1"
		}
	}
	return row
}

// skus are the SKUs of rows.
func (le *lineEditor) skus(rows [][]string) []string {
	var out []string
	for j, k := range le.Keys {
		if k.Name == pickerKey {
			for _, row := range rows {
				if row[j] != "" {
					out = append(out, row[j])
				}
			}
		}
	}
	return out
}

// inventory returns the description of each of skus the subject can see
// in the current account's inventory; a SKU not there is absent.
func (s *Surface) inventory(ctx context.Context, c *app.Actor, v *view, skus []string) (map[string]string, error) {
	out := map[string]string{}
	if len(skus) == 0 {
		return out, nil
	}
	page, err := s.app.ListRecords(ctx, c, app.RecordList{Type: pickerType, AsUser: v.asUser(), Within: v.current.ID,
		Attrs: map[string][]string{pickerKey: skus}, ListParams: app.ListParams{Limit: 500}})
	if err != nil {
		return nil, err
	}
	for _, r := range page.Items {
		if sku, ok := r.Attributes[pickerKey].(string); ok {
			out[sku] = itemLabel(r)
		}
	}
	return out, nil
}

// itemLabel describes an inventory record.
func itemLabel(r *access.Record) string {
	for _, f := range pickerFields[1:] {
		if s, ok := r.Attributes[f].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// search fills the editor's search results for query.
func (s *Surface) search(ctx context.Context, c *app.Actor, v *view, le *lineEditor, query string) error {
	le.Query = strings.TrimSpace(query)
	if !le.Picker || le.Query == "" {
		return nil
	}
	le.Searched = true
	found, err := s.app.SearchRecords(ctx, c, app.RecordSearch{Type: pickerType, AsUser: v.asUser(), Within: v.current.ID,
		Text: le.Query, Limit: 20})
	if err != nil {
		return err
	}
	for _, r := range found {
		sku, _ := r.Attributes[pickerKey].(string)
		if sku == "" {
			continue
		}
		wh, _ := r.Attributes["warehouse"].(string)
		le.Results = append(le.Results, pick{SKU: sku, Description: itemLabel(r), Warehouse: wh, Quantity: r.Attributes["quantity"]})
	}
	return nil
}

// pickerFor reports whether the current account lets the subject search
// the inventory for le's SKUs.
func (v *view) pickerFor(le *lineEditor) bool {
	t := v.pol.Type(pickerType)
	if t == nil || !le.hasPicker() || !v.allows(pickerType, policy.ActionRead) {
		return false
	}
	_, declared := t.Fields[pickerKey]
	return declared
}
