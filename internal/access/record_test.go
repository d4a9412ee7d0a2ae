package access_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// TestMergeTeams holds the good-faith merge of team entries (records.md
// §4): one entry per principal, at its first place, with the broader
// access; a bad access is left for ValidateRecord.
func TestMergeTeams(t *testing.T) {
	te := func(p, a string) access.TeamEntry { return access.TeamEntry{Principal: p, Access: a} }
	for _, tc := range []struct {
		name     string
		in, want []access.TeamEntry
	}{
		{"none", nil, nil},
		{"distinct", []access.TeamEntry{te("user:a", "read"), te("account:b", "read_write")}, []access.TeamEntry{te("user:a", "read"), te("account:b", "read_write")}},
		{"read then read_write", []access.TeamEntry{te("user:a", "read"), te("account:b", "read"), te("user:a", "read_write")}, []access.TeamEntry{te("user:a", "read_write"), te("account:b", "read")}},
		{"read_write then read", []access.TeamEntry{te("user:a", "read_write"), te("user:a", "read")}, []access.TeamEntry{te("user:a", "read_write")}},
		{"three times", []access.TeamEntry{te("user:a", "read"), te("user:a", "read"), te("user:a", "read")}, []access.TeamEntry{te("user:a", "read")}},
		{"a bad access is kept", []access.TeamEntry{te("user:a", "read"), te("user:a", "all")}, []access.TeamEntry{te("user:a", "read"), te("user:a", "all")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, access.MergeTeams(tc.in)); diff != "" {
				t.Errorf("MergeTeams (-want +got):\n%s", diff)
			}
		})
	}
}
