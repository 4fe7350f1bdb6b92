//! What the mail outbox needs from storage.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::accounts::user::UserId;
use crate::mail::{MailSummary, NewMail, OutboxStats, QueuedMail};
use crate::store::StoreError;

/// The outbox: mails written with the change that causes them, delivered later by
/// a worker on any node. Claiming is exclusive across nodes (PostgreSQL `FOR UPDATE
/// SKIP LOCKED`, SQLite `BEGIN IMMEDIATE`) and leased, so a mail goes out once.
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    async fn enqueue_mail(&self, mail: &NewMail) -> Result<(), StoreError>;
    /// Claims up to `limit` due mails until `lease_until`, oldest first.
    async fn claim_mails(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<QueuedMail>, StoreError>;
    async fn mark_mail_sent(&self, id: i64, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Records a failed attempt: retried at `retry_at`, or given up on when `None`.
    async fn mark_mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn outbox_stats(&self, now: OffsetDateTime) -> Result<OutboxStats, StoreError>;
    /// Mails about a user (for the data export), newest first.
    async fn list_mails(&self, user: UserId) -> Result<Vec<MailSummary>, StoreError>;
    /// Deletes mails sent or given up on before `before`; returns how many.
    async fn purge_outbox(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
