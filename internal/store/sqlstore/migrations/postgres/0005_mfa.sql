-- Multi-factor authentication (identity.md §6): accounts that require it
-- for the users homed below them, one TOTP secret per user (sealed by the
-- application, see auth.SecretBox), its recovery codes by hash, pending
-- second sign-in steps by the hash of their token, and sessions that may
-- only reach the enrolment pages until the user has enrolled.

ALTER TABLE accounts ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;

ALTER TABLE sessions ADD COLUMN mfa_enrol_only BOOLEAN NOT NULL DEFAULT FALSE;

-- mfa_totp holds a user's TOTP secret: pending (enabled_at NULL) from
-- enrolment until the first code confirms it. last_step is the newest
-- time step whose code was accepted; a code of that step or an older one
-- is refused (no replay).
CREATE TABLE mfa_totp (
    user_id    TEXT COLLATE "C" PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    enabled_at BIGINT,
    last_step  BIGINT NOT NULL DEFAULT 0
);

-- Recovery codes, by hash; used_at is set when one is spent.
CREATE TABLE mfa_recovery_codes (
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash    TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, hash)
);

-- Second sign-in steps in progress: the password was right, the code is
-- awaited. hash is the hash of the mfa_token.
CREATE TABLE mfa_challenges (
    hash       TEXT PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mfa_challenges_user ON mfa_challenges (user_id);
