-- Rate limiting shared by every node: one row per counted attempt, and the
-- escalating lockout state of each bucket.
CREATE TABLE throttle_hits (
    id     BIGSERIAL PRIMARY KEY,
    bucket TEXT NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX throttle_hits_bucket_at ON throttle_hits (bucket, at);
CREATE INDEX throttle_hits_at ON throttle_hits (at);

CREATE TABLE throttle_state (
    bucket       TEXT PRIMARY KEY,
    level        BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
