package browsertest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/text/language"

	"github.com/portcullis-dev/portcullis/internal/store"
)

// ssoUsers is the OpenID provider's directory: one buyer of Acme.
type ssoUsers struct{ buyer *storage.User }

func (u ssoUsers) GetUserByID(id string) *storage.User {
	if id == u.buyer.ID {
		return u.buyer
	}
	return nil
}

func (u ssoUsers) GetUserByUsername(name string) *storage.User {
	if name == u.buyer.Username {
		return u.buyer
	}
	return nil
}

func (u ssoUsers) ExampleClientID() string { return storage.ServiceUserID }

// TestSSO_SignInThroughProvider: a buyer of Acme types her company email
// on the sign-in page, signs in on her company's OpenID provider (zitadel's
// example provider with its login page, on loopback) and lands in the
// portal as a new user of Acme (JIT), without a Portcullis password.
func TestSSO_SignInThroughProvider(t *testing.T) {
	e := newEnv(t)
	// The provider, on an address known before it serves.
	op := httptest.NewUnstartedServer(nil)
	issuer := "http://" + op.Listener.Addr().String()
	storage.RegisterClients(storage.WebClient("portcullis-acme", "acme-client-secret", e.srv.URL+"/sso/acme/callback"))
	users := ssoUsers{buyer: &storage.User{ID: "entra-bea-1", Username: "bea", Password: "company-password-1", FirstName: "Bea",
		LastName: "Buyer", Email: "bea@acme-sso.example", EmailVerified: true, PreferredLanguage: language.English}}
	op.Config.Handler = exampleop.SetupServer(issuer, storage.NewStorage(users), slog.New(slog.DiscardHandler), false)
	op.Start()
	t.Cleanup(op.Close)

	acme := "C-ACME"
	if _, _, err := e.st.PutIdentityProvider(context.Background(), store.Write{Actor: "test"}, store.IdentityProvider{ID: "acme",
		Name: "Acme Login", Issuer: issuer, ClientID: "portcullis-acme", ClientSecret: "plain:acme-client-secret",
		Scopes: []string{"openid", "email", "profile"}, Account: &acme, EmailDomains: []string{"acme-sso.example"},
		LocalPasswords: store.LocalPasswordsDisabled, JIT: store.ProviderJIT{Enabled: true, HomeAccount: "C-ACME", Role: "L20"}, MaxRole: "L40"}); err != nil {
		t.Fatal(err)
	}

	b := e.newTab("bea")
	b.mustStatus("sign-in page", b.open("/login"), http.StatusOK)
	b.do("type the company email", chromedp.WaitVisible(heading("Sign in")), chromedp.SendKeys(field("Email"), "bea@acme-sso.example"))
	b.mustStatus("continue to the provider", b.navigate("continue", chromedp.Click(button("Sign in"))), http.StatusOK)
	// The sign-in page moves on to the provider by itself.
	byID := func(id string) chromedp.JSPath {
		return chromedp.JSPath(`document.getElementById(` + jsString(id) + `)`)
	}
	b.do("wait for the provider's login page", chromedp.WaitVisible(byID("username")))
	if loc := b.location(); !strings.HasPrefix(loc, "/login/username") {
		t.Fatalf("not on the provider's login page: at %s: %s", loc, b.text())
	}
	b.do("sign in at the provider",
		chromedp.SendKeys(byID("username"), "bea"), chromedp.SendKeys(byID("password"), "company-password-1"))
	b.mustStatus("back in the portal", b.navigate("log in", chromedp.Click(button("Login"))), http.StatusOK)
	if loc := b.location(); strings.HasPrefix(loc, "/login") || strings.HasPrefix(loc, "/sso/") {
		t.Fatalf("did not land in the portal: at %s: %s", loc, b.text())
	}
	b.mustSee("Acme Manufacturing")

	u, err := e.st.GetUserByEmail(context.Background(), "bea@acme-sso.example")
	if err != nil || u.HomeAccount != "C-ACME" || u.Name != "Bea Buyer" {
		t.Fatalf("JIT user %+v, %v", u, err)
	}
	if gs := e.eng.UserGrants(u.ID); len(gs) != 1 || gs[0].Role != "L20" || gs[0].Source != "jit:acme" {
		t.Errorf("grants %+v", gs)
	}
	if hash, err := e.st.PasswordHash(context.Background(), u.ID); err != nil || hash != "" {
		t.Errorf("the federated user has a Portcullis password (%v)", err)
	}
}
