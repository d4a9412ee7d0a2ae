package server_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
)

// TestLanguages: a visitor gets the browser's language, a ?lang= choice on
// the sign-in page sticks for the next anonymous pages, and a signed-in
// user's saved locale wins over both (a user who saved none gets the
// browser's); the profile's switch saves it and refuses a language
// Portcullis does not speak.
func TestLanguages(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		jar, _ := cookiejar.New(nil)
		anon := &client{env: env, hc: &http.Client{Jar: jar}}
		get := func(c *client, path, acceptLanguage string) response {
			t.Helper()
			req, err := http.NewRequest("GET", env.srv.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept-Language", acceptLanguage)
			res, err := c.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return response{status: res.StatusCode, header: res.Header, body: string(b)}
		}
		admHas(t, get(anon, "/login", "de-CH, en;q=0.5"), `<html lang="de">`, "Anmelden", "Passwort vergessen?")
		admHas(t, get(anon, "/login", "fr"), `<html lang="en">`, "Sign in")
		admHas(t, get(anon, "/login?lang=zh", "de"), `<html lang="zh-Hans">`, "登录")
		admHas(t, get(anon, "/forgot", "de"), "忘记密码？")

		u := env.as("u20")
		// A user who chose no language gets the browser's.
		admHas(t, get(u, "/profile", "de"), "Profil", "Sprache der Seiten")
		admHas(t, get(u, "/profile", "fr"), "Profile", "Language of the pages")
		res := u.admPost("/profile/locale", url.Values{"locale": {"de"}})
		admStatus(t, res, http.StatusOK)
		admHas(t, res, "Ihre Sprache wurde gespeichert.", "Abmelden")
		admHas(t, get(u, "/profile", "zh"), "Profil", `<option value="de" lang="de" selected>Deutsch</option>`)
		if got, err := env.st.GetUser(t.Context(), "u20"); err != nil || got.Locale != "de" {
			t.Fatalf("saved locale %q, %v", got.Locale, err)
		}
		res = u.admPost("/profile/locale", url.Values{"locale": {"fr"}})
		admStatus(t, res, http.StatusBadRequest)
		admHas(t, res, `aria-invalid="true"`)
	})
}
