-- Core schema: the access model (accounts, users, groups, grants, policy),
-- the revision and change log that keep nodes in step, tokens, sessions and
-- the hash-chained audit log. Instants are BIGINT microseconds since the
-- Unix epoch (UTC), as on SQLite. Keys use COLLATE "C" so that keyset
-- pagination orders by bytes whatever the database's locale.

-- revision holds the one global revision (row id 1). Every write
-- transaction increments it first; the row lock serializes writers.
CREATE TABLE revision (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    rev BIGINT NOT NULL
);
INSERT INTO revision (id, rev) VALUES (1, 0);

-- change_log lists the access-model entities each revision changed; the
-- primary key serves catch-up's "revision > applied" range scan.
CREATE TABLE change_log (
    revision BIGINT NOT NULL,
    kind     TEXT NOT NULL,
    key      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (revision, kind, key)
);

CREATE TABLE accounts (
    id              TEXT COLLATE "C" PRIMARY KEY,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL DEFAULT '',
    parent          TEXT COLLATE "C" REFERENCES accounts (id),
    external_access BOOLEAN NOT NULL DEFAULT FALSE,
    inherit         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
-- Children of an account (roots have parent NULL), in id order: the delete
-- blocker check and ListAccounts by parent.
CREATE INDEX accounts_parent ON accounts (parent, id);

CREATE TABLE users (
    id            TEXT COLLATE "C" PRIMARY KEY,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    -- email_lower is lower(email), NULL when there is no email; its unique
    -- index makes email unique case-insensitively and serves login.
    email_lower   TEXT UNIQUE,
    home_account  TEXT COLLATE "C" REFERENCES accounts (id),
    status        TEXT NOT NULL,
    staff_role    TEXT NOT NULL DEFAULT '',
    constraints   JSONB,
    password_hash TEXT NOT NULL DEFAULT '',
    password_at   BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
-- Users homed in an account: the delete blocker check and ListUsers by
-- home accounts.
CREATE INDEX users_home ON users (home_account, id);

CREATE TABLE user_groups (
    id         TEXT COLLATE "C" PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    account    TEXT COLLATE "C" REFERENCES accounts (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- Groups of an account: ListGroups by account and account deletion.
CREATE INDEX user_groups_account ON user_groups (account, id);

CREATE TABLE group_members (
    group_id TEXT COLLATE "C" NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id  TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
-- A user's memberships: user deletion.
CREATE INDEX group_members_user ON group_members (user_id, group_id);

CREATE TABLE grants (
    id          TEXT COLLATE "C" PRIMARY KEY,
    principal   TEXT COLLATE "C" NOT NULL,
    account     TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    role        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    access      TEXT NOT NULL,
    days_back   INTEGER,
    valid_from  BIGINT,
    valid_until BIGINT,
    notes       TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
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
    created_at BIGINT NOT NULL
);

CREATE TABLE tokens (
    id         TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL DEFAULT '',
    -- hash's unique index serves authentication (TokenByHash).
    hash       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used  BIGINT
);
-- A user's tokens: ListTokens and user deletion.
CREATE INDEX tokens_user ON tokens (user_id, id);

CREATE TABLE sessions (
    hash       TEXT PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL
);
-- A user's sessions: revocation on password change, disable and delete.
CREATE INDEX sessions_user ON sessions (user_id);

-- audit is the hash-chained log: hash = sha256 over prev_hash and the
-- entry's canonical fields (see audit.go). Ids are assigned in chain order
-- by the serialized writers, so no identity column is needed. before/after
-- are TEXT, not JSONB: the hash commits to their exact bytes.
CREATE TABLE audit (
    id          BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT COLLATE "C" NOT NULL,
    action      TEXT COLLATE "C" NOT NULL,
    target      TEXT COLLATE "C" NOT NULL,
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
