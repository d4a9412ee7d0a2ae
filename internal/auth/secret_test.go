package auth

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestNewSecret(t *testing.T) {
	seen := make(map[string]bool)
	for _, prefix := range []string{TokenPrefix, SessionPrefix, TokenPrefix, SessionPrefix} {
		secret, hash := NewSecret(prefix)
		rest, ok := strings.CutPrefix(secret, prefix)
		if !ok {
			t.Fatalf("secret %q lacks prefix %q", secret, prefix)
		}
		raw, err := base64.RawURLEncoding.DecodeString(rest)
		if err != nil || len(raw) != 32 {
			t.Errorf("secret %q: %d bytes of base64url, err %v; want 32", secret, len(raw), err)
		}
		if hash != HashSecret(secret) {
			t.Errorf("hash %s != HashSecret(secret) %s", hash, HashSecret(secret))
		}
		if strings.Contains(hash, rest) || len(hash) != 64 {
			t.Errorf("hash %q is not a 64-digit hex digest", hash)
		}
		if seen[secret] || seen[hash] {
			t.Fatalf("NewSecret repeated %q", secret)
		}
		seen[secret], seen[hash] = true, true
	}
}

func TestHashSecret(t *testing.T) {
	tests := map[string]string{ // FIPS 180-2 test vectors
		"":    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	}
	for in, want := range tests {
		if got := HashSecret(in); got != want {
			t.Errorf("HashSecret(%q) = %s, want %s", in, got, want)
		}
	}
	if HashSecret("pct_x") == HashSecret("pcs_x") {
		t.Error("the prefix does not change the hash")
	}
}
