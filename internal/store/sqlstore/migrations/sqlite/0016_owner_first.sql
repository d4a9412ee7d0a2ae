-- The owner index leads with the owner (#14, #16). Every query that reads
-- records_owner names both the type and the owner (or a set of owners) by
-- equality, so the order of the two columns changes no plan; but an index
-- build sorts its keys, and with the type first, the same in every key of
-- an import, each comparison of SQLite's sorter went past its fast path
-- for the leading column to a full decode of both keys. Owner first, the
-- rebuild after a million-record import took 1.4 s instead of 1.8-2.4 s
-- (README, "Bulk paths, tenth round"). On a large file this migration
-- rebuilds the index once (about 2 s a million records); the next open's
-- PRAGMA optimize gathers its statistics again.
DROP INDEX records_owner;
CREATE INDEX records_owner ON records (owner, type, dkey DESC, id DESC);
