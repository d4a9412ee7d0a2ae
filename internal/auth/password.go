package auth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password policy enforced by ValidatePassword (identity.md §3).
const (
	// MinPasswordBytes is the fewest bytes (of UTF-8) a new password may have.
	MinPasswordBytes = 12
	// MaxPasswordBytes is the longest password, in bytes of UTF-8, that is
	// ever hashed: a longer one is refused before any hashing, at sign-in
	// too (CheckPasswordLength), so nobody makes the server hash megabytes.
	MaxPasswordBytes = 256
)

// commonPasswords is data/common-passwords.txt: the 10,000 most frequent
// passwords of zxcvbn's frequency list (the first 10,000 lines, first
// column, of data/passwords.txt in the Go module
// github.com/trustelem/zxcvbn v1.0.1, MIT licence; see data/SOURCE.md),
// one a line, lower case.
//
//go:embed data/common-passwords.txt
var commonPasswords []byte

// common is the set of commonPasswords, built on first use.
var common = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 10_000)
	sc := bufio.NewScanner(bytes.NewReader(commonPasswords))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			set[w] = struct{}{}
		}
	}
	return set
})

// IsCommonPassword reports whether pw, compared case-insensitively, is
// one of the 10,000 most common passwords.
func IsCommonPassword(pw string) bool {
	_, ok := common()[strings.ToLower(pw)]
	return ok
}

// Argon2id parameters for new hashes: the first configuration OWASP's
// Password Storage Cheat Sheet recommends (19 MiB, 2 passes, 1 lane). It
// takes about 35 ms on the 2-core development machine (BenchmarkHashPassword);
// one lane keeps each sign-in on one core, so two cores serve two at once.
// Hashes made with other parameters still verify; NeedsRehash flags them.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16 // bytes
	argonKeyLen  = 32 // bytes
)

// Bounds on the parameters of a stored hash. They keep a corrupted or
// hostile hash from panicking argon2 or allocating without limit.
const (
	maxMemory     = 1 << 20 // KiB, 1 GiB
	maxTime       = 64
	minSaltLen    = 8
	maxSaltLen    = 64
	minHashKeyLen = 16
	maxHashKeyLen = 64
)

// ErrInvalidPassword is matched (with errors.Is) by every error
// ValidatePassword returns. Those errors' messages say what is wrong in words
// fit to show the user, e.g. "invalid password: must be at least 10 characters".
var ErrInvalidPassword = errors.New("invalid password")

// ErrMalformedHash is matched (with errors.Is) by the error VerifyPassword
// returns when the stored hash is not an argon2id PHC string it can check.
// That is a server fault, not a wrong password: log it, answer as for a wrong
// password.
var ErrMalformedHash = errors.New("malformed password hash")

var b64 = base64.RawStdEncoding.Strict() // the PHC string format's base64: no padding

// ValidatePassword reports whether pw may be set as a new password
// (identity.md §3): valid UTF-8, MinPasswordBytes to MaxPasswordBytes
// bytes, not only whitespace, not one character repeated, not one of the
// 10,000 most common passwords, and not (case-insensitively) any of
// personal: the user's email, the email's local part, its name. It does
// not check passwords at sign-in: a stored password that predates the
// policy still verifies.
func ValidatePassword(pw string, personal ...string) error {
	if err := CheckPasswordLength(pw); err != nil {
		return err
	}
	switch {
	case !utf8.ValidString(pw):
		return fmt.Errorf("%w: must be valid UTF-8 text", ErrInvalidPassword)
	case len(pw) < MinPasswordBytes:
		return fmt.Errorf("%w: must be at least %d bytes", ErrInvalidPassword, MinPasswordBytes)
	case strings.TrimSpace(pw) == "":
		return fmt.Errorf("%w: must not be only whitespace", ErrInvalidPassword)
	case oneCharacter(pw):
		return fmt.Errorf("%w: must not be one character repeated", ErrInvalidPassword)
	case IsCommonPassword(pw):
		return fmt.Errorf("%w: is one of the most common passwords", ErrInvalidPassword)
	}
	folded := strings.ToLower(strings.TrimSpace(pw))
	for _, p := range personal {
		p = strings.ToLower(strings.TrimSpace(p))
		local, _, _ := strings.Cut(p, "@")
		if p != "" && (folded == p || folded == local) {
			return fmt.Errorf("%w: must not be your email or name", ErrInvalidPassword)
		}
	}
	return nil
}

// CheckPasswordLength refuses a password longer than MaxPasswordBytes. It
// is the only rule applied to a password that is verified rather than set
// (sign-in, current_password): it runs before any hashing.
func CheckPasswordLength(pw string) error {
	if len(pw) > MaxPasswordBytes {
		return fmt.Errorf("%w: must be at most %d bytes", ErrInvalidPassword, MaxPasswordBytes)
	}
	return nil
}

// oneCharacter reports whether pw is one character repeated.
func oneCharacter(pw string) bool {
	r, size := utf8.DecodeRuneInString(pw)
	return strings.Count(pw, string(r))*size == len(pw)
}

// HashPassword returns pw's argon2id hash with a fresh random salt, in the
// PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// The password's bytes are hashed as given, without Unicode normalization.
// It refuses only a password longer than MaxPasswordBytes (an empty one
// too); the policy for new passwords is ValidatePassword's, which callers
// apply where they know the user. A server hashes through a Hasher, which
// bounds the memory of concurrent calls.
func HashPassword(pw string) (string, error) {
	if err := CheckPasswordLength(pw); err != nil {
		return "", err
	}
	if pw == "" {
		return "", fmt.Errorf("%w: must not be empty", ErrInvalidPassword)
	}
	salt := make([]byte, argonSaltLen)
	rand.Read(salt) // never fails: crypto/rand crashes the program instead
	h := argonHash{memory: argonMemory, time: argonTime, threads: argonThreads, salt: salt}
	h.key = h.derive(pw, argonKeyLen)
	return h.String(), nil
}

// VerifyPassword reports whether pw matches the encoded hash made by
// HashPassword (or any argon2id PHC string within sane parameter bounds). A
// wrong password is (false, nil); an error, matching ErrMalformedHash, means
// the stored hash itself is unusable. The comparison is constant-time, and a
// malformed hash costs as much time as a real check (see DummyVerify).
func VerifyPassword(encoded, pw string) (ok bool, err error) {
	if len(pw) > MaxPasswordBytes {
		DummyVerify()
		return false, nil
	}
	h, err := parseHash(encoded)
	if err != nil {
		DummyVerify()
		return false, err
	}
	return subtle.ConstantTimeCompare(h.derive(pw, uint32(len(h.key))), h.key) == 1, nil
}

// DummyVerify does the work of verifying a password against a hash made with
// the current parameters and throws the result away. Call it when the user
// signing in does not exist, so that the response time does not reveal which
// emails have accounts.
func DummyVerify() {
	h := argonHash{
		memory: argonMemory, time: argonTime, threads: argonThreads,
		salt: make([]byte, argonSaltLen), key: make([]byte, argonKeyLen),
	}
	subtle.ConstantTimeCompare(h.derive("portcullis dummy password", argonKeyLen), h.key)
}

// NeedsRehash reports whether encoded was made with other parameters (or salt
// or key length) than HashPassword uses now, or cannot be parsed. Nothing
// calls it at sign-in yet: storing a new hash ends the user's sessions
// (store.SetPassword), which a sign-in must not do to the user's other
// devices, so a parameter change applies to passwords set after it until
// the store can replace a hash without ending sessions.
func NeedsRehash(encoded string) bool {
	h, err := parseHash(encoded)
	if err != nil {
		return true
	}
	return h.memory != argonMemory || h.time != argonTime || h.threads != argonThreads ||
		len(h.salt) != argonSaltLen || len(h.key) != argonKeyLen
}

// argonHash is a decoded argon2id PHC string.
type argonHash struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

func (h argonHash) derive(pw string, keyLen uint32) []byte {
	return argon2.IDKey([]byte(pw), h.salt, h.time, h.memory, h.threads, keyLen)
}

// String encodes h in the PHC string format.
func (h argonHash) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.memory, h.time, h.threads, b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// parseHash decodes an argon2id PHC string strictly: parameters in the order
// m, t, p and within the bounds above, base64 without padding.
func parseHash(encoded string) (argonHash, error) {
	var h argonHash
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return h, fmt.Errorf("%w: not a PHC string", ErrMalformedHash)
	}
	if parts[1] != "argon2id" {
		return h, fmt.Errorf("%w: algorithm %q is not argon2id", ErrMalformedHash, parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, parts[2])
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return h, fmt.Errorf("%w: want parameters m, t, p", ErrMalformedHash)
	}
	m, err1 := parseParam(params[0], "m=", minMemory(1), maxMemory)
	t, err2 := parseParam(params[1], "t=", 1, maxTime)
	p, err3 := parseParam(params[2], "p=", 1, 255)
	if err := errors.Join(err1, err2, err3); err != nil {
		return h, fmt.Errorf("%w: %w", ErrMalformedHash, err)
	}
	if m < minMemory(p) {
		return h, fmt.Errorf("%w: m=%d is below 8 KiB per lane", ErrMalformedHash, m)
	}
	h.memory, h.time, h.threads = m, t, uint8(p)
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < minSaltLen || len(h.salt) > maxSaltLen {
		return h, fmt.Errorf("%w: bad salt", ErrMalformedHash)
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < minHashKeyLen || len(h.key) > maxHashKeyLen {
		return h, fmt.Errorf("%w: bad key", ErrMalformedHash)
	}
	return h, nil
}

// minMemory is argon2's minimum memory for p lanes, in KiB.
func minMemory(p uint32) uint32 { return 8 * p }

// parseParam parses "<name><decimal>" within [lo, hi].
func parseParam(s, name string, lo, hi uint32) (uint32, error) {
	v, ok := strings.CutPrefix(s, name)
	if !ok {
		return 0, fmt.Errorf("want %s..., got %q", name, s)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || uint32(n) < lo || uint32(n) > hi {
		return 0, fmt.Errorf("%s%s is not a number in [%d, %d]", name, v, lo, hi)
	}
	return uint32(n), nil
}
