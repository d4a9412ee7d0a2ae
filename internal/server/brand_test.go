package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/mail"
	"github.com/portcullis-dev/portcullis/internal/server"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// logoSVG is a logo with a script, which must never run.
const logoSVG = `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10" fill="#c2410c"/></svg>`

// TestBranding: --brand-name, --brand-logo and --brand-color replace
// Portcullis on the portal's pages, its sign-in page and its mails (in
// the recipient's language); the logo is served at its fixed path with
// its type, nosniff and a CSP that runs nothing.
func TestBranding(t *testing.T) {
	env := newEnv(t, t.TempDir()+"/test.db")
	b, err := render.NewBrand("Northwind Portal", "#C2410C", []byte(logoSVG))
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(env.st, env.eng, server.Config{Brand: b,
		Mail: app.MailConfig{PublicURL: "https://portal.example", Brand: mail.Brand{Name: b.Name, Color: b.Color, LogoURL: "https://portal.example/brand/logo"}}})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	branded := &testEnv{t: t, st: env.st, eng: env.eng, srv: hs, server: srv}

	anon := &browser{env: branded, hc: &http.Client{}}
	login := anon.get("/login")
	login.must(t, http.StatusOK, "<title>Sign in · Northwind Portal</title>", `<img src="/brand/logo" alt="" class="logo"><span>Northwind Portal</span>`,
		`<link rel="stylesheet" href="/brand/colors.css">`)
	login.mustNot(t, "Portcullis")
	de := get(t, hs.URL+"/login?lang=de")
	if !strings.Contains(de, "<title>Anmelden · Northwind Portal</title>") || strings.Contains(de, "Portcullis") {
		t.Fatalf("German sign-in page: %s", de)
	}

	u := branded.browse("u20")
	home := u.get("/a/C1/")
	home.must(t, http.StatusOK, "· Northwind Portal</title>", `<span>Northwind Portal</span>`)
	home.mustNot(t, "Portcullis")

	res, err := http.Get(hs.URL + "/brand/logo")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != logoSVG || res.Header.Get("Content-Type") != "image/svg+xml" ||
		res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("logo: %d %v %q", res.StatusCode, res.Header, body)
	}
	if css := get(t, hs.URL+"/brand/colors.css"); css != ":root { --accent: #c2410c; --accent-fg: #fff; }\n" {
		t.Fatalf("colors.css: %q", css)
	}
	// Without a brand: Portcullis, and nothing at the brand's paths.
	plain := get(t, env.srv.URL+"/login")
	if !strings.Contains(plain, "<span>Portcullis</span>") || strings.Contains(plain, "/brand/") {
		t.Fatalf("unbranded sign-in page: %s", plain)
	}
	if res, _ := http.Get(env.srv.URL + "/brand/logo"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unbranded logo: %d", res.StatusCode)
	}

	// Mails: a reset in English and one in German carry the brand.
	ctx := context.Background()
	for _, tc := range []struct{ user, locale, closing string }{
		{"u30", "en", "This message comes from Northwind Portal."},
		{"u10", "de", "Diese Nachricht kommt von Northwind Portal."},
	} {
		usr, _ := env.eng.User(tc.user)
		usr.Locale = tc.locale
		if _, _, err := env.st.PutUser(ctx, store.Write{Actor: "test"}, usr); err != nil {
			t.Fatal(err)
		}
		anon.post("/forgot", url.Values{"email": {tc.user + "@example.com"}}).must(t, http.StatusOK)
	}
	msgs, _, err := env.st.ListOutbox(ctx, store.OutboxFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, m := range msgs {
		for _, tc := range []struct{ to, closing string }{
			{"u30@example.com", "This message comes from Northwind Portal."},
			{"u10@example.com", "Diese Nachricht kommt von Northwind Portal."},
		} {
			if m.To != tc.to {
				continue
			}
			if !strings.HasPrefix(m.Text, "Northwind Portal\n") || !strings.Contains(m.Text, tc.closing) || !strings.Contains(m.HTML, tc.closing) ||
				!strings.Contains(m.HTML, `<img src="https://portal.example/brand/logo"`) || !strings.Contains(m.HTML, "background: #c2410c") {
				t.Fatalf("message to %s is not branded:\n%s\n%s", m.To, m.Text, m.HTML)
			}
			found[m.To] = true
		}
	}
	if len(found) != 2 {
		t.Fatalf("branded resets found for %v in %d messages", found, len(msgs))
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	res, err := (&http.Client{Jar: jar}).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}
