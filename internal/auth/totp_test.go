package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func TestTOTPStep(t *testing.T) {
	secret, url, err := NewTOTPKey("Portcullis", "anna@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "otpauth://totp/") || !strings.Contains(url, secret) {
		t.Fatalf("url %s", url)
	}
	if got := TOTPURL("Portcullis", "anna@example.com", secret); got != url {
		t.Errorf("TOTPURL = %s, want %s", got, url)
	}
	now := time.Unix(1_700_000_010, 0)
	step := now.Unix() / 30
	for _, tc := range []struct {
		at     time.Time
		ok     bool
		offset int64
	}{
		{now, true, 0}, {now.Add(-30 * time.Second), true, -1}, {now.Add(30 * time.Second), true, 1},
		{now.Add(-60 * time.Second), false, 0}, {now.Add(90 * time.Second), false, 0},
	} {
		code, _ := totp.GenerateCode(secret, tc.at)
		got, ok := TOTPStep(secret, code, now)
		if ok != tc.ok || (ok && got != step+tc.offset) {
			t.Errorf("code of %v: step %d ok %v, want ok %v step %d", tc.at.Sub(now), got, ok, tc.ok, step+tc.offset)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := TOTPStep(secret, bad, now); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, hashes := NewRecoveryCodes(RecoveryCodes)
	if len(codes) != 10 || len(hashes) != 10 {
		t.Fatalf("%d codes", len(codes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if len(c) != 19 || seen[c] {
			t.Errorf("code %q", c)
		}
		seen[c] = true
		if HashRecoveryCode(strings.ToUpper(strings.ReplaceAll(c, "-", " "))) != hashes[i] {
			t.Errorf("%q: case and separators matter", c)
		}
	}
}

func TestSecretBox(t *testing.T) {
	plain, _ := NewSecretBox(nil)
	key, err := ParseSecretBoxKey("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	if err != nil {
		t.Fatal(err)
	}
	box, err := NewSecretBox(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed := box.Seal("u1", "SECRET")
	if strings.Contains(sealed, "SECRET") {
		t.Fatalf("sealed %q shows the secret", sealed)
	}
	if got, err := box.Open("u1", sealed); err != nil || got != "SECRET" {
		t.Errorf("open: %q %v", got, err)
	}
	if _, err := box.Open("u2", sealed); err == nil {
		t.Error("a secret sealed for u1 opens for u2")
	}
	if _, err := plain.Open("u1", sealed); err == nil {
		t.Error("opened without the key")
	}
	if got, err := box.Open("u1", plain.Seal("u1", "OLD")); err != nil || got != "OLD" {
		t.Errorf("a secret stored before the key: %q %v", got, err)
	}
	if _, err := ParseSecretBoxKey("short"); err == nil {
		t.Error("a short key parsed")
	}
}
