-- Token signing keys, OAuth 2.0 / OpenID Connect clients, authorization codes,
-- consents, and refresh-token families. Secrets (client secrets, codes, refresh
-- tokens) are stored only as SHA-256 hashes; private keys only sealed.
-- Timestamps are Unix seconds.
CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY NOT NULL,
    alg            TEXT NOT NULL,
    public_key     BLOB NOT NULL,
    -- XChaCha20-Poly1305 under the node-shared `signing_key_secret`.
    sealed_private BLOB NOT NULL,
    created_at     INTEGER NOT NULL,
    retired_at     INTEGER
) STRICT;

CREATE TABLE oauth_clients (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    secret_hash   BLOB,
    -- One exact URI per line.
    redirect_uris TEXT NOT NULL,
    public        INTEGER NOT NULL,
    first_party   INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE oauth_codes (
    hash           BLOB PRIMARY KEY NOT NULL,
    client_id      TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    auth_time      INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    -- The token family the code was exchanged for (revoked if the code comes back).
    family_id      TEXT
) STRICT;
CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);

CREATE TABLE oauth_consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT;

CREATE TABLE token_families (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- NULL: issued by /api/v1/tokens.
    client_id  TEXT REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    auth_time  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    -- When its newest refresh token expires.
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX token_families_user_id ON token_families (user_id);
CREATE INDEX token_families_client_id ON token_families (client_id);
CREATE INDEX token_families_expires_at ON token_families (expires_at);

CREATE TABLE refresh_tokens (
    hash       BLOB PRIMARY KEY NOT NULL,
    family_id  TEXT NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
