-- The conversation and files of records (records.md §2). Both hang off the
-- record's row (records.pk) and go with it: deleting a record deletes its
-- comments and files, so a record created again under the same id starts
-- without them. Instants are BIGINT microseconds since the Unix epoch
-- (UTC); keys compare bytewise (COLLATE "C").

-- Comments, immutable once posted. author is the user id and author_kind
-- its kind when it posted (internal comments' authors stay "the supplier"
-- even when the user is deleted later); internal comments are for staff.
CREATE TABLE record_comments (
    id          TEXT COLLATE "C" PRIMARY KEY,
    record_pk   BIGINT NOT NULL REFERENCES records (pk) ON DELETE CASCADE,
    record_type TEXT COLLATE "C" NOT NULL,
    record_id   TEXT COLLATE "C" NOT NULL,
    author      TEXT COLLATE "C" NOT NULL,
    author_kind TEXT NOT NULL,
    body        TEXT NOT NULL,
    internal    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL
);
-- A record's conversation, oldest first.
CREATE INDEX record_comments_record ON record_comments (record_pk, created_at, id);
-- The staff feed: comments created at or after updated_since.
CREATE INDEX record_comments_created ON record_comments (created_at, id);

-- Files: the bytes are stored in the database, one row per (record, name).
CREATE TABLE record_files (
    record_pk    BIGINT NOT NULL REFERENCES records (pk) ON DELETE CASCADE,
    name         TEXT COLLATE "C" NOT NULL,
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    data         BYTEA NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (record_pk, name)
);
