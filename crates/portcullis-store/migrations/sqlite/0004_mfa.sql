-- Multi-factor authentication: TOTP secrets (encrypted), single-use recovery codes
-- (hashed), and half-authenticated sessions waiting for their second factor.
ALTER TABLE sessions ADD COLUMN mfa_pending INTEGER NOT NULL DEFAULT 0;

CREATE TABLE totp (
    user_id    TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret     BLOB NOT NULL,
    confirmed  INTEGER NOT NULL DEFAULT 0,
    last_step  INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE recovery_codes (
    code_hash BLOB PRIMARY KEY NOT NULL,
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    used_at   INTEGER
) STRICT;
CREATE INDEX recovery_codes_user_id ON recovery_codes (user_id);
