-- Sign-in by email (issue #21): one outstanding request per account (a newer one
-- replaces it), found by the SHA-256 of its link token or, with the account, by
-- the SHA-256 of its six-digit code; `code_attempts` counts the codes tried (the
-- fifth wrong one kills the request). Ten minutes of life; a request older than
-- the account's last password change is dead. Timestamps are Unix seconds.
CREATE TABLE email_signins (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash    BYTEA NOT NULL,
    code_hash     BYTEA NOT NULL,
    code_attempts BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX email_signins_token_hash ON email_signins (token_hash);
CREATE INDEX email_signins_expires_at ON email_signins (expires_at);

-- Devices each account signed in from (the new-device notice): the SHA-256 of the
-- account and the random id of the browser's device cookie, never the id itself.
CREATE TABLE known_devices (
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_hash   BYTEA NOT NULL,
    first_seen_at BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    client        TEXT NOT NULL,
    ip            TEXT,
    PRIMARY KEY (user_id, device_hash)
);
