package store

import (
	"context"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// Local password settings of an identity provider's domains.
const (
	LocalPasswordsAllowed  = "allowed"
	LocalPasswordsDisabled = "disabled"
)

// IdentityProvider is an OpenID Connect provider through which the users
// of one customer (Account), or the supplier's own staff (Account nil),
// sign in (identity.md §7).
type IdentityProvider struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// ClientSecret is the sealed secret (auth.SecretBox); it never leaves
	// the server. ClientSecretSet tells reads whether one is stored.
	ClientSecret    string   `json:"-"`
	ClientSecretSet bool     `json:"client_secret_set"`
	Scopes          []string `json:"scopes"`
	// Account is the customer whose users sign in through the provider;
	// nil for the supplier's staff.
	Account        *string           `json:"account"`
	EmailDomains   []string          `json:"email_domains"`
	LocalPasswords string            `json:"local_passwords"`
	JIT            ProviderJIT       `json:"jit"`
	Claims         ProviderClaims    `json:"claims"`
	GroupRoles     map[string]string `json:"group_roles"`
	MaxRole        string            `json:"max_role"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
}

// ProviderJIT says whether an unknown email of the provider's domains
// becomes a user at its first sign-in, homed where and with which grant.
type ProviderJIT struct {
	Enabled     bool   `json:"enabled"`
	HomeAccount string `json:"home_account"`
	Role        string `json:"role"`
	DaysBack    *int   `json:"days_back"`
}

// ProviderClaims names the ID token claims that carry the email, the
// name and the groups.
type ProviderClaims struct {
	Email  string `json:"email"`
	Name   string `json:"name"`
	Groups string `json:"groups"`
}

// SSOSignIn is what a verified sign-in through a provider writes, in one
// transaction (IdentityProviderStore.SSOSignIn).
type SSOSignIn struct {
	Provider string
	Subject  string
	// UserID is the user signing in; NewUser, when set, is created first
	// (JIT) with its grant NewGrant (principal filled in).
	UserID   string
	NewUser  *access.User
	NewGrant *access.Grant
	// Sync, when set, makes the provider's grant of the user on
	// SyncAccount (source "idp:<provider>") hold SyncRole, or removes it
	// when SyncRole is "". A grant of another source on that account is
	// never touched.
	Sync        bool
	SyncAccount string
	SyncRole    string
}

// IdentityProviderStore stores identity providers, the links of their
// subjects to users, and writes sign-ins through them. An email domain
// belongs to at most one provider: PutIdentityProvider fails with
// conflict (Field email_domains, ExistingID the other provider) on a
// domain in use. Puts and deletes are audited (identity_provider.put,
// identity_provider.delete) without the client secret. Deleting a
// provider deletes its domains and links; its grants stay.
type IdentityProviderStore interface {
	GetIdentityProvider(ctx context.Context, id string) (IdentityProvider, error)
	ListIdentityProviders(ctx context.Context) ([]IdentityProvider, error)
	// IdentityProviderForDomain returns the provider of an email domain
	// (lower case), or not_found.
	IdentityProviderForDomain(ctx context.Context, domain string) (IdentityProvider, error)
	PutIdentityProvider(ctx context.Context, w Write, p IdentityProvider) (created bool, rev int64, err error)
	DeleteIdentityProvider(ctx context.Context, w Write, id string) (int64, error)
	// SSOLinkedUser returns the user linked to (provider, subject), or
	// not_found.
	SSOLinkedUser(ctx context.Context, provider, subject string) (string, error)
	// SSOSignIn creates the JIT user and grant when asked, links the
	// subject to the user (conflict when the user is linked to another
	// subject of the provider), and keeps the provider's grant in step,
	// in one transaction; audited (user.put, grant.*, sso.link) with
	// w.Actor.
	SSOSignIn(ctx context.Context, w Write, in SSOSignIn) (int64, error)
}
