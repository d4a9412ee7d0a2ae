package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse_YAMLAndJSONAgree(t *testing.T) {
	yamlSrc := `
# A comment.
roles:
  - name: L10
    title: Basic
    level: 10
    assignable: true
    permissions:
      ticket: {actions: [read, create], scope: own}
      order: {fields: ["lines[].price"]}
object_types:
  - name: order
    owner_field: customer
    fields:
      - {name: status, type: string, values: [open, closed]}
    restricted_fields: ["lines[].price"]
  - {name: ticket}
sharing_rules:
  - {from: order, to: ticket, access: read_write}
default_group_role: L10
`
	jsonSrc := `  {
  "roles": [{"name": "L10", "title": "Basic", "level": 10, "assignable": true,
    "permissions": {
      "ticket": {"actions": ["read", "create"], "scope": "own"},
      "order": {"fields": ["lines[].price"]}}}],
  "object_types": [
    {"name": "order", "owner_field": "customer",
     "fields": [{"name": "status", "type": "string", "values": ["open", "closed"]}],
     "restricted_fields": ["lines[].price"]},
    {"name": "ticket"}],
  "sharing_rules": [{"from": "order", "to": "ticket", "access": "read_write"}],
  "default_group_role": "L10"
}
`
	want := &Document{
		Roles: []Role{{Name: "L10", Title: "Basic", Level: 10, Assignable: true,
			Permissions: map[string]Permission{
				"ticket": {Actions: []string{"read", "create"}, Scope: "own"},
				"order":  {Fields: []string{"lines[].price"}},
			}}},
		ObjectTypes: []ObjectType{
			{Name: "order", OwnerField: "customer",
				Fields:           []Field{{Name: "status", Type: "string", Values: []string{"open", "closed"}}},
				RestrictedFields: []string{"lines[].price"}},
			{Name: "ticket"},
		},
		SharingRules:     []SharingRule{{From: "order", To: "ticket", Access: "read_write"}},
		DefaultGroupRole: "L10",
	}
	for name, src := range map[string]string{"yaml": yamlSrc, "json": jsonSrc} {
		t.Run(name, func(t *testing.T) {
			got, err := Parse([]byte(src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParse_Errors checks that shape errors are reported, with their line
// where the decoder gives one. Each listed fragment must appear.
func TestParse_Errors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"empty", "", []string{"empty document"}},
		{"blank", " \n\t\n", []string{"empty document"}},
		{"only comments", "# nothing\n\n# at all\n", []string{"empty document"}},
		{"yaml unknown key", "roles:\n  - name: a\n    levle: 3\n", []string{"(YAML)", "line 3", "field levle not found"}},
		{"yaml unknown top-level key", "rolez: []\n", []string{"line 1", "field rolez not found"}},
		{"yaml wrong type", "roles:\n  - name: a\n    level: high\n", []string{"line 3", "cannot unmarshal", "into int"}},
		{"yaml scalar for list", "object_types:\n  - name: t\n    restricted_fields: price\n", []string{"line 3", "cannot unmarshal"}},
		{"yaml several errors", "roles:\n  - name: a\n    level: x\n    colour: red\n", []string{"line 3", "line 4", "colour"}},
		{"yaml duplicate key", "roles: []\nroles: []\n", []string{"line 2", "already defined"}},
		{"yaml syntax", "roles: [\n", []string{"(YAML)", "line"}},
		{"yaml not a mapping", "- a\n- b\n", []string{"line 1", "cannot unmarshal"}},
		{"yaml two documents", "roles: []\n---\nroles: []\n", []string{"line 2", "single YAML document"}},
		{"json unknown key", `{"roles": [{"name": "a", "levle": 3}]}`, []string{"(JSON)", `unknown field "levle"`}},
		{"json wrong type", "{\n  \"roles\": [\n    {\"level\": \"high\"}]}", []string{"line 3, column", "cannot unmarshal string"}},
		{"json syntax", "{\n  \"roles\": [,]\n}", []string{"line 2, column", "invalid character"}},
		{"json truncated", `{"roles": [`, []string{"(JSON)", "unexpected EOF"}},
		{"json trailing data", "{}\n{}", []string{"line 2, column 1", "unexpected data after the document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse([]byte(tt.src))
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", d)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestParse_NoSemantics checks that Parse leaves meaning to Validate.
func TestParse_NoSemantics(t *testing.T) {
	for _, src := range []string{"{}", "null", "---\n", "roles: [{name: '', level: -5}]\n", `{"default_group_role": "nobody"}`} {
		if _, err := Parse([]byte(src)); err != nil {
			t.Errorf("Parse(%q): %v", src, err)
		}
	}
}
