-- Upstream sign-in (SPEC §10): identities linked to accounts (one upstream
-- identity, issuer + subject, belongs to at most one account), flows started and
-- not finished yet (found by the SHA-256 of their `state`, taken once, dead after
-- ten minutes), and identities waiting for the owner of the account with their
-- address to sign in (found by the SHA-256 of the browser's link cookie).
-- Timestamps are Unix seconds.
CREATE TABLE identities (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider     TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    email        TEXT,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE UNIQUE INDEX identities_issuer_subject ON identities (issuer, subject);
CREATE INDEX identities_user_id ON identities (user_id);

CREATE TABLE upstream_flows (
    state_hash    BYTEA PRIMARY KEY,
    provider      TEXT NOT NULL,
    browser_hash  BYTEA NOT NULL,
    nonce         TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    next          TEXT,
    link_to       TEXT REFERENCES users (id) ON DELETE CASCADE,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX upstream_flows_expires_at ON upstream_flows (expires_at);

CREATE TABLE upstream_links (
    token_hash     BYTEA PRIMARY KEY,
    provider       TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    email          TEXT,
    email_verified BOOLEAN NOT NULL,
    second_factor  BOOLEAN NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX upstream_links_expires_at ON upstream_links (expires_at);
