package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Second factors: TOTP (RFC 6238: SHA-1, six digits, 30-second steps, the
// parameters every authenticator app supports), recovery codes, and the
// sealing of TOTP secrets at rest.

// MFATokenPrefix starts the mfa_token of a sign-in's second step.
const MFATokenPrefix = "pcm_"

// TOTPPeriod is the length of one TOTP time step.
const TOTPPeriod = 30 * time.Second

// TOTPSkew is how many steps before and after now a code is accepted, for
// clocks that drift and people who type slowly.
const TOTPSkew = 1

// NewTOTPKey returns a new random TOTP secret (base32, 160 bits) and its
// otpauth:// URL, which authenticator apps read from a QR code.
func NewTOTPKey(issuer, account string) (secret, url string, err error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: uint(TOTPPeriod / time.Second),
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", "", fmt.Errorf("totp key: %w", err)
	}
	return k.Secret(), k.URL(), nil
}

// TOTPURL returns the otpauth:// URL of an existing secret.
func TOTPURL(issuer, account, secret string) string {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: uint(TOTPPeriod / time.Second),
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Secret: mustBase32(secret)})
	if err != nil {
		return ""
	}
	return k.URL()
}

func mustBase32(s string) []byte {
	b, err := base32NoPad.DecodeString(strings.ToUpper(s))
	if err != nil {
		return nil
	}
	return b
}

// ValidTOTPCode reports whether code has the shape of a TOTP code: six
// digits.
func ValidTOTPCode(code string) bool {
	if len(code) != 6 {
		return false
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// TOTPStep returns the time step (Unix time / 30 s) whose code is code,
// searching TOTPSkew steps either side of now, and whether one matched.
// The caller remembers the newest step used and refuses a step that is not
// newer, so that a code cannot be replayed within its window.
func TOTPStep(secret, code string, now time.Time) (step int64, ok bool) {
	if !ValidTOTPCode(code) {
		return 0, false
	}
	cur := now.Unix() / int64(TOTPPeriod/time.Second)
	opts := totp.ValidateOpts{Period: uint(TOTPPeriod / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	found := int64(0)
	for s := cur - TOTPSkew; s <= cur+TOTPSkew; s++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*int64(TOTPPeriod/time.Second), 0), opts)
		if err != nil {
			return 0, false
		}
		// Compare every candidate, in constant time, so the time taken says
		// nothing about which step matched.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found = s
		}
	}
	return found, found != 0
}

// RecoveryCodes is how many recovery codes an enrolment gets.
const RecoveryCodes = 10

// NewRecoveryCodes returns n new recovery codes, each 80 random bits shown
// as four groups of four base32 letters and digits ("7k2m-..."), and their
// hashes (HashRecoveryCode) to store.
func NewRecoveryCodes(n int) (codes, hashes []string) {
	for range n {
		b := make([]byte, 10)
		rand.Read(b)
		s := strings.ToLower(base32NoPad.EncodeToString(b)) // 16 characters
		code := s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
		codes = append(codes, code)
		hashes = append(hashes, HashRecoveryCode(code))
	}
	return codes, hashes
}

// HashRecoveryCode returns the stored form of a recovery code, ignoring
// case, spaces and dashes. A fast hash suffices: the codes are random (80
// bits), not chosen by people.
func HashRecoveryCode(code string) string {
	return HashSecret("pcr_" + NormalizeRecoveryCode(code))
}

// NormalizeRecoveryCode drops spaces and dashes and lower-cases code.
func NormalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return r
	}, code)
}

// SecretBox seals TOTP secrets for storage with AES-256-GCM under a key
// kept outside the database (--mfa-key), so a database dump alone does not
// give the secrets away. A SecretBox without a key stores secrets as they
// are, marked "plain:", and opens both forms; one with a key still opens
// plain secrets stored before the key was set. The zero value has no key.
type SecretBox struct {
	aead cipher.AEAD
}

// NewSecretBox returns a SecretBox for a 32-byte key, or one without a key
// when key is empty.
func NewSecretBox(key []byte) (*SecretBox, error) {
	if len(key) == 0 {
		return &SecretBox{}, nil
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("the MFA key must be 32 bytes, got %d", len(key))
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, err
	}
	return &SecretBox{aead: aead}, nil
}

// ParseSecretBoxKey decodes a key given as 64 hex digits or as standard or
// URL-safe base64 of 32 bytes.
func ParseSecretBoxKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	for _, dec := range []func(string) ([]byte, error){hexDecode, base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString} {
		if b, err := dec(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("the MFA key must be 32 bytes as 64 hex digits or base64 (e.g. openssl rand -base64 32)")
}

// Keyed reports whether the box encrypts.
func (b *SecretBox) Keyed() bool { return b != nil && b.aead != nil }

// Seal returns the stored form of secret; userID is bound to it as
// associated data, so a sealed secret copied to another user's row does
// not open.
func (b *SecretBox) Seal(userID, secret string) string {
	if !b.Keyed() {
		return "plain:" + secret
	}
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	ct := b.aead.Seal(nonce, nonce, []byte(secret), []byte(userID))
	return "v1:" + base64.RawStdEncoding.EncodeToString(ct)
}

// Open returns the secret of a stored form made by Seal.
func (b *SecretBox) Open(userID, stored string) (string, error) {
	if s, ok := strings.CutPrefix(stored, "plain:"); ok {
		return s, nil
	}
	s, ok := strings.CutPrefix(stored, "v1:")
	if !ok {
		return "", errors.New("unknown sealed secret format")
	}
	if !b.Keyed() {
		return "", errors.New("the TOTP secret is encrypted: start the server with its --mfa-key")
	}
	ct, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil || len(ct) < b.aead.NonceSize() {
		return "", errors.New("sealed secret is malformed")
	}
	pt, err := b.aead.Open(nil, ct[:b.aead.NonceSize()], ct[b.aead.NonceSize():], []byte(userID))
	if err != nil {
		return "", errors.New("the TOTP secret does not open with this --mfa-key")
	}
	return string(pt), nil
}

var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

func hexDecode(s string) ([]byte, error) { return hex.DecodeString(s) }
