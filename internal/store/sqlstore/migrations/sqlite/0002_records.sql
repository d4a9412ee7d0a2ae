-- Records (DESIGN.md §1 Records) and their team entries. A record is one
-- row; its sort and filter key dkey is derived from date when written:
-- '' for an undated record, 'YYYY-MM-DD' for a date, and the UTC instant as
-- fixed-width 'YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ' for an instant. So
-- dkey >= 'YYYY-MM-DD' is exactly "UTC day on or after", a days_back cutoff
-- is one range condition, and '' sorts below every date (undated records
-- come last in a newest-first scan). Instants are INTEGER microseconds since
-- the Unix epoch (UTC); JSON is TEXT.
--
-- Which index serves which query is noted next to each one; PLANS.md shows
-- the plans and plan_test.go keeps them from regressing to full scans.
CREATE TABLE records (
    pk          INTEGER PRIMARY KEY,
    type        TEXT NOT NULL,
    id          TEXT NOT NULL,
    -- owner is the External Owner account, NULL for none.
    owner       TEXT,
    -- date is the record's date as given ('' for none); dkey its sort key.
    date        TEXT NOT NULL DEFAULT '',
    dkey        TEXT NOT NULL DEFAULT '',
    parent_type TEXT,
    parent_id   TEXT,
    -- teams is the JSON array of team entries as given (NULL for none), so
    -- that a page is read in one query; record_teams indexes the same
    -- entries for the team branches of a list.
    teams       TEXT,
    creator     TEXT,
    attributes  TEXT NOT NULL DEFAULT '{}',
    updated_at  INTEGER NOT NULL,
    revision    INTEGER NOT NULL
);

-- (type, id) is the record's key: GetRecord, GetRecords, upserts, deletes,
-- the join from a page's keys back to its rows, a shared child's parent
-- lookup, and lists sorted by id (the plan for large account sets).
CREATE UNIQUE INDEX records_type_id ON records (type, id);

-- Owner lists: "owner IN (...) [AND dkey range] ORDER BY dkey DESC, id DESC
-- LIMIT n" reads each account's newest rows from this index alone and
-- stops each IN range at the limit; a single account needs no sort at all.
-- Also a days_back cutoff (dkey >= cutoff) and date_from/date_to.
CREATE INDEX records_owner ON records (type, owner, dkey DESC, id DESC);

-- Staff lists and large account sets: a scan of one type in date order
-- that stops after one page; owner trails so that filtering a large
-- account set needs no table lookup for the rows it rejects.
CREATE INDEX records_date ON records (type, dkey, id, owner);

-- Sharing: the children of visible parents (parent_id IN (...)).
CREATE INDEX records_parent ON records (parent_type, parent_id) WHERE parent_id IS NOT NULL;

-- updated_since and sort=updated_at (an ERP pulling what changed).
CREATE INDEX records_updated ON records (type, updated_at, id);

-- Team entries, "user:<id>" or "account:<id>", one row per entry.
CREATE TABLE record_teams (
    record_pk INTEGER NOT NULL REFERENCES records (pk) ON DELETE CASCADE,
    principal TEXT NOT NULL,
    access    TEXT NOT NULL,
    -- The primary key serves replacing a record's entries and the
    -- per-record EXISTS of the large-account-set plan.
    PRIMARY KEY (record_pk, principal)
) WITHOUT ROWID;

-- Team branches of a list: the records naming a user or one of the
-- user's accounts.
CREATE INDEX record_teams_principal ON record_teams (principal, record_pk);
