package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/auth"
)

// TestIdentityProviders_SecretSealed: with --mfa-key the client secret is
// stored sealed, opens for the sign-in, survives an update that omits it
// and never appears in reads or the audit log.
func TestIdentityProviders_SecretSealed(t *testing.T) {
	box, err := auth.NewSecretBox([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	withWorld(t, app.Config{MFASecrets: box}, func(t *testing.T, w *signinWorld) {
		ctx := context.Background()
		in := app.IdentityProviderInput{Name: app.Some("C1 Okta"), Issuer: app.Some("https://c1.okta.example"), ClientID: app.Some("0oa9"),
			ClientSecret: app.Some("the-client-secret"), Account: app.Some("C1"), EmailDomains: app.Some([]string{"c1.example"})}
		if _, _, _, err := w.a.PutIdentityProvider(ctx, w.adm, "c1", in); access.ErrorCode(err) != access.CodeForbidden {
			t.Fatalf("a customer admin put a provider: %v", err)
		}
		p, created, _, err := w.a.PutIdentityProvider(ctx, w.staff, "c1", in)
		if err != nil || !created || !p.ClientSecretSet {
			t.Fatalf("PutIdentityProvider = %+v, %v, %v", p, created, err)
		}
		stored, err := w.st.GetIdentityProvider(ctx, "c1")
		if err != nil || !strings.HasPrefix(stored.ClientSecret, "v1:") || strings.Contains(stored.ClientSecret, "the-client-secret") {
			t.Fatalf("stored secret %q, %v: want it sealed", stored.ClientSecret, err)
		}
		if _, _, _, err := w.a.PutIdentityProvider(ctx, w.staff, "c1", app.IdentityProviderInput{Name: app.Some("C1")}); err != nil {
			t.Fatal(err)
		}
		sp, err := w.a.ProviderForSignIn(ctx, "c1")
		if err != nil || sp.Secret != "the-client-secret" || sp.Name != "C1" {
			t.Fatalf("ProviderForSignIn = %q %q, %v", sp.Name, sp.Secret, err)
		}
		entries, err := w.a.ListAudit(ctx, w.staff, app.AuditFilter{Action: "identity_provider.put"})
		if err != nil || len(entries.Items) != 2 {
			t.Fatalf("audit: %d entries, %v", len(entries.Items), err)
		}
		for _, e := range entries.Items {
			if strings.Contains(string(e.After)+string(e.Before), stored.ClientSecret[3:10]) || strings.Contains(string(e.After), "the-client-secret") {
				t.Errorf("audit entry %d holds the secret", e.ID)
			}
		}
	})
}
