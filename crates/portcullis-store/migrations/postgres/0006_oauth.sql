-- Token signing keys, OAuth 2.0 / OpenID Connect clients, authorization codes,
-- consents, and refresh-token families. Secrets (client secrets, codes, refresh
-- tokens) are stored only as SHA-256 hashes; private keys only sealed.
-- Timestamps are Unix seconds.
CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    alg            TEXT NOT NULL,
    public_key     BYTEA NOT NULL,
    -- XChaCha20-Poly1305 under the node-shared `signing_key_secret`.
    sealed_private BYTEA NOT NULL,
    created_at     BIGINT NOT NULL,
    retired_at     BIGINT
);

CREATE TABLE oauth_clients (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    secret_hash   BYTEA,
    -- One exact URI per line.
    redirect_uris TEXT NOT NULL,
    public        BOOLEAN NOT NULL,
    first_party   BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE oauth_codes (
    hash           BYTEA PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    auth_time      BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    -- The token family the code was exchanged for (revoked if the code comes back).
    family_id      TEXT
);
CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);

CREATE TABLE oauth_consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE token_families (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- NULL: issued by /api/v1/tokens.
    client_id  TEXT REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    auth_time  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- When its newest refresh token expires.
    expires_at BIGINT NOT NULL
);
CREATE INDEX token_families_user_id ON token_families (user_id);
CREATE INDEX token_families_client_id ON token_families (client_id);
CREATE INDEX token_families_expires_at ON token_families (expires_at);

CREATE TABLE refresh_tokens (
    hash       BYTEA PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
