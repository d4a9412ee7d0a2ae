package server_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
)

// sessionHash is the store's key of the browser's session.
func (b *browser) sessionHash() string {
	b.env.t.Helper()
	u, _ := url.Parse(b.env.srv.URL)
	for _, ck := range b.hc.Jar.Cookies(u) {
		if ck.Name == surface.SessionCookie {
			return auth.HashSecret(ck.Value)
		}
	}
	b.env.t.Fatal("the browser has no session")
	return ""
}

// hasCookie reports whether the browser holds the cookie name.
func (b *browser) hasCookie(name string) bool {
	u, _ := url.Parse(b.env.srv.URL)
	for _, ck := range b.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return true
		}
	}
	return false
}

// postFrom sends a form as a browser does from the page at referer.
func (b *browser) postFrom(referer, path string, form url.Values) htmlPage {
	b.env.t.Helper()
	req, _ := http.NewRequest("POST", b.env.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", b.env.srv.URL+referer)
	res, err := b.hc.Do(req)
	if err != nil {
		b.env.t.Fatal(err)
	}
	return readPage(b.env.t, res)
}

// TestFormResume (portal.md §5): a ticket form sent after its session
// lapsed goes to sign-in with a notice; signing in again returns to the
// form with what was typed and a notice, secrets never kept. Another user
// signing in on that browser gets nothing, and the kept form is read once.
func TestFormResume(t *testing.T) {
	// The engine's clock moves: a session lapses when it passes the idle
	// timeout.
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	lapse := func(*browser) {
		mu.Lock()
		clock = clock.Add(auth.DefaultIdleTimeout + time.Minute)
		mu.Unlock()
	}
	t.Run("sqlite", func(t *testing.T) { testFormResume(t, newEnvAt(t, t.TempDir()+"/test.db", now), lapse) })
	t.Run("postgres", func(t *testing.T) { testFormResume(t, newEnvAt(t, pgtest.DSN(t), now), lapse) })
}

func testFormResume(t *testing.T, env *testEnv, lapse func(*browser)) {
	{
		ctx := context.Background()
		const page = "/a/C1/ticket/new"
		typed := url.Values{"owner": {"C1-ST1"}, "title": {`Pump <b>leaks</b> "again"`}, "description": {"It drips.\nDaily."}, "type": {"question"}, "status": {"new"},
			// Secrets a form might carry: never kept, never shown again.
			"password": {"hunter2-secret"}, "current_password": {"old-secret-pw"}, "csrf_token": {"csrf-secret"}, "code": {"913402"}, "mfa_token": {"mfa-secret"}}
		env.constrain("u10", map[string]map[string][]string{"ticket": {"type": {"incident", "question"}, "status": {"new"}}})
		b := env.browse("u10")
		b.get(page).must(t, http.StatusOK, `name="title"`)
		before := env.countTickets()
		lapse(b)

		p := b.postFrom(page, page, typed)
		p.must(t, http.StatusOK, "Your session has expired. Sign in again to return to your form", `name="next" value="/a/C1/ticket/new"`)
		if !strings.HasPrefix(p.url, "/login?") || env.countTickets() != before || !b.hasCookie(surface.ResumeCookie) {
			t.Fatalf("after the lapsed POST: at %s, %d tickets (had %d), kept %v", p.url, env.countTickets(), before, b.hasCookie(surface.ResumeCookie))
		}

		p = b.post("/login", url.Values{"email": {"u10@example.com"}, "password": {password}, "next": {page}})
		p.must(t, http.StatusOK, "Your session had expired, so you had to sign in again.",
			`value="Pump &lt;b&gt;leaks&lt;/b&gt; &#34;again&#34;"`, ">It drips.\nDaily.</textarea>", `<option value="question" selected="">`, `<option value="C1-ST1" selected="">`)
		p.mustNot(t, "hunter2-secret", "old-secret-pw", "csrf-secret", "913402", "mfa-secret", "<b>leaks")
		if !strings.HasPrefix(p.url, page) || b.hasCookie(surface.ResumeCookie) {
			t.Fatalf("after signing in: at %s, kept form still there: %v", p.url, b.hasCookie(surface.ResumeCookie))
		}
		// Read once: the next visit is the empty form.
		b.get(page).mustNot(t, "Pump", "Your session had expired")

		// Kept for u10, signed in as u20 on the same browser: dropped.
		b.get(page).must(t, http.StatusOK)
		lapse(b)
		b.postFrom(page, page, typed).must(t, http.StatusOK, "Your session has expired.")
		other := b.post("/login", url.Values{"email": {"u20@example.com"}, "password": {password}, "next": {page}})
		other.mustNot(t, "Pump", "Your session had expired")
		if b.hasCookie(surface.ResumeCookie) {
			t.Fatal("another user's sign-in left the kept form")
		}

		// A session deleted rather than lapsed: the values go to whoever
		// signs in next on this browser; signing out drops them.
		if err := env.st.DeleteSession(ctx, b.sessionHash()); err != nil {
			t.Fatal(err)
		}
		b.postFrom(page, page, typed).must(t, http.StatusOK, "Sign in again to return to your form")
		b.post("/login", url.Values{"email": {"u10@example.com"}, "password": {password}, "next": {"/profile"}}).must(t, http.StatusOK)
		b.post("/logout", nil)
		if b.hasCookie(surface.ResumeCookie) {
			t.Fatal("signing out left the kept form")
		}

		// The console: the same for staff.
		s := env.browse("admin")
		s.get("/admin/accounts/C2").must(t, http.StatusOK)
		lapse(s)
		s.postFrom("/admin/accounts/C2", "/admin/accounts/C2", url.Values{"name": {"Globex Renamed"}}).must(t, http.StatusOK, "Sign in again to return to your form")
		s.post("/login", url.Values{"email": {"admin@example.com"}, "password": {password}, "next": {"/admin/accounts/C2"}}).
			must(t, http.StatusOK, "Your session had expired", `value="Globex Renamed"`)
	}
}

// TestSignInNextStaysOnSite: sign-in goes on to a path of this site only;
// anything that could lead elsewhere goes home.
func TestSignInNextStaysOnSite(t *testing.T) {
	env := newEnv(t, t.TempDir()+"/test.db")
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "/\t/evil.example", "javascript:alert(1)", "evil.example"} {
		anon := &browser{env: env, hc: &http.Client{}}
		if p := anon.get("/login?next=" + url.QueryEscape(next)); strings.Contains(p.body, "evil") {
			t.Errorf("next %q: the sign-in page carries it: %s", next, p.body)
		}
		jar := newJar()
		hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := hc.PostForm(env.srv.URL+"/login", url.Values{"email": {"u20@example.com"}, "password": {password}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/" {
			t.Errorf("next %q: %d to %q", next, res.StatusCode, loc)
		}
	}
	// A Referer of another site never becomes the page to return to.
	req, _ := http.NewRequest("POST", env.srv.URL+"/a/C1/ticket/new", strings.NewReader("title=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", "https://evil.example/a/C1/ticket/new")
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); loc != "/login?next=%2Fa%2FC1%2Fticket%2Fnew&expired=form" {
		t.Fatalf("a POST without a session from another site's page goes to %q", loc)
	}
}

func newJar() http.CookieJar {
	jar, _ := cookiejar.New(nil)
	return jar
}
