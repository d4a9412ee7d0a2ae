-- Core schema: the access model (accounts, users, groups, grants, policy),
-- the revision and change log that keep engines in step, tokens, sessions
-- and the hash-chained audit log. Instants are INTEGER microseconds since
-- the Unix epoch (UTC); booleans are INTEGER 0/1; JSON is TEXT.

-- revision holds the one global revision (row id 1). Every write
-- transaction increments it first, which also serializes writers.
CREATE TABLE revision (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    rev INTEGER NOT NULL
);
INSERT INTO revision (id, rev) VALUES (1, 0);

-- change_log lists the access-model entities each revision changed; the
-- primary key serves catch-up's "revision > applied" range scan.
CREATE TABLE change_log (
    revision INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    key      TEXT NOT NULL,
    PRIMARY KEY (revision, kind, key)
) WITHOUT ROWID;

CREATE TABLE accounts (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL DEFAULT '',
    parent          TEXT REFERENCES accounts (id),
    external_access INTEGER NOT NULL DEFAULT 0,
    inherit         INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- Children of an account (roots have parent NULL), in id order: the delete
-- blocker check and ListAccounts by parent.
CREATE INDEX accounts_parent ON accounts (parent, id);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    -- email_lower is lower(email), NULL when there is no email; its unique
    -- index makes email unique case-insensitively and serves login.
    email_lower   TEXT UNIQUE,
    home_account  TEXT REFERENCES accounts (id),
    status        TEXT NOT NULL,
    staff_role    TEXT NOT NULL DEFAULT '',
    constraints   TEXT,
    password_hash TEXT NOT NULL DEFAULT '',
    password_at   INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
-- Users homed in an account: the delete blocker check and ListUsers by
-- home accounts.
CREATE INDEX users_home ON users (home_account, id);

CREATE TABLE user_groups (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    account    TEXT REFERENCES accounts (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- Groups of an account: ListGroups by account and account deletion.
CREATE INDEX user_groups_account ON user_groups (account, id);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
-- A user's memberships: user deletion.
CREATE INDEX group_members_user ON group_members (user_id, group_id);

CREATE TABLE grants (
    id          TEXT PRIMARY KEY,
    principal   TEXT NOT NULL,
    account     TEXT NOT NULL REFERENCES accounts (id),
    role        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    access      TEXT NOT NULL,
    days_back   INTEGER,
    valid_from  INTEGER,
    valid_until INTEGER,
    notes       TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- At most one grant per (principal, account); also serves ListGrants by
-- principal and the removal of a user's or group's grants.
CREATE UNIQUE INDEX grants_principal_account ON grants (principal, account);
-- Grants on an account, in id order: ListGrants by account, delete checks.
CREATE INDEX grants_account ON grants (account, id);
-- Roles in use, for policy changes.
CREATE INDEX grants_role ON grants (role);

CREATE TABLE policy_versions (
    version    INTEGER PRIMARY KEY,
    source     TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL DEFAULT '',
    -- hash's unique index serves authentication (TokenByHash).
    hash       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used  INTEGER
);
-- A user's tokens: ListTokens and user deletion.
CREATE INDEX tokens_user ON tokens (user_id, id);

CREATE TABLE sessions (
    hash       TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
) WITHOUT ROWID;
-- A user's sessions: revocation on password change, disable and delete.
CREATE INDEX sessions_user ON sessions (user_id);

-- audit is the hash-chained log: hash = sha256 over prev_hash and the
-- entry's canonical fields (see audit.go). Ids are assigned in chain order.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
-- Filters of ListAudit, each newest first by id.
CREATE INDEX audit_actor ON audit (actor, id);
CREATE INDEX audit_target ON audit (target, id);
CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_at ON audit (at, id);
