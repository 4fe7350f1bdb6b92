//! What rate limits need from storage.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::store::StoreError;
use crate::throttle::{Limit, Throttle};

/// Rate-limit buckets shared by every node.
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// Counts an attempt in `bucket` if [`crate::throttle::decide`] allows it, in one
    /// transaction serialised per bucket across every node.
    async fn throttle(
        &self,
        bucket: &str,
        limit: Limit,
        escalate: bool,
        now: OffsetDateTime,
    ) -> Result<Throttle, StoreError>;
    /// Un-counts one allowed attempt (it turned out to be a success).
    async fn unthrottle(&self, hit: i64) -> Result<(), StoreError>;
    /// Forgets a bucket's attempts and lockouts.
    async fn reset_throttle(&self, bucket: &str) -> Result<(), StoreError>;
    /// Deletes attempts counted before `before` and lockouts that ended before it.
    async fn purge_throttle(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
