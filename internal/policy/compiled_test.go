package policy

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFieldPath(t *testing.T) {
	tests := []struct {
		path    string
		want    []PathSegment
		wantErr bool
	}{
		{path: "price", want: []PathSegment{{Name: "price"}}},
		{path: "terms.discount", want: []PathSegment{{Name: "terms"}, {Name: "discount"}}},
		{path: "lines[].price", want: []PathSegment{{Name: "lines", Each: true}, {Name: "price"}}},
		{path: "a[].b[].c", want: []PathSegment{{Name: "a", Each: true}, {Name: "b", Each: true}, {Name: "c"}}},
		{path: "", wantErr: true},
		{path: "lines[]", wantErr: true},
		{path: "a..b", wantErr: true},
		{path: ".a", wantErr: true},
		{path: "a[][].b", wantErr: true},
		{path: "a[0].b", wantErr: true},
		{path: "[].b", wantErr: true},
		{path: "a b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			fp, err := ParseFieldPath(tt.path)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseFieldPath = %+v, want an error", fp)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(FieldPath{Path: tt.path, Segments: tt.want}, fp); diff != "" {
				t.Errorf("ParseFieldPath (-want +got):\n%s", diff)
			}
		})
	}
}

// attrs decodes JSON the way records' attributes arrive.
func attrs(tb testing.TB, s string) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestFieldPath_StripPresent(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		in      string
		present bool
		want    string // in after Strip
	}{
		{"top level", "price", `{"price": 5, "sku": "x"}`, true, `{"sku": "x"}`},
		{"absent", "price", `{"sku": "x"}`, false, `{"sku": "x"}`},
		{"null counts as present", "price", `{"price": null}`, true, `{}`},
		{"nested", "terms.discount", `{"terms": {"discount": 3, "days": 30}}`, true, `{"terms": {"days": 30}}`},
		{"nested absent", "terms.discount", `{"terms": {"days": 30}}`, false, `{"terms": {"days": 30}}`},
		{"nested not an object", "terms.discount", `{"terms": "net 30"}`, true, `{}`},
		{"nested array instead of object", "terms.discount", `{"terms": [{"discount": 3}]}`, true, `{}`},
		{"nested null", "terms.discount", `{"terms": null}`, false, `{"terms": null}`},
		{"array", "lines[].price", `{"lines": [{"sku": "a", "price": 1}, {"sku": "b"}, {"sku": "c", "price": 3}]}`,
			true, `{"lines": [{"sku": "a"}, {"sku": "b"}, {"sku": "c"}]}`},
		{"array absent", "lines[].price", `{"lines": [{"sku": "a"}]}`, false, `{"lines": [{"sku": "a"}]}`},
		{"array empty", "lines[].price", `{"lines": []}`, false, `{"lines": []}`},
		{"array of scalars", "lines[].price", `{"lines": [1, "two", null]}`, true, `{}`},
		{"array of nulls", "lines[].price", `{"lines": [null, {"sku": "a"}]}`, false, `{"lines": [null, {"sku": "a"}]}`},
		{"not an array", "lines[].price", `{"lines": {"price": 1}}`, true, `{}`},
		{"scalar instead of array", "lines[].price", `{"lines": "1 x a", "sku": "b"}`, true, `{"sku": "b"}`},
		{"arrays in array", "lines[].price", `{"lines": [{"price": 1}, [{"price": 2}]]}`, true, `{}`},
		{"null array", "lines[].price", `{"lines": null}`, false, `{"lines": null}`},
		{"array in array", "lines[].taxes[].amount",
			`{"lines": [{"taxes": [{"amount": 1, "code": "v"}]}, {"taxes": [{"code": "w"}]}]}`,
			true, `{"lines": [{"taxes": [{"code": "v"}]}, {"taxes": [{"code": "w"}]}]}`},
		{"object in array", "lines[].terms.discount",
			`{"lines": [{"terms": {"discount": 2}}, {"terms": 7}]}`,
			true, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp, err := ParseFieldPath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			m := attrs(t, tt.in)
			if got := fp.Present(m); got != tt.present {
				t.Errorf("Present = %v, want %v", got, tt.present)
			}
			fp.Strip(m)
			if diff := cmp.Diff(attrs(t, tt.want), m); diff != "" {
				t.Errorf("after Strip (-want +got):\n%s", diff)
			}
			if fp.Present(m) {
				t.Error("Present after Strip")
			}
		})
	}
}

// TestCompile_Includes checks role composition (DESIGN §5.5) on a small
// ladder: actions and fields unioned, account scope beats own, manage_users
// inherited, protected and assignable not.
func TestCompile_Includes(t *testing.T) {
	p, err := Compile(mustParse(t, `
roles:
  - name: base
    level: 1
    assignable: true
    manage_users: true
    permissions:
      t: {actions: [read], scope: own, fields: [a]}
  - name: more
    level: 2
    includes: [base]
    protected: true
    permissions:
      t: {actions: [update], fields: [b]}
  - name: fields_only
    level: 3
    includes: [base]
    permissions:
      t: {fields: [b], scope: own}
object_types:
  - {name: t, restricted_fields: [a, b, c]}
default_group_role: base
`))
	if err != nil {
		t.Fatal(err)
	}
	typ := p.Type("t")
	type got struct {
		Actions                            []string
		Own                                bool
		Fields                             []string
		ManageUsers, Protected, Assignable bool
	}
	want := map[string]got{
		"base":        {[]string{"read"}, true, []string{"a"}, true, false, true},
		"more":        {[]string{"read", "update"}, false, []string{"a", "b"}, true, true, false},
		"fields_only": {[]string{"read"}, true, []string{"a", "b"}, true, false, false},
	}
	for name, w := range want {
		r := p.Role(name)
		perm := r.Perm(typ)
		g := got{perm.Actions.Names(), perm.Own, typ.FieldNames(perm.Fields), r.ManageUsers, r.Protected, r.Assignable}
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if got := p.AllRoles(); got != 0b111 {
		t.Errorf("AllRoles = %b", got)
	}
	if got := typ.AllFields(); got != 0b111 {
		t.Errorf("AllFields = %b", got)
	}
}
