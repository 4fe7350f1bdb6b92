-- Multi-factor authentication: TOTP secrets (encrypted), single-use recovery codes
-- (hashed), and half-authenticated sessions waiting for their second factor.
ALTER TABLE sessions ADD COLUMN mfa_pending BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE totp (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     BYTEA NOT NULL,
    confirmed  BOOLEAN NOT NULL DEFAULT FALSE,
    last_step  BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    code_hash BYTEA PRIMARY KEY,
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    used_at   BIGINT
);
CREATE INDEX recovery_codes_user_id ON recovery_codes (user_id);
