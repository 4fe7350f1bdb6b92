//! What the audit trail needs from storage.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::accounts::user::UserId;
use crate::audit::{Event, NewEvent};
use crate::store::StoreError;

/// The audit trail: appended to, read newest first, purged by age.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Appends to the audit trail.
    async fn insert_event(&self, event: &NewEvent) -> Result<(), StoreError>;
    /// Events newest first: one user's, or everyone's when `user` is `None`.
    async fn list_events(&self, user: Option<UserId>, limit: i64) -> Result<Vec<Event>, StoreError>;
    /// Deletes events older than `before`; returns how many.
    async fn purge_events(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
