-- The list search's candidate index (0012) rebuilt cheaper to write
-- (#16, #14): the same FTS5 trigram index over each record's id and every
-- string-valued top-level attribute, keyed by records.pk, with three
-- changes (searchindex.go, PLANS.md "Search"):
--
-- detail = none: the index keeps which rows hold a trigram, not where.
-- The candidate query is then the AND of the term's trigrams instead of
-- a phrase (a superset of the phrase's rows, still a superset of the
-- verifier's matches, which the list's LIKE predicate rechecks anyway);
-- the postings are a fraction of the size.
--
-- Eight columns: v0 the id, v1 to v6 one string value each, v7 the rest
-- joined by char(31). The tokenizer makes trigrams within a column, so
-- values in columns of their own add none across their boundaries (a
-- third of the trigrams of one joined body).
--
-- No triggers: the store writes and deletes a record's entry in the
-- same transaction as the record (searchindex.go: putRow and
-- DeleteRecord for one record, multi-row statements of a few thousand
-- entries for a whole batch or import chunk). FTS5 flushes its pending
-- entries into a new segment at every statement savepoint, so the
-- triggers of the batch's per-row and 400-row statements wrote a small
-- segment each and spent most of an import's CPU merging them (and made
-- every INSERT into records keep a statement journal).
DROP TRIGGER record_search_insert;
DROP TRIGGER record_search_update;
DROP TRIGGER record_search_delete;
DROP TABLE record_search;

CREATE VIRTUAL TABLE record_search USING fts5(v0, v1, v2, v3, v4, v5, v6, v7,
    tokenize = 'trigram', content = '', contentless_delete = 1, detail = none);

-- Backfill, one statement (sqliteSearchColumnsSQL).
INSERT INTO record_search (rowid, v0, v1, v2, v3, v4, v5, v6, v7)
SELECT r.pk, r.id,
    (SELECT value FROM json_each(r.attributes) WHERE type = 'text' LIMIT 1 OFFSET 0),
    (SELECT value FROM json_each(r.attributes) WHERE type = 'text' LIMIT 1 OFFSET 1),
    (SELECT value FROM json_each(r.attributes) WHERE type = 'text' LIMIT 1 OFFSET 2),
    (SELECT value FROM json_each(r.attributes) WHERE type = 'text' LIMIT 1 OFFSET 3),
    (SELECT value FROM json_each(r.attributes) WHERE type = 'text' LIMIT 1 OFFSET 4),
    (SELECT value FROM json_each(r.attributes) WHERE type = 'text' LIMIT 1 OFFSET 5),
    (SELECT group_concat(value, char(31)) FROM (SELECT value FROM json_each(r.attributes) WHERE type = 'text' LIMIT -1 OFFSET 6))
FROM records r;
