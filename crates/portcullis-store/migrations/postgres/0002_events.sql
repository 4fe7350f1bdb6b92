-- The audit trail: one row per security event, newest = highest id.
CREATE TABLE events (
    id         BIGSERIAL PRIMARY KEY,
    user_id    TEXT,
    kind       TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    ip         TEXT,
    user_agent TEXT,
    detail     TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_user_id ON events (user_id, id);
CREATE INDEX events_created_at ON events (created_at);
