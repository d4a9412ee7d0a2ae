-- SCIM 2.0 provisioning per customer (identity.md §8). A SCIM token is
-- scoped to one account's subtree with a highest role (max_role) and a map
-- from SCIM group displayName to role (group_roles, a JSON object); only
-- its hash is stored. scim_users keeps the externalId a SCIM client gave
-- a user; scim_groups marks the groups a token created (the only groups
-- it sees) with their externalId. Both go with their user or group.

CREATE TABLE scim_tokens (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    account     TEXT NOT NULL REFERENCES accounts (id),
    max_role    TEXT NOT NULL,
    group_roles TEXT NOT NULL DEFAULT '{}',
    hash        TEXT NOT NULL UNIQUE,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);

CREATE TABLE scim_users (
    user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL DEFAULT ''
);

CREATE TABLE scim_groups (
    group_id    TEXT PRIMARY KEY REFERENCES user_groups (id) ON DELETE CASCADE,
    token_id    TEXT NOT NULL,
    external_id TEXT NOT NULL DEFAULT ''
);

CREATE INDEX scim_groups_token ON scim_groups (token_id, group_id);
