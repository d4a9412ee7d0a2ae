-- An audit entry written by a store opened with an audit key (--audit-key)
-- is chained with HMAC-SHA256 under that key instead of SHA-256 (#12);
-- keyed says which. Entries before the key stay as they were.
ALTER TABLE audit ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0;
