-- Mail, invitations and password resets (identity.md §1-§3).

-- The transactional outbox: a message is inserted in the transaction of
-- the change that causes it and delivered later by one sender per node.
-- status: not_sent (no SMTP configured), pending, sent, failed. A sender
-- claims a pending row by setting claimed_by and claimed_until (a lease);
-- only the claimant may finish it. secret replaces the link marker in the
-- bodies when the message is delivered and is NULL once it was.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    user_id         TEXT NOT NULL DEFAULT '',
    locale          TEXT NOT NULL DEFAULT 'en',
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    secret          TEXT,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    claimed_by      TEXT,
    claimed_until   INTEGER,
    sent_at         INTEGER
);
-- The sender's scan of due messages.
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
-- The console's list, newest first.
CREATE INDEX outbox_created ON outbox (created_at, id);

-- Invitations: the token is stored hashed (token_hash, NULL once the
-- invitation is accepted or revoked); status pending, accepted or revoked
-- (expired is a pending one past expires_at).
CREATE TABLE invitations (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    home_account TEXT NOT NULL DEFAULT '',
    locale       TEXT NOT NULL DEFAULT 'en',
    token_hash   TEXT UNIQUE,
    status       TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    accepted_at  INTEGER
);
CREATE INDEX invitations_user ON invitations (user_id);
CREATE INDEX invitations_home ON invitations (home_account, id);

-- Password reset tokens, stored hashed, single use.
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX password_resets_user ON password_resets (user_id);
