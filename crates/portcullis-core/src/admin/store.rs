//! What administration needs from storage: the two listings, each one indexed
//! range in key order (no offset, no scan of the table). The changes are the
//! areas' own (`UserStore`, `GroupStore`, `SessionStore`, `MfaStore`).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::accounts::user::UserId;
use crate::admin::{AdminUser, EmailRange, EventCursor, Overview, UserCursor};
use crate::audit::{Event, EventKind};
use crate::store::StoreError;

/// The admin views of users and of the audit trail.
#[async_trait]
pub trait AdminStore: Send + Sync + 'static {
    /// At most `limit` users, newest first (`created_at` DESC, `id` DESC), after
    /// `after`, whose canonical address is in `email` when given. `now` decides
    /// which sessions count as active.
    async fn admin_users(
        &self,
        email: Option<&EmailRange>,
        after: Option<UserCursor>,
        limit: u32,
        now: OffsetDateTime,
    ) -> Result<Vec<AdminUser>, StoreError>;
    async fn admin_user(&self, id: UserId, now: OffsetDateTime) -> Result<Option<AdminUser>, StoreError>;
    /// At most `limit` events, newest (highest id) first, after `after`, of `user`
    /// and of `kind` when given.
    async fn admin_events(
        &self,
        user: Option<UserId>,
        kind: Option<EventKind>,
        after: Option<EventCursor>,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError>;
    /// The overview's counts: accounts and active sessions now, sign-in events
    /// since `since`, per-account lockouts still running at `now`.
    async fn admin_overview(
        &self,
        since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Overview, StoreError>;
}
