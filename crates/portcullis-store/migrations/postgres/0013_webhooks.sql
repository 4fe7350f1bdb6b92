-- Webhooks (issue #22): endpoints registered by the operator, and the outbox of
-- deliveries, one row per event and endpoint, written with the change that causes
-- the event and sent by a worker on any node (claimed with a lease, like mails).
-- `events` is '*' for every type (including types added later) or a
-- comma-separated list of type names; `secret` is the signing secret sealed with
-- the node-shared sealing key. Timestamps are Unix seconds.
CREATE TABLE webhook_endpoints (
    id         TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,
    secret     BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- `event_id` is the `webhook-id` (the same for every endpoint of one event);
-- `user_id` orders deliveries: one for an endpoint and user is not tried while an
-- earlier one for them is pending. No foreign key to users: a deleted account's
-- `user.deleted` is still delivered.
CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    user_id         TEXT,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until    BIGINT,
    delivered_at    BIGINT,
    gave_up_at      BIGINT,
    last_error      TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, user_id, id)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (endpoint_id, event_id);
