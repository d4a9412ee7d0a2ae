-- The parent index covers what a sharing branch filters its children by
-- (type, owner, dkey, creator, and pk for the team entries), so that the
-- impact preview's count of a parent's children can be an index-only
-- scan (PLANS.md "Impact preview"). The key stays (parent_type,
-- parent_id): the other columns are only carried.
DROP INDEX records_parent;
CREATE INDEX records_parent ON records (parent_type, parent_id) INCLUDE (type, owner, dkey, creator, pk) WHERE parent_id IS NOT NULL;
