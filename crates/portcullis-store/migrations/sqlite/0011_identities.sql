-- Upstream sign-in (SPEC §10): identities linked to accounts (one upstream
-- identity, issuer + subject, belongs to at most one account), flows started and
-- not finished yet (found by the SHA-256 of their `state`, taken once, dead after
-- ten minutes), and identities waiting for the owner of the account with their
-- address to sign in (found by the SHA-256 of the browser's link cookie).
-- Timestamps are Unix seconds.
CREATE TABLE identities (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider     TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    email        TEXT,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;
CREATE UNIQUE INDEX identities_issuer_subject ON identities (issuer, subject);
CREATE INDEX identities_user_id ON identities (user_id);

CREATE TABLE upstream_flows (
    state_hash    BLOB PRIMARY KEY NOT NULL,
    provider      TEXT NOT NULL,
    browser_hash  BLOB NOT NULL,
    nonce         TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    next          TEXT,
    link_to       TEXT REFERENCES users (id) ON DELETE CASCADE,
    expires_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX upstream_flows_expires_at ON upstream_flows (expires_at);

CREATE TABLE upstream_links (
    token_hash     BLOB PRIMARY KEY NOT NULL,
    provider       TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    email          TEXT,
    email_verified INTEGER NOT NULL,
    second_factor  INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX upstream_links_expires_at ON upstream_links (expires_at);
