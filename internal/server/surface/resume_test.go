package surface

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// keepForm runs Keep over a POST of form from referer and returns what the
// cookie holds, opened.
func keepForm(t *testing.T, k *Resume, contentType, body, referer string) (string, Kept, bool) {
	t.Helper()
	r := httptest.NewRequest("POST", "http://portal.example/a/C1/ticket/new", strings.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("Referer", referer)
	w := httptest.NewRecorder()
	page, _ := k.Keep(w, r, "u10")
	for _, ck := range w.Result().Cookies() {
		if ck.Name == ResumeCookie {
			kept, ok := k.open(ck.Value)
			return page, kept, ok
		}
	}
	return page, Kept{}, false
}

// TestResume_SecretsNeverKept: passwords, tokens, one-time and recovery
// codes and CSRF tokens are dropped before anything is sealed, in
// urlencoded and multipart forms alike.
func TestResume_SecretsNeverKept(t *testing.T) {
	k, err := NewResume(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"title": {"Pump leaks"}, "lines[0].qty": {"5"}, "password": {"a"}, "new_password": {"b"}, "current_password": {"c"},
		"password_confirm": {"d"}, "mfa_token": {"e"}, "csrf_token": {"f"}, "gorilla.csrf.Token": {"g"}, "code": {"123456"}, "recovery_code": {"h"},
		"totp": {"i"}, "client_secret": {"j"}, "api_token": {"k"}, "otp": {"l"}}
	want := url.Values{"title": {"Pump leaks"}, "lines[0].qty": {"5"}}
	page, kept, ok := keepForm(t, k, "application/x-www-form-urlencoded", form.Encode(), "http://portal.example/a/C1/ticket/new?x=1")
	if !ok || page != "/a/C1/ticket/new?x=1" || kept.User != "u10" || kept.Action != "/a/C1/ticket/new" {
		t.Fatalf("kept %v %+v, page %s", ok, kept, page)
	}
	if diff := cmp.Diff(want, kept.Values); diff != "" {
		t.Fatalf("kept values (-want +got):\n%s", diff)
	}
	var mp strings.Builder
	mp.WriteString("--B\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nA comment\r\n")
	mp.WriteString("--B\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nsecret\r\n")
	mp.WriteString("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\nfile bytes\r\n--B--\r\n")
	_, kept, ok = keepForm(t, k, "multipart/form-data; boundary=B", mp.String(), "")
	if !ok || !cmp.Equal(kept.Values, url.Values{"body": {"A comment"}}) {
		t.Fatalf("multipart: %v %v", ok, kept.Values)
	}
	// Nothing but secrets: no cookie at all.
	if _, _, ok := keepForm(t, k, "application/x-www-form-urlencoded", "password=x&code=1", ""); ok {
		t.Fatal("a form of secrets only was kept")
	}
}

// TestResume_ConfirmationPage: a confirmation page, rendered by a POST,
// names the page of its change (its Referer is the POST-only action);
// sign-in returns there, confirm=yes is never kept, and a page of
// another site is not followed.
func TestResume_ConfirmationPage(t *testing.T) {
	k, err := NewResume(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"title": {"Pump leaks"}, "confirm": {"yes"}, PageField: {"/a/C1/ticket"}}
	page, kept, ok := keepForm(t, k, "application/x-www-form-urlencoded", form.Encode(), "http://portal.example/a/C1/ticket/new")
	if !ok || page != "/a/C1/ticket" || kept.Page != "/a/C1/ticket" || !cmp.Equal(kept.Values, url.Values{"title": {"Pump leaks"}}) {
		t.Fatalf("kept %v %+v, page %s", ok, kept, page)
	}
	form.Set(PageField, "//evil.example/x")
	if page, _, _ := keepForm(t, k, "application/x-www-form-urlencoded", form.Encode(), "http://portal.example/a/C1/ticket/new"); page != "/a/C1/ticket/new" {
		t.Fatalf("an off-site page was followed: %s", page)
	}
}

// TestResume_Cookie: another page of this site is where sign-in returns
// (another site's never is); too much text drops the longest values; a
// cookie sealed by another key, altered or expired is ignored and removed;
// two nodes with one key open each other's.
func TestResume_Cookie(t *testing.T) {
	key := make([]byte, 32)
	now := time.Now()
	clock := func() time.Time { return now }
	a, _ := NewResume(key, clock)
	b, _ := NewResume(key, clock) // another node
	other, _ := NewResume(nil, clock)
	for ref, want := range map[string]string{
		"http://portal.example/a/C1/ticket/new": "/a/C1/ticket/new",
		"https://evil.example/a/C1/x":           "/a/C1/ticket/new",
		"http://portal.example/login?next=/x":   "/a/C1/ticket/new",
		"":                                      "/a/C1/ticket/new",
	} {
		if page, _, _ := keepForm(t, a, "application/x-www-form-urlencoded", "title=x", ref); page != want {
			t.Errorf("referer %q: page %q, want %q", ref, page, want)
		}
	}
	big := url.Values{"title": {"short"}, "description": {strings.Repeat("long text ", 500)}}
	_, kept, ok := keepForm(t, a, "application/x-www-form-urlencoded", big.Encode(), "")
	if !ok || !kept.Truncated || kept.Values.Get("title") != "short" || kept.Values.Has("description") {
		t.Fatalf("too large: %v %+v", ok, kept)
	}

	r := httptest.NewRequest("POST", "http://portal.example/a/C1/ticket/new", strings.NewReader("title=x"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	a.Keep(w, r, "u10")
	value := w.Result().Cookies()[0].Value
	take := func(k *Resume, v, path, user string) (*Kept, bool) {
		r := httptest.NewRequest("GET", "http://portal.example"+path, nil)
		r.AddCookie(&http.Cookie{Name: ResumeCookie, Value: v})
		w := httptest.NewRecorder()
		kept := KeptOf(k.Take(w, r, user))
		cleared := len(w.Result().Cookies()) == 1 && w.Result().Cookies()[0].MaxAge < 0
		return kept, cleared
	}
	if kept, cleared := take(b, value, "/a/C1/ticket/new", "u10"); kept == nil || kept.Values.Get("title") != "x" || !cleared {
		t.Fatalf("another node with the key: %+v, cleared %v", kept, cleared)
	}
	if kept, cleared := take(a, value, "/a/C1/other", "u10"); kept != nil || cleared {
		t.Fatalf("another page: %+v, cleared %v", kept, cleared)
	}
	if kept, cleared := take(a, value, "/a/C1/ticket/new", "u20"); kept != nil || !cleared {
		t.Fatalf("another user: %+v, cleared %v", kept, cleared)
	}
	if kept, cleared := take(other, value, "/a/C1/ticket/new", "u10"); kept != nil || !cleared {
		t.Fatalf("another key: %+v, cleared %v", kept, cleared)
	}
	altered := []byte(value)
	altered[len(altered)-3] ^= 1
	if kept, _ := take(a, string(altered), "/a/C1/ticket/new", "u10"); kept != nil {
		t.Fatal("an altered cookie was opened")
	}
	now = now.Add(ResumeTTL + time.Second)
	if kept, cleared := take(a, value, "/a/C1/ticket/new", "u10"); kept != nil || !cleared {
		t.Fatalf("expired: %+v, cleared %v", kept, cleared)
	}
}

// TestSafePath: only paths of this site pass.
func TestSafePath(t *testing.T) {
	for next, want := range map[string]string{
		"/a/C1/ticket/new?x=1": "/a/C1/ticket/new?x=1", "/": "/",
		"//evil.example": "", "/\\evil.example": "", "https://evil.example": "", "evil": "", "": "",
		"/\t/evil.example": "", "/\n/evil": "", "javascript:alert(1)": "", "/a\\b": "",
	} {
		if got := SafePath(next); got != want {
			t.Errorf("SafePath(%q) = %q, want %q", next, got, want)
		}
	}
}
