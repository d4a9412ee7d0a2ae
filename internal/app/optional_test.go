package app

import (
	"encoding/json"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
)

type optBody struct {
	Name     Optional[string] `json:"name"`
	DaysBack Optional[int]    `json:"days_back"`
}

// TestOptional checks that both JSON libraries tell absent, null and set
// apart, and that a wrong type names the field.
func TestOptional(t *testing.T) {
	for _, tc := range []struct {
		in        string
		name      Optional[string]
		daysBack  Optional[int]
		wantError string
	}{
		{in: `{}`},
		{in: `{"name":null}`, name: Null[string]()},
		{in: `{"name":"x","days_back":3}`, name: Some("x"), daysBack: Some(3)},
		{in: `{"days_back":null}`, daysBack: Null[int]()},
		{in: `{"days_back":"x"}`, wantError: "days_back"},
	} {
		for lib, unmarshal := range map[string]func([]byte, any) error{
			"encoding/json": json.Unmarshal,
			"json/v2":       func(b []byte, v any) error { return jsonv2.Unmarshal(b, v) },
		} {
			var got optBody
			err := unmarshal([]byte(tc.in), &got)
			if tc.wantError != "" {
				if err == nil {
					t.Errorf("%s %s: no error", lib, tc.in)
				} else if lib == "encoding/json" {
					var te *json.UnmarshalTypeError
					if !asTypeError(err, &te) || te.Field != tc.wantError {
						t.Errorf("%s %s: error %v does not name %s", lib, tc.in, err, tc.wantError)
					}
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s %s: %v", lib, tc.in, err)
			}
			if got.Name != tc.name || got.DaysBack != tc.daysBack {
				t.Errorf("%s %s: got %+v, want %+v %+v", lib, tc.in, got, tc.name, tc.daysBack)
			}
		}
	}
}

func asTypeError(err error, te **json.UnmarshalTypeError) bool {
	e, ok := err.(*json.UnmarshalTypeError)
	*te = e
	return ok
}
