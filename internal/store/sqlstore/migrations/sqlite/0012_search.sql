-- The list search's candidate index (list search, PLANS.md "Search"): an
-- FTS5 trigram index over each record's id and every string-valued
-- top-level attribute, keyed by the records' row key (rowid = records.pk).
-- It is independent of the policy (which fields a viewer may search is
-- decided per query), so a policy change needs no rebuild. The index only
-- proposes candidates: the list query keeps its LIKE predicate over the
-- id and the allowed fields as the verifier, so a match on a hidden field,
-- or across the separator char(31) between values, is filtered out there.
-- Contentless with contentless_delete (SQLite 3.43+): the text lives in
-- records alone; triggers keep the index in step with every write path
-- (single writes, batches, the bulk import, deletes).
CREATE VIRTUAL TABLE record_search USING fts5(body, tokenize = 'trigram', content = '', contentless_delete = 1);

CREATE TRIGGER record_search_insert AFTER INSERT ON records BEGIN
    INSERT INTO record_search (rowid, body) VALUES (NEW.pk, NEW.id || char(31) ||
        COALESCE((SELECT group_concat(value, char(31)) FROM json_each(NEW.attributes) WHERE type = 'text'), ''));
END;

CREATE TRIGGER record_search_update AFTER UPDATE OF id, attributes ON records
WHEN OLD.id IS NOT NEW.id OR OLD.attributes IS NOT NEW.attributes BEGIN
    DELETE FROM record_search WHERE rowid = OLD.pk;
    INSERT INTO record_search (rowid, body) VALUES (NEW.pk, NEW.id || char(31) ||
        COALESCE((SELECT group_concat(value, char(31)) FROM json_each(NEW.attributes) WHERE type = 'text'), ''));
END;

CREATE TRIGGER record_search_delete AFTER DELETE ON records BEGIN
    DELETE FROM record_search WHERE rowid = OLD.pk;
END;

-- Backfill.
INSERT INTO record_search (rowid, body)
SELECT pk, id || char(31) || COALESCE((SELECT group_concat(value, char(31)) FROM json_each(records.attributes) WHERE type = 'text'), '')
FROM records;
