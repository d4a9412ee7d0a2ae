-- Single sign-on per customer with OpenID Connect (identity.md §7).
--
-- identity_providers holds one provider per row. account is the customer
-- whose users sign in through it (NULL for the supplier's own staff);
-- config is the rest of its settings as JSON (issuer, client id, scopes,
-- domains, local_passwords, jit, claims, group_roles, max_role);
-- client_secret is sealed by the application (auth.SecretBox, --mfa-key)
-- and never leaves the server.
CREATE TABLE identity_providers (
    id            TEXT PRIMARY KEY,
    account       TEXT,
    config        TEXT NOT NULL,
    client_secret TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- An email domain belongs to at most one provider (home-realm discovery).
CREATE TABLE identity_provider_domains (
    domain      TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE
);
CREATE INDEX identity_provider_domains_provider ON identity_provider_domains (provider_id);

-- sso_links ties a provider's subject (the ID token's sub) to one user;
-- a user has at most one subject per provider.
CREATE TABLE sso_links (
    provider_id TEXT NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
    subject     TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (provider_id, subject)
);
CREATE UNIQUE INDEX sso_links_user ON sso_links (user_id, provider_id);

-- source tells who keeps a grant: '' for grants made by hand (API,
-- console, portal, invitations), 'idp:<id>' for those a provider's
-- group_roles keep in step with its groups claim, 'jit:<id>' for the
-- first grant of a user a provider created.
ALTER TABLE grants ADD COLUMN source TEXT NOT NULL DEFAULT '';
