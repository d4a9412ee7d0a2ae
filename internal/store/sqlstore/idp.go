package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Identity providers (identity.md §7): one row each, their settings as
// JSON in config, their email domains in identity_provider_domains (the
// primary key keeps a domain to one provider) and the links of their
// subjects to users in sso_links.

const providerColumns = `id, account, config, client_secret, created_at, updated_at`

func scanProvider(sc rowScanner) (store.IdentityProvider, error) {
	var p store.IdentityProvider
	var account sql.NullString
	var config string
	var created, updated int64
	if err := sc.Scan(&p.ID, &account, &config, &p.ClientSecret, &created, &updated); err != nil {
		return p, err
	}
	id, secret := p.ID, p.ClientSecret
	if err := json.Unmarshal([]byte(config), &p); err != nil {
		return p, fmt.Errorf("identity provider %s: config: %w", id, err)
	}
	p.ID, p.ClientSecret, p.ClientSecretSet = id, secret, secret != ""
	p.Account = nil
	if account.Valid {
		p.Account = &account.String
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, nil
}

func (r reader) provider(cond string, args ...any) (store.IdentityProvider, error) {
	p, err := scanProvider(r.queryRow(`SELECT `+providerColumns+` FROM identity_providers WHERE `+cond, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return p, notFound("identity provider not found")
	}
	if err != nil {
		return p, fmt.Errorf("read identity provider: %w", err)
	}
	return p, nil
}

// GetIdentityProvider returns a provider, or not_found.
func (s *Store) GetIdentityProvider(ctx context.Context, id string) (store.IdentityProvider, error) {
	return s.pool(ctx).provider(`id = ?`, id)
}

// IdentityProviderForDomain returns the provider of a lower-case email
// domain, or not_found.
func (s *Store) IdentityProviderForDomain(ctx context.Context, domain string) (store.IdentityProvider, error) {
	return s.pool(ctx).provider(`id = (SELECT provider_id FROM identity_provider_domains WHERE domain = ?)`, domain)
}

// ListIdentityProviders returns every provider in id order (a handful:
// one per federated customer).
func (s *Store) ListIdentityProviders(ctx context.Context) ([]store.IdentityProvider, error) {
	rows, err := s.pool(ctx).query(`SELECT ` + providerColumns + ` FROM identity_providers ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list identity providers: %w", err)
	}
	defer rows.Close()
	out := []store.IdentityProvider{}
	for rows.Next() {
		p, err := scanProvider(rows)
		if err != nil {
			return nil, fmt.Errorf("list identity providers: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// providerConfig is what the config column holds: everything but the
// columns of its own.
func providerConfig(p store.IdentityProvider) (string, error) {
	c := p
	c.ID, c.Account, c.ClientSecret, c.ClientSecretSet = "", nil, "", false
	b, err := json.Marshal(struct {
		store.IdentityProvider
		// Columns of their own, left out of config.
		ID              string `json:"id,omitempty"`
		Account         string `json:"account,omitempty"`
		ClientSecretSet bool   `json:"client_secret_set,omitempty"`
		CreatedAt       string `json:"created_at,omitempty"`
		UpdatedAt       string `json:"updated_at,omitempty"`
	}{IdentityProvider: c})
	return string(b), err
}

// PutIdentityProvider creates or replaces a provider as given (the caller
// validated it and merged omitted fields); a domain of another provider
// is conflict naming it.
func (s *Store) PutIdentityProvider(ctx context.Context, w store.Write, p store.IdentityProvider) (bool, int64, error) {
	actor := w.Actor
	var created bool
	config, err := providerConfig(p)
	if err != nil {
		return false, 0, fmt.Errorf("put identity provider: %w", err)
	}
	rev, err := s.write(ctx, w, func(t *wtx) error {
		before, err := t.reader().provider(`id = ?`, p.ID)
		switch {
		case access.ErrorCode(err) == access.CodeNotFound:
			created = true
		case err != nil:
			return err
		}
		for _, d := range p.EmailDomains {
			var other string
			err := t.queryRow(`SELECT provider_id FROM identity_provider_domains WHERE domain = ? AND provider_id <> ?`, d, p.ID).Scan(&other)
			if err == nil {
				return &access.Error{Code: access.CodeConflict, Field: "email_domains", ExistingID: other,
					Message: fmt.Sprintf("email domain %s belongs to identity provider %s", d, other)}
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("put identity provider: %w", err)
			}
		}
		p.UpdatedAt = t.now
		p.CreatedAt = t.now
		if created {
			_, err = t.exec(`INSERT INTO identity_providers (`+providerColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
				p.ID, p.Account, config, p.ClientSecret, toMicros(t.now), toMicros(t.now))
		} else {
			p.CreatedAt = before.CreatedAt
			_, err = t.exec(`UPDATE identity_providers SET account = ?, config = ?, client_secret = ?, updated_at = ? WHERE id = ?`,
				p.Account, config, p.ClientSecret, toMicros(t.now), p.ID)
		}
		if err != nil {
			return fmt.Errorf("put identity provider: %w", err)
		}
		if _, err := t.exec(`DELETE FROM identity_provider_domains WHERE provider_id = ?`, p.ID); err != nil {
			return fmt.Errorf("put identity provider: %w", err)
		}
		for _, d := range p.EmailDomains {
			if _, err := t.exec(`INSERT INTO identity_provider_domains (domain, provider_id) VALUES (?, ?)`, d, p.ID); err != nil {
				return fmt.Errorf("put identity provider: domain: %w", err)
			}
		}
		p.ClientSecretSet = p.ClientSecret != ""
		var prev any
		if !created {
			prev = before
		}
		return t.logf(actor, "identity_provider.put", "identity_provider:"+p.ID, prev, p)
	})
	return created, rev, err
}

// DeleteIdentityProvider deletes a provider with its domains and links;
// not_found when there is none. Grants it made stay (made by hand from
// then on, as far as any provider is concerned).
func (s *Store) DeleteIdentityProvider(ctx context.Context, w store.Write, id string) (int64, error) {
	actor := w.Actor
	return s.write(ctx, w, func(t *wtx) error {
		before, err := t.reader().provider(`id = ?`, id)
		if err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM sso_links WHERE provider_id = ?`, `DELETE FROM identity_provider_domains WHERE provider_id = ?`,
			`DELETE FROM identity_providers WHERE id = ?`} {
			if _, err := t.exec(q, id); err != nil {
				return fmt.Errorf("delete identity provider: %w", err)
			}
		}
		return t.logf(actor, "identity_provider.delete", "identity_provider:"+id, before, nil)
	})
}

// SSOLinkedUser returns the user linked to a provider's subject.
func (s *Store) SSOLinkedUser(ctx context.Context, provider, subject string) (string, error) {
	var user string
	err := s.pool(ctx).queryRow(`SELECT user_id FROM sso_links WHERE provider_id = ? AND subject = ?`, provider, subject).Scan(&user)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("no linked user")
	}
	if err != nil {
		return "", fmt.Errorf("read sso link: %w", err)
	}
	return user, nil
}

// SSOSignIn writes a sign-in through a provider; see
// store.IdentityProviderStore.
func (s *Store) SSOSignIn(ctx context.Context, w store.Write, in store.SSOSignIn) (int64, error) {
	actor := w.Actor
	return s.write(ctx, w, func(t *wtx) error {
		if in.NewUser != nil {
			if err := t.createJITUser(actor, *in.NewUser, in.NewGrant); err != nil {
				return err
			}
		}
		if err := t.linkSubject(actor, in.Provider, in.Subject, in.UserID); err != nil {
			return err
		}
		if in.Sync {
			return t.syncProviderGrant(actor, in)
		}
		return nil
	})
}

// createJITUser writes a user a provider creates at its first sign-in,
// with its one grant.
func (t *wtx) createJITUser(actor string, u access.User, g *access.Grant) error {
	if ok, err := t.exists(`SELECT 1 FROM users WHERE email_lower = ? OR id = ?`, u.Email, u.ID); err != nil {
		return fmt.Errorf("create user: %w", err)
	} else if ok {
		return conflict("email %s is already in use", u.Email)
	}
	if err := t.putUserRow(u); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if err := t.change("user", u.ID); err != nil {
		return err
	}
	if err := t.logf(actor, "user.put", "user:"+u.ID, nil, u); err != nil {
		return err
	}
	if g == nil {
		return nil
	}
	return t.createSourcedGrant(actor, u.ID, *g)
}

// createSourcedGrant creates a grant of a user that a provider keeps.
func (t *wtx) createSourcedGrant(actor, userID string, g access.Grant) error {
	g.ID = newGrantID()
	g.Principal = "user:" + userID
	g.CreatedBy, g.CreatedAt, g.UpdatedAt = t.by, t.now, t.now
	if err := t.checkGrant(&g); err != nil {
		return err
	}
	return t.insertGrant(actor, g)
}

// linkSubject links (provider, subject) to user once; a user linked to
// another subject of the same provider is conflict.
func (t *wtx) linkSubject(actor, provider, subject, user string) error {
	var linked string
	err := t.queryRow(`SELECT subject FROM sso_links WHERE provider_id = ? AND user_id = ?`, provider, user).Scan(&linked)
	switch {
	case err == nil && linked == subject:
		return nil
	case err == nil:
		return conflict("user %s is linked to another subject of identity provider %s", user, provider)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("link subject: %w", err)
	}
	if _, err := t.exec(`INSERT INTO sso_links (provider_id, subject, user_id, created_at) VALUES (?, ?, ?, ?)`,
		provider, subject, user, toMicros(t.now)); err != nil {
		return fmt.Errorf("link subject: %w", err)
	}
	return t.logf(actor, "sso.link", "user:"+user, nil, map[string]string{"identity_provider": provider, "subject": subject})
}

// syncProviderGrant makes the provider's grant of the user on the sync
// account hold the sync role, creating, updating or deleting it; a grant
// of another source there is left alone.
func (t *wtx) syncProviderGrant(actor string, in store.SSOSignIn) error {
	source := "idp:" + in.Provider
	gs, err := t.reader().grantsWhere(`principal = ? AND account = ?`, "user:"+in.UserID, in.SyncAccount)
	if err != nil {
		return err
	}
	if len(gs) == 0 {
		if in.SyncRole == "" {
			return nil
		}
		return t.createSourcedGrant(actor, in.UserID, access.Grant{Account: in.SyncAccount, Role: in.SyncRole, Source: source,
			Scope: access.ScopeSubtree, Access: access.AccessReadWrite})
	}
	g := gs[0]
	switch {
	case g.Source != source, g.Role == in.SyncRole:
		return nil
	case in.SyncRole == "":
		return t.deleteGrantRow(actor, g)
	}
	before := g
	g.Role, g.UpdatedAt = in.SyncRole, t.now
	if _, err := t.exec(`UPDATE grants SET role = ?, updated_at = ? WHERE id = ?`, g.Role, toMicros(g.UpdatedAt), g.ID); err != nil {
		return fmt.Errorf("update grant: %w", err)
	}
	if err := t.change("grant", g.ID); err != nil {
		return err
	}
	return t.logf(actor, "grant.update", "grant:"+g.ID, before, g)
}
