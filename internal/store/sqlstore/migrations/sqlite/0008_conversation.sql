-- The conversation and files of records (records.md §2). Both hang off the
-- record's row (records.pk) and go with it: deleting a record deletes its
-- comments and files (foreign keys are on for every connection), so a
-- record created again under the same id starts without them. Instants
-- are INTEGER microseconds since the Unix epoch (UTC).

-- Comments, immutable once posted. author is the user id and author_kind
-- its kind when it posted (internal comments' authors stay "the supplier"
-- even when the user is deleted later); internal comments are for staff.
CREATE TABLE record_comments (
    id          TEXT PRIMARY KEY,
    record_pk   INTEGER NOT NULL REFERENCES records (pk) ON DELETE CASCADE,
    record_type TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    author      TEXT NOT NULL,
    author_kind TEXT NOT NULL,
    body        TEXT NOT NULL,
    internal    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
-- A record's conversation, oldest first.
CREATE INDEX record_comments_record ON record_comments (record_pk, created_at, id);
-- The staff feed: comments created at or after updated_since.
CREATE INDEX record_comments_created ON record_comments (created_at, id);

-- Files: the bytes are stored in the database, one row per (record, name).
CREATE TABLE record_files (
    record_pk    INTEGER NOT NULL REFERENCES records (pk) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    data         BLOB NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (record_pk, name)
);
