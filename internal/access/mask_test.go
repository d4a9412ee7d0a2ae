package access_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// maskCases is the format of testdata/masks/shapes.yaml.
type maskCases struct {
	Policy string `yaml:"policy"`
	Cases  []struct {
		Name    string   `yaml:"name"`
		Type    string   `yaml:"type"`
		Visible []string `yaml:"visible"`
		In      string   `yaml:"in"`
		Want    string   `yaml:"want"`
		Refused bool     `yaml:"refused"`
	} `yaml:"cases"`
}

// TestMask_Shapes runs the mask table: restricted paths over stored data of
// every shape, and the write check over the same data.
func TestMask_Shapes(t *testing.T) {
	data, err := os.ReadFile("testdata/masks/shapes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var mc maskCases
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&mc); err != nil {
		t.Fatal(err)
	}
	doc, err := policy.Parse([]byte(mc.Policy))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Compile(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range mc.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			typ := pol.Type(tc.Type)
			if typ == nil {
				t.Fatalf("unknown type %s", tc.Type)
			}
			var visible policy.FieldSet
			for _, f := range tc.Visible {
				i := typ.RestrictedIndex(f)
				if i < 0 {
					t.Fatalf("%s is not a restricted field of %s", f, tc.Type)
				}
				visible |= 1 << uint(i)
			}
			in, want := mustJSONObject(t, tc.In), mustJSONObject(t, tc.Want)
			err := access.CheckFieldWrites(typ, visible, mustJSONObject(t, tc.In))
			if refused := err != nil; refused != tc.Refused {
				t.Errorf("CheckFieldWrites refused = %v (%v), want %v", refused, err, tc.Refused)
			}
			access.Mask(typ, visible, in)
			if diff := cmp.Diff(want, in); diff != "" {
				t.Errorf("Mask (-want +got):\n%s", diff)
			}
		})
	}
}

func mustJSONObject(tb testing.TB, s string) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		tb.Fatalf("%s: %v", s, err)
	}
	return m
}
