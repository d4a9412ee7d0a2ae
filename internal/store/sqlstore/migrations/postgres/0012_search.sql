-- The list search's candidate index (list search, PLANS.md "Search"): a
-- pg_trgm GIN index over each record's id and every string-valued
-- top-level attribute (record_search_text), maintained by PostgreSQL with
-- the row on every write path and built over the existing rows here. It is
-- independent of the policy, so a policy change needs no rebuild. The
-- index only proposes candidates: the list query keeps its ILIKE
-- predicate over the id and the allowed fields as the verifier, so a match
-- on a hidden field, or across the separator chr(31) between values, is
-- filtered out there.
--
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension
-- (PostgreSQL 13+): the database owner can create it; otherwise a
-- superuser runs CREATE EXTENSION pg_trgm once before migrating.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE FUNCTION record_search_text(id text, attributes jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT id || chr(31) || COALESCE((SELECT string_agg(e.value #>> '{}', chr(31))
        FROM jsonb_each(attributes) AS e WHERE jsonb_typeof(e.value) = 'string'), '')
$$;

CREATE INDEX records_search ON records USING gin (record_search_text(id, attributes) gin_trgm_ops);
