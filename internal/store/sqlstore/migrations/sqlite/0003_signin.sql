-- Sign-in bookkeeping and the user's language (identity.md §3):
-- last_login_at is the last successful sign-in (INTEGER microseconds since
-- the Unix epoch, NULL when never), written by RecordLogin without a
-- revision (it is not part of the access model); locale is en, de or zh.
ALTER TABLE users ADD COLUMN last_login_at INTEGER;
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT 'en';
