-- The per-type number sequences of external creates (records.md §1): an
-- object type with number_field numbers a portal ticket or order as its
-- number_prefix and the next number (TK-10001, ...). last is the last
-- number handed out; the write transaction takes the next one (#12).
CREATE TABLE record_numbers (
    type TEXT PRIMARY KEY,
    last BIGINT NOT NULL
);
