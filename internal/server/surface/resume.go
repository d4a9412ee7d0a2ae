package surface

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Form resume (portal.md §5): a form sent after its session ended is not
// lost. The server keeps what was typed, secrets aside, in the browser,
// sends it to sign in, and after signing in back to the form's page,
// which shows the typed values again with a notice.
//
// What was typed lives in one cookie sealed with AES-256-GCM under the
// server's form key (server.Config.FormKey): every node that shares the
// key can open what another kept, so it works with several nodes behind
// one address; nothing is stored on the server. The cookie is HttpOnly,
// SameSite Lax, lives ResumeTTL, and is read once: by the first page of
// the form's path after sign-in.
//
// Who sees the values: the cookie never leaves the browser that typed
// them. When the server can still tell whose session ended (it lapsed
// rather than being deleted), only that user gets them back: another user
// who signs in on the browser finds them dropped. When it cannot (the
// session was deleted: signed out elsewhere, disabled), whoever signs in
// next on that browser within ResumeTTL gets them, as the browser's own
// form memory would; signing out drops them.

// ResumeCookie is the cookie that holds a kept form.
const ResumeCookie = "portcullis_resume"

// ResumeTTL is how long a kept form waits for its user to sign in.
const ResumeTTL = 15 * time.Minute

// maxResumeCookie bounds the cookie's encoded value, within what every
// browser keeps (4,096 bytes with name and attributes).
const maxResumeCookie = 3800

// resumeAAD binds sealed values to their purpose.
var resumeAAD = []byte("portcullis form resume v1")

// Kept is a form kept across a sign-in.
type Kept struct {
	// User is the id of the user whose session ended, "" when unknown.
	User string `json:"u,omitempty"`
	// Page is the path and query of the form's page (where sign-in
	// returns to); Action the path the form was sent to.
	Page   string `json:"p"`
	Action string `json:"a"`
	// Values are the form's values, secrets removed.
	Values url.Values `json:"v"`
	// Truncated is set when some values were too long to keep.
	Truncated bool `json:"t,omitempty"`
	// Edit is set when the user asked to change the values from a
	// change's confirmation (KeepEdit), not after a sign-in.
	Edit    bool  `json:"b,omitempty"`
	Expires int64 `json:"e"`
}

// Resume keeps forms across a sign-in. Create it with NewResume.
type Resume struct {
	aead cipher.AEAD
	now  func() time.Time
}

// NewResume returns a Resume sealing with key (32 bytes; a random key of
// this process when nil, which other nodes cannot open) and reading the
// time from now (nil: time.Now).
func NewResume(key []byte, now func() time.Time) (*Resume, error) {
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Resume{aead: aead, now: now}, nil
}

// PageField is the hidden field of a page rendered by a POST (a
// confirmation) that names the page to come back to after sign-in.
const PageField = "_page"

// EditField is the hidden field of a change's confirmation that names the
// page of the form its values came from: "Change" (confirm=edit) brings
// that form back with the values filled in (KeepEdit).
const EditField = "_edit"

// IsSecret reports whether a form field holds a secret that is never
// kept: passwords, tokens, one-time and recovery codes, CSRF tokens.
func IsSecret(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"password", "passwd", "secret", "token", "csrf", "xsrf", "totp", "recovery", "otp"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return n == "code" || strings.HasSuffix(n, "_code") || strings.HasSuffix(n, ".code")
}

// Keep keeps the form of r, a POST whose session ended, for userID (""
// when unknown), and returns the page to come back to after sign-in: the
// page the form was on (the Referer, when it is on this site), else the
// path the form was sent to. It keeps nothing (kept false) when the form
// holds nothing but secrets.
func (k *Resume) Keep(w http.ResponseWriter, r *http.Request, userID string) (page string, kept bool) {
	return k.keep(w, r, userID, "")
}

// KeepEdit keeps the values of r, a change's confirmation posted with
// confirm=edit by the signed-in userID, for the form's page named by
// EditField, and returns that page ("" when it is not a path of this
// site: nothing is kept). The page shows the values again, to be changed.
func (k *Resume) KeepEdit(w http.ResponseWriter, r *http.Request, userID string) (page string) {
	page = SafePath(r.PostFormValue(EditField))
	if page == "" || userID == "" {
		return ""
	}
	k.keep(w, r, userID, page)
	return page
}

// keep keeps the form of r for userID and the page it returns to: edit
// when set (KeepEdit), else the form's page after a sign-in.
func (k *Resume) keep(w http.ResponseWriter, r *http.Request, userID, edit string) (page string, kept bool) {
	values := url.Values{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseMultipartForm(1 << 20); err == nil {
			values = r.MultipartForm.Value
			_ = r.MultipartForm.RemoveAll()
		}
	} else if err := r.ParseForm(); err == nil {
		values = r.PostForm
	}
	page = formPage(r)
	// A confirmation page (rendered by a POST) names the page its change
	// came from: its Referer would be the POST-only action.
	if p := SafePath(values.Get(PageField)); p != "" {
		page = p
	}
	if edit != "" {
		page = edit
	}
	keep := Kept{User: userID, Page: page, Action: r.URL.Path, Values: url.Values{}, Edit: edit != "", Expires: k.now().Add(ResumeTTL).Unix()}
	for name, vs := range values {
		// Never a secret, nor a decision: confirm=yes is asked again.
		if !IsSecret(name) && name != "confirm" && name != PageField && name != EditField {
			keep.Values[name] = vs
		}
	}
	if len(keep.Values) == 0 {
		return page, false
	}
	for {
		v, ok := k.seal(keep)
		if ok {
			http.SetCookie(w, &http.Cookie{Name: ResumeCookie, Value: v, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
				Secure: ClientOf(r).Secure || r.TLS != nil, MaxAge: int(ResumeTTL.Seconds())})
			return page, true
		}
		// Too large: drop the longest value until it fits.
		keep.Truncated = true
		longest, size := "", -1
		for name, vs := range keep.Values {
			if n := len(strings.Join(vs, "")) + len(name); n > size {
				longest, size = name, n
			}
		}
		delete(keep.Values, longest)
		if len(keep.Values) == 0 {
			return page, false
		}
	}
}

// seal encodes kept, false when it is too large for the cookie.
func (k *Resume) seal(kept Kept) (string, bool) {
	plain, err := json.Marshal(kept)
	if err != nil || base64.RawURLEncoding.EncodedLen(len(plain)+k.aead.NonceSize()+k.aead.Overhead()) > maxResumeCookie {
		return "", false
	}
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", false
	}
	return base64.RawURLEncoding.EncodeToString(k.aead.Seal(nonce, nonce, plain, resumeAAD)), true
}

// open decodes a cookie value; false when it was not sealed with this key
// or has expired.
func (k *Resume) open(v string) (Kept, bool) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) < k.aead.NonceSize() {
		return Kept{}, false
	}
	plain, err := k.aead.Open(nil, b[:k.aead.NonceSize()], b[k.aead.NonceSize():], resumeAAD)
	if err != nil {
		return Kept{}, false
	}
	var kept Kept
	if json.Unmarshal(plain, &kept) != nil || k.now().Unix() > kept.Expires {
		return Kept{}, false
	}
	return kept, true
}

// Take returns r carrying the form kept for the page r asks for (a GET by
// the signed-in userID), and removes the cookie; see KeptOf. A kept form
// of another user, or one that cannot be opened, is removed too; one for
// another page stays until that page or its expiry.
func (k *Resume) Take(w http.ResponseWriter, r *http.Request, userID string) *http.Request {
	ck, err := r.Cookie(ResumeCookie)
	if err != nil {
		return r
	}
	kept, ok := k.open(ck.Value)
	if ok && kept.User != "" && kept.User != userID {
		ok = false
	}
	if ok {
		page, _, _ := strings.Cut(kept.Page, "#")
		page, _, _ = strings.Cut(page, "?")
		if page != r.URL.Path {
			return r
		}
	}
	ClearResumeCookie(w)
	if !ok {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), keptKey{}, &kept))
}

// ClearResumeCookie removes a kept form (on sign-out, once used).
func ClearResumeCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: ResumeCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

type keptKey struct{}

// KeptOf returns the form kept for r's page (Take), nil when none.
func KeptOf(r *http.Request) *Kept {
	k, _ := r.Context().Value(keptKey{}).(*Kept)
	return k
}

// formPage is the page a form was sent from: the Referer when it is a
// page of this site (same host; not the sign-in page), else the path the
// form was sent to.
func formPage(r *http.Request) string {
	if ref, err := url.Parse(r.Header.Get("Referer")); err == nil && ref.Host == r.Host && ref.Path != "" &&
		!slices.Contains([]string{"/login", "/login/mfa", "/logout"}, ref.Path) {
		if p := SafePath(ref.RequestURI()); p != "" {
			return p
		}
	}
	return r.URL.Path
}

// SafePath returns next when it is a path of this site ("/..."), and ""
// for anything that could lead elsewhere: another host ("//host",
// "/\host"), a scheme, control characters.
func SafePath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\\\r\n\t\x00") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	return next
}
