-- Access reviews (governance.md §2). A review covers one account's
-- subtree; its items are the direct user grants and the memberships of
-- the subtree's account groups at the time of creation, each copied whole
-- (role, level, limits) so the review shows what was reviewed even after
-- the grant changes. reviewer on an item is the review's reviewer or
-- 'staff' (the grant's level is above the reviewer's). status is open or
-- closed; closing is a conditional update (WHERE status = 'open'), so a
-- review closes once whichever node gets there first. outcome is set at
-- closing: kept, revoked or gone (the grant or membership no longer
-- existed). No foreign keys: a review is a record of what was decided and
-- outlives the users, grants and accounts it names.
CREATE TABLE reviews (
    id           TEXT PRIMARY KEY,
    account      TEXT NOT NULL,
    reviewer     TEXT NOT NULL,
    due          INTEGER NOT NULL,
    on_no_answer TEXT NOT NULL,
    schedule     TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    previous     TEXT NOT NULL DEFAULT '',
    next         TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    reminded_at  INTEGER,
    closed_at    INTEGER,
    closed_by    TEXT NOT NULL DEFAULT ''
);
-- The due-date loop's scan and the lists by account.
CREATE INDEX reviews_due ON reviews (status, due);
CREATE INDEX reviews_account ON reviews (account, id);

CREATE TABLE review_items (
    review_id   TEXT NOT NULL REFERENCES reviews (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    account     TEXT NOT NULL,
    grant_id    TEXT NOT NULL DEFAULT '',
    group_id    TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL,
    level       INTEGER NOT NULL,
    protected   INTEGER NOT NULL DEFAULT 0,
    scope       TEXT NOT NULL DEFAULT '',
    access      TEXT NOT NULL DEFAULT '',
    days_back   INTEGER,
    valid_from  INTEGER,
    valid_until INTEGER,
    reviewer    TEXT NOT NULL,
    decision    TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    decided_by  TEXT NOT NULL DEFAULT '',
    decided_at  INTEGER,
    outcome     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (review_id, seq)
);
