-- Passkeys (WebAuthn credentials) and the server-side state of unfinished WebAuthn
-- ceremonies. A ceremony row is found by the SHA-256 of its challenge (which the
-- browser echoes in clientDataJSON), deleted when it is used, and dies after a few
-- minutes, so a replayed response finds nothing. Timestamps are Unix seconds.
CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id BLOB NOT NULL,
    name          TEXT NOT NULL,
    -- The signature counter last seen (0 for authenticators that keep none).
    sign_count    INTEGER NOT NULL DEFAULT 0,
    -- webauthn-rs' serialised Passkey: public key, counter, flags (no secret).
    credential    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
) STRICT;
CREATE UNIQUE INDEX passkeys_credential_id ON passkeys (credential_id);
CREATE INDEX passkeys_user_id ON passkeys (user_id);

CREATE TABLE passkey_ceremonies (
    challenge_hash BLOB PRIMARY KEY NOT NULL,
    kind           TEXT NOT NULL,
    user_id        TEXT REFERENCES users (id) ON DELETE CASCADE,
    -- The session (SHA-256 of its cookie) the ceremony belongs to, if any.
    session_hash   BLOB,
    state          TEXT NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX passkey_ceremonies_expires_at ON passkey_ceremonies (expires_at);
