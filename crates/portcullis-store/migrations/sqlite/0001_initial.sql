-- Users, sessions and node-shared secrets. Timestamps are Unix seconds.
CREATE TABLE users (
    id                  TEXT PRIMARY KEY NOT NULL,
    email               TEXT NOT NULL,
    email_canonical     TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    email_verified      INTEGER NOT NULL DEFAULT 0,
    is_admin            INTEGER NOT NULL DEFAULT 0,
    disabled            INTEGER NOT NULL DEFAULT 0,
    mfa_enabled         INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_email_canonical ON users (email_canonical);

CREATE TABLE sessions (
    token_hash        BLOB PRIMARY KEY NOT NULL,
    public_id         TEXT NOT NULL,
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at        INTEGER NOT NULL,
    last_seen_at      INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    idle_timeout_secs INTEGER NOT NULL,
    remember          INTEGER NOT NULL,
    authenticated_at  INTEGER NOT NULL,
    ip                TEXT,
    user_agent        TEXT
) STRICT;
CREATE UNIQUE INDEX sessions_public_id ON sessions (public_id);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE secrets (
    name       TEXT PRIMARY KEY NOT NULL,
    value      BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
