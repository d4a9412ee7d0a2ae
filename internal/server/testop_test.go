package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// testOP is a small OpenID provider on loopback for the sign-in tests:
// discovery, JWKS, an authorization endpoint that signs in whoever the
// test queued (no login page: the browser test uses zitadel's provider
// for that) and a token endpoint that checks the client secret and the
// PKCE S256 verifier before it issues an RS256 ID token. tamper, when
// set, changes the claims (or the signing key) of the next token.
type testOP struct {
	t        *testing.T
	srv      *httptest.Server
	key      *rsa.PrivateKey
	otherKey *rsa.PrivateKey
	clientID string
	secret   string

	mu     sync.Mutex
	user   map[string]any // the claims of the next sign-in
	tamper func(claims map[string]any) (badKey bool)
	codes  map[string]authRequest
	// seen records the last authorization request's parameters.
	seen url.Values
}

type authRequest struct {
	nonce, challenge, redirect string
	claims                     map[string]any
	tamper                     func(map[string]any) bool
}

var (
	opKeysOnce sync.Once
	opKey      *rsa.PrivateKey
	opOtherKey *rsa.PrivateKey
)

func newTestOP(t *testing.T, clientID, secret string) *testOP {
	t.Helper()
	opKeysOnce.Do(func() {
		opKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		opOtherKey, _ = rsa.GenerateKey(rand.Reader, 2048)
	})
	op := &testOP{t: t, key: opKey, otherKey: opOtherKey, clientID: clientID, secret: secret, codes: map[string]authRequest{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", op.discovery)
	mux.HandleFunc("GET /keys", op.keys)
	mux.HandleFunc("GET /authorize", op.authorize)
	mux.HandleFunc("POST /token", op.token)
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	return op
}

// issuer is the provider's issuer URL.
func (op *testOP) issuer() string { return op.srv.URL }

// signIn queues the claims of the next person to sign in and how to
// tamper with the token.
func (op *testOP) signIn(claims map[string]any, tamper func(map[string]any) bool) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.user, op.tamper = claims, tamper
}

func (op *testOP) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSONBody(w, map[string]any{
		"issuer":                                op.srv.URL,
		"authorization_endpoint":                op.srv.URL + "/authorize",
		"token_endpoint":                        op.srv.URL + "/token",
		"jwks_uri":                              op.srv.URL + "/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (op *testOP) keys(w http.ResponseWriter, r *http.Request) {
	writeJSONBody(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &op.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
}

func (op *testOP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	op.mu.Lock()
	op.seen = q
	ok := q.Get("client_id") == op.clientID && q.Get("response_type") == "code" && q.Get("code_challenge_method") == "S256" &&
		q.Get("code_challenge") != "" && q.Get("nonce") != "" && q.Get("state") != "" && op.user != nil
	code := randomString()
	op.codes[code] = authRequest{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), claims: op.user, tamper: op.tamper}
	op.mu.Unlock()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	v := url.Values{"state": {q.Get("state")}}
	if ok {
		v.Set("code", code)
	} else {
		v.Set("error", "invalid_request")
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (op *testOP) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	op.mu.Lock()
	req, found := op.codes[r.PostFormValue("code")]
	delete(op.codes, r.PostFormValue("code"))
	op.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	switch {
	case id != op.clientID || secret != op.secret:
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	case !found || r.PostFormValue("redirect_uri") != req.redirect || base64.RawURLEncoding.EncodeToString(sum[:]) != req.challenge:
		http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": op.srv.URL, "aud": op.clientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": req.nonce}
	for k, v := range req.claims {
		claims[k] = v
	}
	key := op.key
	if req.tamper != nil && req.tamper(claims) {
		key = op.otherKey
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		op.t.Error(err)
		return
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		op.t.Error(err)
		return
	}
	raw, _ := obj.CompactSerialize()
	writeJSONBody(w, map[string]any{"access_token": randomString(), "token_type": "Bearer", "expires_in": 300, "id_token": raw})
}

func writeJSONBody(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func randomString() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
