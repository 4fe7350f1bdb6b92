-- Rate limiting shared by every node: one row per counted attempt, and the
-- escalating lockout state of each bucket.
CREATE TABLE throttle_hits (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket TEXT NOT NULL,
    at     INTEGER NOT NULL
) STRICT;
CREATE INDEX throttle_hits_bucket_at ON throttle_hits (bucket, at);
CREATE INDEX throttle_hits_at ON throttle_hits (at);

CREATE TABLE throttle_state (
    bucket       TEXT PRIMARY KEY NOT NULL,
    level        INTEGER NOT NULL,
    locked_until INTEGER NOT NULL
) STRICT;
