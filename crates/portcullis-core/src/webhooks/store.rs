//! What webhooks need from storage.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::store::StoreError;
use crate::webhooks::{Endpoint, NewEndpoint, QueuedDelivery, WebhookEvent, WebhookStats};

/// Endpoints and the outbox of deliveries. Claiming is exclusive across nodes
/// (PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite `BEGIN IMMEDIATE`) and leased, and
/// never takes a delivery while an earlier one for the same endpoint and user is
/// pending, so each endpoint sees a user's events once and in order.
#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    async fn create_endpoint(&self, endpoint: &NewEndpoint) -> Result<(), StoreError>;
    /// Every endpoint, oldest first.
    async fn list_endpoints(&self) -> Result<Vec<Endpoint>, StoreError>;
    /// The endpoint with its sealed secret.
    async fn find_endpoint(&self, id: &str) -> Result<Option<(Endpoint, Vec<u8>)>, StoreError>;
    /// Deletes the endpoint and its deliveries; false if no such endpoint.
    async fn delete_endpoint(&self, id: &str) -> Result<bool, StoreError>;
    /// Writes one delivery of `event` for every endpoint that takes its type
    /// (none when no endpoint does), in a transaction of its own; returns how
    /// many. No use case calls it now (each event is written in its change's
    /// transaction); the conformance tests use it to fill the outbox.
    async fn enqueue_webhook_event(&self, event: &WebhookEvent) -> Result<u64, StoreError>;
    /// Claims up to `limit` due deliveries until `lease_until`, oldest first, at
    /// most one per endpoint and user: the earliest still pending.
    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<QueuedDelivery>, StoreError>;
    async fn mark_delivered(&self, id: i64, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Records a failed attempt: retried at `retry_at`, or given up on when `None`.
    async fn mark_delivery_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn webhook_stats(&self, now: OffsetDateTime) -> Result<WebhookStats, StoreError>;
    /// Deletes deliveries done or given up on before `before`; returns how many.
    async fn purge_deliveries(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
