-- Emailed tokens (verification, password reset, email change and its undo), stored
-- only as SHA-256 hashes, and the outbox of mails written with the change that
-- causes them. Timestamps are Unix seconds.
CREATE TABLE tokens (
    hash       BLOB PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The address the token is about: the new one for a change, the old one for an undo.
    new_email  TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX tokens_user ON tokens (user_id, kind, created_at);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The account the mail is about, if any (export and deletion find it by this).
    user_id         TEXT,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- Claimed by a worker until then.
    locked_until    INTEGER,
    sent_at         INTEGER,
    gave_up_at      INTEGER,
    last_error      TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX outbox_user_id ON outbox (user_id);
