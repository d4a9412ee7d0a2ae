package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// Prefixes of the secrets NewSecret makes. They tell a leaked secret's kind
// at a glance and let secret scanners recognise Portcullis credentials.
const (
	TokenPrefix   = "pct_" // API tokens, sent as "Authorization: Bearer pct_..."
	SessionPrefix = "pcs_" // session cookies
	// SCIMPrefix marks SCIM tokens, the Bearer secret of a customer's
	// identity provider at /scim/v2.
	SCIMPrefix = "pcscim_"
)

// secretBytes is the entropy of a secret: 256 bits.
const secretBytes = 32

// NewSecret returns a new random secret, prefix followed by 32 random bytes
// in unpadded base64url (43 characters), and its HashSecret. Show the secret
// to its owner once (or set it as the cookie) and store only the hash.
func NewSecret(prefix string) (secret, hash string) {
	b := make([]byte, secretBytes)
	rand.Read(b) // never fails: crypto/rand crashes the program instead
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret)
}

// HashSecret returns the lower-case hex SHA-256 of s, prefix included: the
// form in which tokens and sessions are stored and looked up. A fast hash is
// enough (and a salt unnecessary) because the secrets are random, not chosen
// by people; looking a hash up by equality reveals nothing about the secret.
func HashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
