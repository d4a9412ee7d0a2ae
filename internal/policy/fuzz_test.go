package policy

import "testing"

// FuzzParse checks that no input makes Parse, or Compile of what Parse
// accepts, panic: a policy comes from an administrator's upload.
func FuzzParse(f *testing.F) {
	f.Add(DefaultYAML())
	f.Add([]byte(minimal))
	f.Add([]byte(`{"roles": [{"name": "a", "level": 1, "includes": ["a"]}], "object_types": [{"name": "t"}], "default_group_role": "a"}`))
	f.Add([]byte(`{"roles": [{"name": "a", "level": 2, "includes": ["b"]}, {"name": "b", "level": 1, "includes": ["a"]}],
		"object_types": [{"name": "t", "parent_type": "t", "restricted_fields": ["x[].y", "x[]"]}],
		"sharing_rules": [{"from": "t", "to": "u", "access": "read"}], "default_group_role": "b"}`))
	f.Add([]byte(`{"roles": [{"name": "a", "permissions": {"t": {"actions": ["read"], "scope": "own", "fields": ["p"]}}}],
		"object_types": [{"name": "t", "restricted_fields": ["p"], "fields": [{"name": "p", "type": "number"}]}], "default_group_role": "a"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			return
		}
		p, err := Compile(d)
		if err != nil {
			return
		}
		// A compiled policy must be usable the way the engine uses it.
		for _, r := range p.Roles() {
			for _, typ := range p.Types() {
				typ.FieldNames(r.Perm(typ).Fields)
			}
		}
		if p.DefaultGroupRole == nil {
			t.Fatal("compiled policy without a default group role")
		}
	})
}
