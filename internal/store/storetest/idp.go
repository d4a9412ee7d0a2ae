package storetest

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// testIdentityProviders covers identity.md §7's storage: providers with
// their domains unique across providers, the links of subjects to users,
// and a sign-in's writes (JIT user, the provider's grant kept in step,
// grants of another source left alone).
func testIdentityProviders(t *testing.T, b Backend) {
	s := open(t, b)
	mustPutAccount(t, s, account("ACME", ""))
	mustPutAccount(t, s, account("ACME-SITE", "ACME"))
	mustPutAccount(t, s, account("GLOBEX", ""))
	acme := "ACME"
	p := store.IdentityProvider{ID: "acme-entra", Name: "ACME Entra ID", Issuer: "https://login.example/acme", ClientID: "client-1",
		ClientSecret: "plain:s3cret", Scopes: []string{"openid", "email"}, Account: &acme, EmailDomains: []string{"acme.example", "acme.test"},
		LocalPasswords: store.LocalPasswordsDisabled, JIT: store.ProviderJIT{Enabled: true, HomeAccount: "ACME", Role: "L10", DaysBack: ptr(30)},
		Claims: store.ProviderClaims{Groups: "roles"}, GroupRoles: map[string]string{"billing": "L40"}, MaxRole: "L40"}

	t.Run("Put/Create", func(t *testing.T) {
		created, rev, err := s.PutIdentityProvider(ctx(t), by, p)
		if err != nil || !created || rev <= 0 {
			t.Fatalf("PutIdentityProvider = %v, %d, %v; want created", created, rev, err)
		}
		got, err := s.GetIdentityProvider(ctx(t), p.ID)
		if err != nil {
			t.Fatalf("GetIdentityProvider: %v", err)
		}
		want := p
		want.ClientSecretSet = true
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.IdentityProvider{}, "CreatedAt", "UpdatedAt")); diff != "" {
			t.Errorf("stored provider (-want +got):\n%s", diff)
		}
		if got.CreatedAt.IsZero() {
			t.Error("created_at not set")
		}
	})
	t.Run("Put/Replace", func(t *testing.T) {
		q := p
		q.Name, q.EmailDomains = "ACME", []string{"acme.example"}
		created, _, err := s.PutIdentityProvider(ctx(t), by, q)
		if err != nil || created {
			t.Fatalf("PutIdentityProvider = %v, %v; want replaced", created, err)
		}
		if _, err := s.IdentityProviderForDomain(ctx(t), "acme.test"); access.ErrorCode(err) != access.CodeNotFound {
			t.Errorf("a dropped domain still finds a provider: %v", err)
		}
		got, err := s.IdentityProviderForDomain(ctx(t), "acme.example")
		if err != nil || got.ID != p.ID || got.Name != "ACME" {
			t.Errorf("IdentityProviderForDomain = %+v, %v", got, err)
		}
	})
	t.Run("Put/ErrDomainInUse", func(t *testing.T) {
		globex := "GLOBEX"
		q := store.IdentityProvider{ID: "globex", Name: "Globex", Issuer: "https://login.example/globex", ClientID: "c", ClientSecret: "plain:x",
			Account: &globex, EmailDomains: []string{"globex.example", "acme.example"}, LocalPasswords: store.LocalPasswordsAllowed}
		_, _, err := s.PutIdentityProvider(ctx(t), by, q)
		if e := wantCode(t, err, access.CodeConflict); e != nil && e.ExistingID != p.ID {
			t.Errorf("existing_id = %q, want %s", e.ExistingID, p.ID)
		}
		q.EmailDomains = []string{"globex.example"}
		if _, _, err := s.PutIdentityProvider(ctx(t), by, q); err != nil {
			t.Fatalf("PutIdentityProvider(globex): %v", err)
		}
		ps, err := s.ListIdentityProviders(ctx(t))
		if err != nil || len(ps) != 2 || ps[0].ID != "acme-entra" || ps[1].ID != "globex" || ps[1].Account == nil || *ps[1].Account != "GLOBEX" {
			t.Errorf("ListIdentityProviders = %+v, %v", ps, err)
		}
	})
	t.Run("Audit/NoSecret", func(t *testing.T) {
		es, _, err := s.ListAudit(ctx(t), store.AuditFilter{Action: "identity_provider.put"})
		if err != nil || len(es) != 3 {
			t.Fatalf("identity_provider.put entries = %d, %v; want 3", len(es), err)
		}
		for _, e := range es {
			if len(e.After) == 0 || containsBytes(e.After, "s3cret") || containsBytes(e.Before, "s3cret") {
				t.Errorf("audit entry %d holds the secret or nothing: %s", e.ID, e.After)
			}
		}
	})

	mustPutUser(t, s, external("anna", "ACME-SITE"))
	hand := mustCreateGrant(t, s, grant("user:anna", "ACME", "L20"))
	t.Run("SSOSignIn/JIT", func(t *testing.T) {
		u := external("newbie", "ACME")
		u.Email = "newbie@acme.example"
		g := grant("", "ACME", "L10")
		g.Source, g.DaysBack = "idp:acme-entra", ptr(30)
		_, err := s.SSOSignIn(ctx(t), store.Write{Actor: "idp:acme-entra", By: "idp:acme-entra"},
			store.SSOSignIn{Provider: p.ID, Subject: "sub-newbie", UserID: "newbie", NewUser: &u, NewGrant: &g,
				Sync: true, SyncAccount: "ACME", SyncRole: "L40"})
		if err != nil {
			t.Fatalf("SSOSignIn: %v", err)
		}
		if _, ok := s.Engine().User("newbie"); !ok {
			t.Error("the engine does not know the JIT user")
		}
		gs := s.Engine().UserGrants("newbie")
		if len(gs) != 1 || gs[0].Role != "L40" || gs[0].Source != "idp:acme-entra" || gs[0].CreatedBy != "idp:acme-entra" || gs[0].DaysBack == nil {
			t.Errorf("JIT grants = %+v, want one L40 grant of source idp:acme-entra", gs)
		}
		if id, err := s.SSOLinkedUser(ctx(t), p.ID, "sub-newbie"); err != nil || id != "newbie" {
			t.Errorf("SSOLinkedUser = %q, %v", id, err)
		}
	})
	t.Run("SSOSignIn/SyncDownAndOut", func(t *testing.T) {
		sign := store.SSOSignIn{Provider: p.ID, Subject: "sub-newbie", UserID: "newbie", Sync: true, SyncAccount: "ACME", SyncRole: "L10"}
		if _, err := s.SSOSignIn(ctx(t), store.Write{Actor: "idp:acme-entra"}, sign); err != nil {
			t.Fatalf("SSOSignIn: %v", err)
		}
		if gs := s.Engine().UserGrants("newbie"); len(gs) != 1 || gs[0].Role != "L10" {
			t.Errorf("grants after the sync to L10 = %+v", gs)
		}
		sign.SyncRole = ""
		if _, err := s.SSOSignIn(ctx(t), store.Write{Actor: "idp:acme-entra"}, sign); err != nil {
			t.Fatalf("SSOSignIn: %v", err)
		}
		if gs := s.Engine().UserGrants("newbie"); len(gs) != 0 {
			t.Errorf("grants after the sync to none = %+v", gs)
		}
	})
	t.Run("SSOSignIn/HandMadeGrantUntouched", func(t *testing.T) {
		for _, role := range []string{"L40", ""} {
			sign := store.SSOSignIn{Provider: p.ID, Subject: "sub-anna", UserID: "anna", Sync: true, SyncAccount: "ACME", SyncRole: role}
			if _, err := s.SSOSignIn(ctx(t), store.Write{Actor: "idp:acme-entra"}, sign); err != nil {
				t.Fatalf("SSOSignIn: %v", err)
			}
			got, err := s.GetGrant(ctx(t), hand.ID)
			if err != nil || got.Role != "L20" || got.Source != "" {
				t.Errorf("the hand-made grant after a sync to %q = %+v, %v", role, got, err)
			}
		}
	})
	t.Run("SSOSignIn/ErrOtherSubject", func(t *testing.T) {
		_, err := s.SSOSignIn(ctx(t), store.Write{Actor: "idp:acme-entra"}, store.SSOSignIn{Provider: p.ID, Subject: "sub-intruder", UserID: "anna"})
		wantCode(t, err, access.CodeConflict)
		if _, err := s.SSOLinkedUser(ctx(t), p.ID, "sub-intruder"); access.ErrorCode(err) != access.CodeNotFound {
			t.Errorf("a refused subject is linked: %v", err)
		}
	})
	t.Run("SSOSignIn/CheckAborts", func(t *testing.T) {
		u := external("ghost", "ACME")
		u.Email = "ghost@acme.example"
		w := store.Write{Actor: "idp:acme-entra", Check: func() error { return access.Errorf(access.CodeForbidden, "no") }}
		_, err := s.SSOSignIn(ctx(t), w, store.SSOSignIn{Provider: p.ID, Subject: "sub-ghost", UserID: "ghost", NewUser: &u})
		wantCode(t, err, access.CodeForbidden)
		if _, err := s.GetUser(ctx(t), "ghost"); access.ErrorCode(err) != access.CodeNotFound {
			t.Errorf("a refused sign-in created its user: %v", err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if _, err := s.DeleteIdentityProvider(ctx(t), by, p.ID); err != nil {
			t.Fatalf("DeleteIdentityProvider: %v", err)
		}
		_, err := s.GetIdentityProvider(ctx(t), p.ID)
		wantCode(t, err, access.CodeNotFound)
		if _, err := s.SSOLinkedUser(ctx(t), p.ID, "sub-anna"); access.ErrorCode(err) != access.CodeNotFound {
			t.Errorf("links survive their provider: %v", err)
		}
		if _, err := s.IdentityProviderForDomain(ctx(t), "acme.example"); access.ErrorCode(err) != access.CodeNotFound {
			t.Errorf("domains survive their provider: %v", err)
		}
		_, err = s.DeleteIdentityProvider(ctx(t), by, p.ID)
		wantCode(t, err, access.CodeNotFound)
		if _, err := s.GetGrant(ctx(t), hand.ID); err != nil {
			t.Errorf("grants go with their provider: %v", err)
		}
	})
}

func containsBytes(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
