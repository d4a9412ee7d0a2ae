package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustParse(tb testing.TB, src string) *Document {
	tb.Helper()
	d, err := Parse([]byte(src))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return d
}

// problemsOf returns the problems of Validate's error, failing unless it is
// nil or a *ValidationError.
func problemsOf(tb testing.TB, err error) []Problem {
	tb.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		tb.Fatalf("Validate returned %T (%v), want *ValidationError", err, err)
	}
	return ve.Problems
}

// minimal is a valid policy; the cases below break copies of it.
const minimal = `
roles:
  - name: basic
    level: 10
    assignable: true
    permissions:
      order: {actions: [read]}
object_types:
  - name: order
    restricted_fields: [price]
default_group_role: basic
`

func TestValidate_Valid(t *testing.T) {
	for name, src := range map[string]string{
		"minimal": minimal,
		"default": string(DefaultYAML()),
	} {
		t.Run(name, func(t *testing.T) {
			if err := Validate(mustParse(t, src)); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

// TestValidate_Problems checks that each broken document reports every
// listed problem at its path. Messages are matched by substring.
func TestValidate_Problems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []Problem
	}{
		{
			name: "empty",
			src:  `{}`,
			want: []Problem{
				{"roles", "at least one role"},
				{"object_types", "at least one object type"},
				{"default_group_role", "required"},
			},
		},
		{
			name: "names",
			src: `
roles:
  - {name: basic, level: 1}
  - {name: "", level: 2}
  - {name: 9lives, level: 3}
  - {name: "has space", level: 4}
  - {name: basic, level: 5}
  - {name: Ok.role-1_x, level: 6}
object_types:
  - {name: order}
  - {name: ""}
  - {name: Order}
  - {name: order}
  - {name: sales-order}
default_group_role: basic
`,
			want: []Problem{
				{"roles[1].name", "name is required"},
				{"roles[2].name", `role name "9lives" must match`},
				{"roles[3].name", `role name "has space" must match`},
				{"roles[4].name", `duplicate role "basic" (first at roles[0])`},
				{"object_types[1].name", "name is required"},
				{"object_types[2].name", `type name "Order" must match`},
				{"object_types[3].name", `duplicate object type "order"`},
				{"object_types[4].name", `type name "sales-order" must match`},
			},
		},
		{
			name: "writable fields, defaults and numbering",
			src: `
roles:
  - name: a
    level: 10
    permissions:
      order: {actions: [read, create], writable: [note, price, note, "lines[].qty"]}
object_types:
  - name: order
    date_field: created
    owner_field: customer
    fields:
      - {name: status, type: string, values: [new, done]}
      - {name: qty, type: number}
      - {name: ref, type: number}
    writable_fields: [note, "lines[]", created, created.day, ref, note, "a..b"]
    defaults: {status: bogus, qty: many, customer: C1, "a.b": 1, ref: 1}
    number_field: ref
    number_prefix: "T K/"
  - name: other
    number_prefix: X-
default_group_role: a
`,
			want: []Problem{
				{"object_types[order].writable_fields[1]", `field path "lines[]" ends in []`},
				{"object_types[order].writable_fields[2]", `"created" is the type's date_field, which the server sets on external creates`},
				{"object_types[order].writable_fields[3]", `"created" is the type's date_field`},
				{"object_types[order].writable_fields[4]", `"ref" is the type's number_field`},
				{"object_types[order].writable_fields[5]", `duplicate writable field "note"`},
				{"object_types[order].writable_fields[6]", `bad segment`},
				{"object_types[order].number_field", `field "ref" is declared as number, not string`},
				{"object_types[order].number_prefix", `must be at most 40 characters of A-Za-z0-9._:-`},
				{"object_types[order].defaults[a.b]", `not an attribute name`},
				{"object_types[order].defaults[customer]", `"customer" is the type's owner_field`},
				{"object_types[order].defaults[qty]", `the default of qty must be a number`},
				{"object_types[order].defaults[ref]", `"ref" is the type's number_field`},
				{"object_types[order].defaults[status]", `the default "bogus" of status is not one of its values: new, done`},
				{"object_types[other].number_prefix", "number_prefix needs a number_field"},
				{"roles[0].permissions[order].writable[1]", `"price" is not one of the writable_fields of order`},
				{"roles[0].permissions[order].writable[2]", `duplicate writable field "note"`},
				{"roles[0].permissions[order].writable[3]", `"lines[].qty" is not one of the writable_fields of order`},
			},
		},
		{
			name: "includes",
			src: `
roles:
  - {name: a, level: 10}
  - {name: b, level: 20, includes: [a, nobody, b, a]}
  - {name: c, level: 20, includes: [b]}
  - {name: d, level: -1}
object_types: [{name: t}]
default_group_role: a
`,
			want: []Problem{
				{"roles[1].includes[1]", `unknown role "nobody"`},
				{"roles[1].includes[2]", `role "b" includes itself`},
				{"roles[1].includes[3]", `duplicate include "a"`},
				{"roles[2].level", `level 20 must exceed level 20 of included role "b"`},
				{"roles[3].level", "level -1 is negative"},
			},
		},
		{
			name: "cycle",
			src: `
roles:
  - {name: a, level: 10, includes: [b]}
  - {name: b, level: 20, includes: [c]}
  - {name: c, level: 30, includes: [a]}
  - {name: d, level: 40, includes: [c]}
object_types: [{name: t}]
default_group_role: d
`,
			want: []Problem{
				// A cycle always breaks the level order somewhere too.
				{"roles[0].level", `level 10 must exceed level 20 of included role "b"`},
				{"roles[1].level", `level 20 must exceed level 30 of included role "c"`},
				{"roles[2].includes[0]", "includes form a cycle: a → b → c → a"},
			},
		},
		{
			name: "protected",
			src: `
roles:
  - {name: owner, level: 90, protected: true, assignable: true}
object_types: [{name: t}]
default_group_role: owner
`,
			want: []Problem{
				{"roles[0].assignable", "a protected role cannot be assignable"},
				{"default_group_role", `role "owner" is protected`},
			},
		},
		{
			name: "default group role unknown",
			src: `
roles: [{name: a}]
object_types: [{name: t}]
default_group_role: L10
`,
			want: []Problem{{"default_group_role", `unknown role "L10"`}},
		},
		{
			name: "permissions",
			src: `
roles:
  - name: a
    permissions:
      order: {actions: [read, write, read], scope: mine, fields: [price, cost, price]}
      nothing: {actions: [read]}
object_types:
  - name: order
    restricted_fields: [price]
default_group_role: a
`,
			want: []Problem{
				{"roles[0].permissions[nothing]", `unknown object type "nothing"`},
				{"roles[0].permissions[order].actions[1]", `unknown action "write"`},
				{"roles[0].permissions[order].actions[2]", `duplicate action "read"`},
				{"roles[0].permissions[order].scope", `unknown scope "mine"`},
				{"roles[0].permissions[order].fields[1]", `"cost" is not a restricted field of order`},
				{"roles[0].permissions[order].fields[2]", `duplicate field "price"`},
			},
		},
		{
			name: "fields",
			src: `
roles: [{name: a}]
object_types:
  - name: order
    owner_field: customer.id
    date_field: placed
    fields:
      - {name: number, type: string, values: [a, "", a]}
      - {name: amount, type: number, values: ["1"]}
      - {name: placed, type: string}
      - {name: "lines[].qty", type: number}
      - {name: number, type: text}
      - {name: "", type: bool}
default_group_role: a
`,
			want: []Problem{
				{"object_types[order].fields[0].values[1]", "empty value"},
				{"object_types[order].fields[0].values[2]", `duplicate value "a"`},
				{"object_types[order].fields[1].values", "only on string fields"},
				{"object_types[order].fields[3].name", `"lines[].qty" is not an attribute name`},
				{"object_types[order].fields[4].name", `duplicate field "number"`},
				{"object_types[order].fields[4].type", `unknown field type "text"`},
				{"object_types[order].fields[5].name", "name is required"},
				{"object_types[order].owner_field", `"customer.id" is not an attribute name`},
				{"object_types[order].date_field", `field "placed" is declared as string, not date`},
			},
		},
		{
			name: "restricted fields and parents",
			src: `
roles: [{name: a}]
object_types:
  - name: order
    date_field: "items[]"
    parent_type: order
    restricted_fields: [price, "lines[].price", "lines[]", a..b, "", price, "x y"]
  - name: shipment
    parent_type: delivery
default_group_role: a
`,
			want: []Problem{
				{"object_types[order].date_field", `"items[]" is not an attribute name`},
				{"object_types[order].restricted_fields[2]", `field path "lines[]" ends in []`},
				{"object_types[order].restricted_fields[3]", `bad segment ""`},
				{"object_types[order].restricted_fields[4]", "empty field path"},
				{"object_types[order].restricted_fields[5]", `duplicate restricted field "price"`},
				{"object_types[order].restricted_fields[6]", `bad segment "x y"`},
				{"object_types[order].parent_type", "its own parent type"},
				{"object_types[shipment].parent_type", `unknown object type "delivery"`},
			},
		},
		{
			name: "external files need files",
			src: `
roles: [{name: a}]
object_types:
  - {name: ticket, comments: true, external_files: true}
  - {name: invoice, files: true, external_files: true}
default_group_role: a
`,
			want: []Problem{
				{"object_types[ticket].external_files", "external_files needs files: true"},
			},
		},
		{
			name: "sharing rules",
			src: `
roles: [{name: a}]
object_types:
  - {name: order}
  - {name: invoice}
  - {name: shipment, parent_type: order}
sharing_rules:
  - {from: order, to: shipment, access: read}
  - {from: order, to: shipment, access: read_write}
  - {from: invoice, to: shipment, access: read}
  - {from: quote, to: order, access: write}
  - {from: order, to: order, access: read}
  - {from: order, to: nowhere, access: read}
default_group_role: a
`,
			want: []Problem{
				{"sharing_rules[1]", "duplicate rule from order to shipment (first at sharing_rules[0])"},
				{"sharing_rules[2].from", "shipment records have parents of type order, not invoice"},
				{"sharing_rules[3].from", `unknown object type "quote"`},
				{"sharing_rules[3].access", `unknown access "write"`},
				{"sharing_rules[4].to", "cannot share with itself"},
				{"sharing_rules[5].to", `unknown object type "nowhere"`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problemsOf(t, Validate(mustParse(t, tt.src)))
			for _, w := range tt.want {
				if !hasProblem(got, w) {
					t.Errorf("missing problem %s\ngot:\n%s", w, problemLines(got))
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(got), len(tt.want), problemLines(got))
			}
		})
	}
}

func hasProblem(ps []Problem, want Problem) bool {
	for _, p := range ps {
		if p.Path == want.Path && strings.Contains(p.Message, want.Message) {
			return true
		}
	}
	return false
}

func problemLines(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "\t%s\n", p)
	}
	return b.String()
}

// TestValidate_Limits builds documents too large to write out by hand.
func TestValidate_Limits(t *testing.T) {
	d := mustParse(t, minimal)
	for i := range MaxRoles {
		d.Roles = append(d.Roles, Role{Name: fmt.Sprintf("r%d", i)})
	}
	for i := range MaxRestrictedFields {
		d.ObjectTypes[0].RestrictedFields = append(d.ObjectTypes[0].RestrictedFields, fmt.Sprintf("f%d", i))
	}
	got := problemsOf(t, Validate(d))
	want := []Problem{
		{"object_types[order].restricted_fields", "65 restricted fields, at most 64 allowed"},
		{"roles", "65 roles, at most 64 allowed"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestValidate_AllAtOnce checks that problems in every part of a document
// are reported together, in document order, and how Error prints them.
func TestValidate_AllAtOnce(t *testing.T) {
	d := mustParse(t, `
roles:
  - name: a
    level: 10
    includes: [z]
    permissions:
      order: {actions: [peek]}
object_types:
  - name: order
    restricted_fields: ["lines[]"]
sharing_rules:
  - {from: order, to: invoice, access: read}
default_group_role: ""
`)
	err := Validate(d)
	want := []Problem{
		{"object_types[order].restricted_fields[0]", `field path "lines[]" ends in []: name a field of the elements`},
		{"roles[0].includes[0]", `unknown role "z"`},
		{"roles[0].permissions[order].actions[0]", `unknown action "peek" (want read, create, update or delete)`},
		{"sharing_rules[0].to", `unknown object type "invoice"`},
		{"default_group_role", "default_group_role is required"},
	}
	if diff := cmp.Diff(want, problemsOf(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	wantMsg := `invalid policy:
object_types[order].restricted_fields[0]: field path "lines[]" ends in []: name a field of the elements
roles[0].includes[0]: unknown role "z"
roles[0].permissions[order].actions[0]: unknown action "peek" (want read, create, update or delete)
sharing_rules[0].to: unknown object type "invoice"
default_group_role: default_group_role is required`
	if diff := cmp.Diff(wantMsg, err.Error()); diff != "" {
		t.Errorf("Error() (-want +got):\n%s", diff)
	}
	if _, err := Compile(d); !errors.As(err, new(*ValidationError)) {
		t.Errorf("Compile error = %v, want the *ValidationError", err)
	}
}

func TestValidationError_OneProblem(t *testing.T) {
	err := &ValidationError{[]Problem{{"roles[0].name", "name is required"}}}
	if got, want := err.Error(), "invalid policy: roles[0].name: name is required"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestValidate_Nil(t *testing.T) {
	if err := Validate(nil); err == nil {
		t.Error("Validate(nil) = nil, want an error")
	}
}
