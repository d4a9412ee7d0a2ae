package access

import (
	"regexp"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// idReference is the rule ValidID implements, as the regular expression
// it was.
var idReference = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// TestValidID_MatchesTheRule checks ValidID against the regular expression
// on strings near the rule's edges: every byte value, lengths 0 to 70,
// multi-byte UTF-8.
func TestValidID_MatchesTheRule(t *testing.T) {
	for _, s := range []string{"", "a", strings.Repeat("a", 64), strings.Repeat("a", 65), "A-Z_a.z:0-9", "a b", "ä", "a/b", "a\x00", "\xff"} {
		if got, want := ValidID(s), idReference.MatchString(s); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", s, got, want)
		}
	}
	for c := range 256 {
		s := "x" + string([]byte{byte(c)})
		if got, want := ValidID(s), idReference.MatchString(s); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", s, got, want)
		}
	}
	rapid.Check(t, func(rt *rapid.T) {
		alphabet := rapid.SampledFrom([]rune("aZ09._:-/ +äé€\x00\n"))
		s := string(rapid.SliceOfN(alphabet, 0, 70).Draw(rt, "runes"))
		if got, want := ValidID(s), idReference.MatchString(s); got != want {
			rt.Fatalf("ValidID(%q) = %v, want %v", s, got, want)
		}
	})
}
