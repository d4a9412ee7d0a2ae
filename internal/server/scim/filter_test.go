package scim

import (
	"testing"

	"github.com/portcullis-dev/portcullis/internal/app"
)

// TestFilter evaluates filters of RFC 7644 §3.4.2.2 against one user.
func TestFilter(t *testing.T) {
	u := app.SCIMUser{ID: "scim_1", UserName: "Bjensen@Example.com", DisplayName: "Babs Jensen", ExternalID: "Ext-1", Active: true, HomeAccount: "C1"}
	for _, tc := range []struct {
		filter string
		want   bool
		bad    bool
	}{
		{filter: `userName eq "bjensen@example.com"`, want: true},
		{filter: `userName ne "bjensen@example.com"`, want: false},
		{filter: `userName co "jensen"`, want: true},
		{filter: `userName sw "bj"`, want: true},
		{filter: `userName ew ".com"`, want: true},
		{filter: `userName gt "a"`, want: true},
		{filter: `userName le "a"`, want: false},
		{filter: `externalId eq "ext-1"`, want: false}, // caseExact
		{filter: `externalId eq "Ext-1"`, want: true},
		{filter: `externalId pr`, want: true},
		{filter: `emails.value eq "BJENSEN@example.com"`, want: true},
		{filter: `emails[type eq "work" and value co "example"]`, want: true},
		{filter: `emails[type eq "home"]`, want: false},
		{filter: `active eq true and displayName sw "Babs"`, want: true},
		{filter: `active eq false or displayName eq "x"`, want: false},
		{filter: `not (active eq false)`, want: true},
		{filter: `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b"`, want: true},
		{filter: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization eq "C1"`, want: true},
		{filter: `title eq "x"`, bad: true},
		{filter: `userName eq`, bad: true},
		{filter: `urn:example:other:attr eq "x"`, bad: true},
	} {
		f, err := parseFilter(tc.filter)
		var got bool
		if err == nil {
			got, err = match(f, userAttrs(u))
		}
		if (err != nil) != tc.bad || (err == nil && got != tc.want) {
			t.Errorf("%s: %v, %v; want %v (invalid %v)", tc.filter, got, err, tc.want, tc.bad)
		}
		if err != nil {
			if e, ok := err.(*Error); !ok || e.SCIMType != "invalidFilter" {
				t.Errorf("%s: error %v, want invalidFilter", tc.filter, err)
			}
		}
	}
}
