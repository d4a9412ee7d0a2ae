-- The search index's backlog (#14, #16; searchbacklog.go): the row keys
-- of records whose entries in record_search (0014) are not written yet.
-- A batch or import chunk that inserts many records writes the range of
-- their keys here instead of their entries, and the store's indexer
-- writes the entries behind it, a range at a time, deleting what it has
-- written. A key in the backlog has no entry; while the backlog is not
-- empty the list search takes its scan plan (the LIKE verifier over the
-- rows), so no record is missed.
--
-- The ranges are disjoint and not adjacent (lo <= hi; the store merges
-- them). PostgreSQL has no backlog: its GIN index is kept by the
-- database.
CREATE TABLE search_backlog (
    lo INTEGER PRIMARY KEY,
    hi INTEGER NOT NULL CHECK (hi >= lo)
);
