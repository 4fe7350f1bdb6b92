//! What sessions need from storage.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::store::Rehash;
use crate::accounts::user::{User, UserId};
use crate::sessions::Session;
use crate::store::StoreError;
use crate::token::TokenHash;

pub struct NewSession<'a> {
    pub token_hash: TokenHash,
    pub session: &'a Session,
    /// The user's password hash to replace in the same transaction (a password
    /// sign-in whose stored hash was imported or made at another cost).
    pub rehash: Option<&'a Rehash>,
}

/// A session found by its token's hash, with its (not disabled) user.
#[derive(Debug, Clone)]
pub struct SessionWithUser {
    pub session: Session,
    pub user: User,
}

/// Browser sessions, looked up by the hash of their cookie value.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a session. A fully authenticated one (not `mfa_pending`) is a
    /// sign-in: the user's `last_sign_in_at` is set to its creation in the same
    /// transaction; so is the password hash of `rehash` (a half one too: its
    /// password step succeeded).
    async fn create_session(&self, new: NewSession<'_>) -> Result<(), StoreError>;
    /// The session and its user, unless the user is disabled.
    async fn find_session(&self, token_hash: TokenHash) -> Result<Option<SessionWithUser>, StoreError>;
    async fn touch_session(&self, token_hash: TokenHash, now: OffsetDateTime) -> Result<(), StoreError>;
    async fn delete_session(&self, token_hash: TokenHash) -> Result<(), StoreError>;
    /// Ends every sign-in of the user, in one transaction: sessions and
    /// refresh-token families (so the access tokens of those families too).
    /// Returns how many sessions. The webhook `event` is written in the same
    /// transaction.
    async fn delete_user_sessions(
        &self,
        user: UserId,
        event: Option<&crate::webhooks::WebhookEvent>,
    ) -> Result<u64, StoreError>;
    /// Deletes one of the user's sessions by public id, with the webhook `event` in
    /// the same transaction; false (and no event) if it is not theirs.
    async fn delete_session_by_id(
        &self,
        user: UserId,
        id: Uuid,
        event: Option<&crate::webhooks::WebhookEvent>,
    ) -> Result<bool, StoreError>;
    async fn list_sessions(&self, user: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StoreError>;
    /// Sessions not yet past their absolute or idle expiry.
    async fn count_active_sessions(&self, now: OffsetDateTime) -> Result<i64, StoreError>;
    /// Deletes sessions past their absolute or idle expiry; returns how many.
    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}
