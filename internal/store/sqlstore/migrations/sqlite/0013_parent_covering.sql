-- The parent index covers what a sharing branch filters its children by
-- (type, owner, dkey, creator; the rowid is in every index), so that the
-- impact preview's count of a parent's children, and its per-row filter
-- of the other predicate, read no table row (PLANS.md "Impact preview").
-- At large (10M records) a preview's shared branch reads 200,000 parents'
-- children; without these columns each child cost a table seek.
DROP INDEX records_parent;
CREATE INDEX records_parent ON records (parent_type, parent_id, type, owner, dkey, creator) WHERE parent_id IS NOT NULL;
