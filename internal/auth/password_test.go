package auth

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// mustHash hashes pw or fails the test.
func mustHash(tb testing.TB, pw string) string {
	tb.Helper()
	h, err := HashPassword(pw)
	if err != nil {
		tb.Fatalf("HashPassword(%q): %v", pw, err)
	}
	return h
}

func TestHashPassword_RoundTrip(t *testing.T) {
	const pw = "correct horse battery"
	h := mustHash(t, pw)
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(h) {
		t.Fatalf("hash %q is not the expected PHC string", h)
	}
	if ok, err := VerifyPassword(h, pw); !ok || err != nil {
		t.Errorf("VerifyPassword(right) = %v, %v; want true, nil", ok, err)
	}
	for _, wrong := range []string{"", "correct horse batter", "correct horse battery ", "Correct horse battery"} {
		if ok, err := VerifyPassword(h, wrong); ok || err != nil {
			t.Errorf("VerifyPassword(%q) = %v, %v; want false, nil", wrong, ok, err)
		}
	}
	if NeedsRehash(h) {
		t.Error("NeedsRehash of a fresh hash = true")
	}
}

func TestHashPassword_SaltsDiffer(t *testing.T) {
	const pw = "same password twice"
	a, b := mustHash(t, pw), mustHash(t, pw)
	if a == b {
		t.Fatalf("two hashes of one password are equal: %s", a)
	}
	if salt := func(h string) string { return strings.Split(h, "$")[4] }; salt(a) == salt(b) {
		t.Errorf("two hashes share the salt %s", salt(a))
	}
	for _, h := range []string{a, b} {
		if ok, err := VerifyPassword(h, pw); !ok || err != nil {
			t.Errorf("VerifyPassword(%s) = %v, %v", h, ok, err)
		}
	}
}

func TestHashPassword_RejectsInvalid(t *testing.T) {
	for _, pw := range []string{"", strings.Repeat("x", MaxPasswordBytes+1)} {
		if h, err := HashPassword(pw); !errors.Is(err, ErrInvalidPassword) || h != "" {
			t.Errorf("HashPassword(%d bytes) = %q, %v; want ErrInvalidPassword", len(pw), h, err)
		}
	}
}

// TestVerifyPassword_Reference checks hashes made by the reference argon2
// command line tool (phc-winner-argon2), so stored hashes are interchangeable
// with other implementations.
func TestVerifyPassword_Reference(t *testing.T) {
	tests := []struct{ encoded, pw string }{
		// echo -n "correct horse battery" | argon2 portcullis-salt! -id -t 2 -k 19456 -p 1 -l 32 -e
		{"$argon2id$v=19$m=19456,t=2,p=1$cG9ydGN1bGxpcy1zYWx0IQ$1bT34BeCZaY1cp6C0/ENpHMSveaCrAqtjE7iCbHzzgg", "correct horse battery"},
		// echo -n "password" | argon2 somesalt -id -t 2 -m 16 -p 4 -l 24 -e
		{"$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$F1jG2CV3/Nr+yRuIsPKw0J9r4s7cJHBU", "password"},
	}
	for _, tt := range tests {
		if ok, err := VerifyPassword(tt.encoded, tt.pw); !ok || err != nil {
			t.Errorf("VerifyPassword(%s, %q) = %v, %v; want true, nil", tt.encoded, tt.pw, ok, err)
		}
		if ok, err := VerifyPassword(tt.encoded, tt.pw+"x"); ok || err != nil {
			t.Errorf("VerifyPassword(%s, wrong) = %v, %v; want false, nil", tt.encoded, ok, err)
		}
	}
	if NeedsRehash(tests[0].encoded) {
		t.Error("NeedsRehash of a hash with the current parameters = true")
	}
	if !NeedsRehash(tests[1].encoded) {
		t.Error("NeedsRehash of a m=65536,t=2,p=4 hash = false")
	}
}

func TestVerifyPassword_Tampered(t *testing.T) {
	const pw = "correct horse battery"
	h := mustHash(t, pw)
	parts := strings.Split(h, "$")
	flip := func(s string) string { // change the first base64 character, keeping it valid
		c := byte('A')
		if s[0] == 'A' {
			c = 'B'
		}
		return string(c) + s[1:]
	}
	tampered := map[string]string{
		"salt": strings.Join([]string{"", parts[1], parts[2], parts[3], flip(parts[4]), parts[5]}, "$"),
		"key":  strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], flip(parts[5])}, "$"),
		"t":    strings.Replace(h, ",t=2,", ",t=3,", 1),
		"m":    strings.Replace(h, "m=19456,", "m=19455,", 1),
	}
	for name, enc := range tampered {
		if ok, err := VerifyPassword(enc, pw); ok || err != nil {
			t.Errorf("%s tampered: VerifyPassword = %v, %v; want false, nil", name, ok, err)
		}
	}
}

func TestVerifyPassword_Malformed(t *testing.T) {
	const (
		salt = "cG9ydGN1bGxpcy1zYWx0IQ"
		key  = "1bT34BeCZaY1cp6C0/ENpHMSveaCrAqtjE7iCbHzzgg"
	)
	tests := map[string]string{
		"empty":             "",
		"dollars":           "$$$$$",
		"bcrypt":            "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":           "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"no version":        "$argon2id$m=19456,t=2,p=1$" + salt + "$" + key,
		"version 16":        "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"no leading dollar": "argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$",
		"extra part":        "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$",
		"params reordered":  "$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key,
		"params missing":    "$argon2id$v=19$m=19456,t=2$" + salt + "$" + key,
		"params extra":      "$argon2id$v=19$m=19456,t=2,p=1,k=1$" + salt + "$" + key,
		"param junk":        "$argon2id$v=19$m=19456x,t=2,p=1$" + salt + "$" + key,
		"param negative":    "$argon2id$v=19$m=19456,t=-2,p=1$" + salt + "$" + key,
		"param empty":       "$argon2id$v=19$m=,t=2,p=1$" + salt + "$" + key,
		"t zero":            "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key,
		"p zero":            "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"p 256":             "$argon2id$v=19$m=19456,t=2,p=256$" + salt + "$" + key,
		"m below lanes":     "$argon2id$v=19$m=31,t=2,p=4$" + salt + "$" + key,
		"m huge":            "$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + key,
		"m overflow":        "$argon2id$v=19$m=4294967296,t=2,p=1$" + salt + "$" + key,
		"t huge":            "$argon2id$v=19$m=19456,t=100000,p=1$" + salt + "$" + key,
		"salt not base64":   "$argon2id$v=19$m=19456,t=2,p=1$!!!!$" + key,
		"salt padded":       "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key,
		"salt short":        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$" + key,
		"salt empty":        "$argon2id$v=19$m=19456,t=2,p=1$$" + key,
		"key not base64":    "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key[:42] + "-",
		"key short":         "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key[:8],
		"key empty":         "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$",
		"key cut mid-byte":  "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key[:41],
	}
	for name, enc := range tests {
		t.Run(name, func(t *testing.T) {
			ok, err := VerifyPassword(enc, "correct horse battery")
			if ok || !errors.Is(err, ErrMalformedHash) {
				t.Errorf("VerifyPassword(%q) = %v, %v; want false, ErrMalformedHash", enc, ok, err)
			}
			if !NeedsRehash(enc) {
				t.Errorf("NeedsRehash(%q) = false", enc)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	current := argonHash{memory: argonMemory, time: argonTime, threads: argonThreads,
		salt: make([]byte, argonSaltLen), key: make([]byte, argonKeyLen)}
	tests := []struct {
		name string
		edit func(*argonHash)
		want bool
	}{
		{"current", func(*argonHash) {}, false},
		{"memory", func(h *argonHash) { h.memory = 64 * 1024 }, true},
		{"time", func(h *argonHash) { h.time = 1 }, true},
		{"threads", func(h *argonHash) { h.threads = 2 }, true},
		{"salt length", func(h *argonHash) { h.salt = make([]byte, 8) }, true},
		{"key length", func(h *argonHash) { h.key = make([]byte, 16) }, true},
	}
	for _, tt := range tests {
		h := current
		tt.edit(&h)
		if got := NeedsRehash(h.String()); got != tt.want {
			t.Errorf("%s: NeedsRehash(%s) = %v, want %v", tt.name, h, got, tt.want)
		}
	}
}

// TestVerifyPassword_OldParameters checks that a hash made with other
// parameters still verifies, so raising the cost never locks users out.
func TestVerifyPassword_OldParameters(t *testing.T) {
	const pw = "an older password"
	h := argonHash{memory: 8 * 1024, time: 1, threads: 2, salt: []byte("0123456789abcdef")}
	h.key = h.derive(pw, argonKeyLen)
	if ok, err := VerifyPassword(h.String(), pw); !ok || err != nil {
		t.Errorf("VerifyPassword(%s) = %v, %v; want true, nil", h, ok, err)
	}
	if !NeedsRehash(h.String()) {
		t.Errorf("NeedsRehash(%s) = false", h)
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		name, pw string
		ok       bool
	}{
		{"empty", "", false},
		{"eleven", "k7#Qp2v9Lm4", false},
		{"twelve", "k7#Qp2v9Lm4x", true},
		{"six multibyte", "äöüäöü", true}, // 12 bytes
		{"five multibyte", "äöüäö", false},
		{"inner spaces", "correct horse", true},
		{"max bytes", strings.Repeat("ab", MaxPasswordBytes/2), true},
		{"too long", strings.Repeat("ab", MaxPasswordBytes/2) + "c", false},
		{"too long multibyte", strings.Repeat("äb", MaxPasswordBytes/3+1), false},
		{"spaces", strings.Repeat(" ", 12), false},
		{"whitespace", " \t\n\r\v\f\u00a0\u2003 \t\n", false},
		{"invalid utf-8", "password\xff\xfe12", false},
		{"one character", strings.Repeat("a", 20), false},
		{"one multibyte character", strings.Repeat("ä", 20), false},
		{"common", "1qaz2wsx3edc", false},
		{"common, other case", "1QAZ2WSX3EDC", false},
		{"the email", "Bob.Smith@example.com", false},
		{"the email's local part", "bob.smith.example", true},
		{"the name", "bob smith jr", false},
	}
	for _, tt := range tests {
		err := ValidatePassword(tt.pw, "bob.smith@example.com", "Bob Smith Jr")
		if tt.ok && err != nil {
			t.Errorf("%s: ValidatePassword = %v, want nil", tt.name, err)
		}
		if !tt.ok && !errors.Is(err, ErrInvalidPassword) {
			t.Errorf("%s: ValidatePassword = %v, want ErrInvalidPassword", tt.name, err)
		}
	}
	if err := ValidatePassword("longenough", "x"); err == nil || err.Error() != "invalid password: must be at least 12 bytes" {
		t.Errorf("message = %v", err)
	}
	if err := ValidatePassword("bob.smith.ex", "bob.smith.ex@example.com"); err == nil {
		t.Error("the email's local part is accepted")
	}
}

func TestCommonPasswords(t *testing.T) {
	if n := len(common()); n != 10_000 {
		t.Errorf("%d common passwords, want 10,000", n)
	}
	for _, pw := range []string{"123456", "password", "qwertyuiop", "Password"} {
		if !IsCommonPassword(pw) {
			t.Errorf("IsCommonPassword(%q) = false", pw)
		}
	}
	if IsCommonPassword("k7#Qp2v9Lm4x") {
		t.Error("a random password is common")
	}
}

func TestDummyVerify(t *testing.T) {
	DummyVerify() // must not panic; its cost is measured by BenchmarkDummyVerify
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		mustHash(b, "correct horse battery")
	}
}

func BenchmarkVerifyPassword(b *testing.B) {
	h := mustHash(b, "correct horse battery")
	for b.Loop() {
		VerifyPassword(h, "wrong horse battery")
	}
}

func BenchmarkDummyVerify(b *testing.B) {
	for b.Loop() {
		DummyVerify()
	}
}

// FuzzParseHash checks that no input panics the parser and that whatever it
// accepts encodes back to a string it parses to the same hash.
func FuzzParseHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$cG9ydGN1bGxpcy1zYWx0IQ$1bT34BeCZaY1cp6C0/ENpHMSveaCrAqtjE7iCbHzzgg")
	f.Add("$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$F1jG2CV3/Nr+yRuIsPKw0J9r4s7cJHBU")
	f.Add("$argon2id$v=19$m=019456,t=2,p=1$c29tZXNhbHQ$F1jG2CV3/Nr+yRuIsPKw0J9r4s7cJHBU")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHash(s)
		if err != nil {
			return
		}
		h2, err := parseHash(h.String())
		if err != nil {
			t.Fatalf("parseHash(%q) ok, but its encoding %q fails: %v", s, h, err)
		}
		if h2.String() != h.String() {
			t.Fatalf("round trip changed %q to %q", h, h2)
		}
	})
}
