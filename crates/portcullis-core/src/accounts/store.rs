//! What accounts need from storage.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::accounts::user::{Credentials, User, UserId};
use crate::mail::NewMail;
use crate::store::StoreError;
use crate::token::TokenHash;
use crate::token::store::NewToken;
use crate::webhooks::WebhookEvent;

pub struct NewUser<'a> {
    pub id: UserId,
    pub email: &'a str,
    pub email_canonical: &'a str,
    pub password_hash: &'a str,
    pub email_verified: bool,
    /// Groups the user starts in (they must exist).
    pub groups: &'a [crate::groups::GroupName],
    pub created_at: OffsetDateTime,
}

/// A stored hash to replace, at a sign-in, in the transaction that records it
/// (SPEC §4, §9): an imported hash or one at an old cost becomes Argon2id at the
/// configured cost. Skipped when the stored hash is no longer `old` (the
/// password changed meanwhile).
#[derive(Clone)]
pub struct Rehash {
    pub user: UserId,
    pub old: String,
    pub new: String,
}

impl std::fmt::Debug for Rehash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rehash").field("user", &self.user).finish_non_exhaustive()
    }
}

/// What a change that can take an administrator away did: disabling or deleting
/// a user, removing a member from `admin`. It is refused when it would leave no
/// enabled administrator, decided inside the change's own write transaction (on
/// PostgreSQL under an advisory lock that every such change takes; SQLite has one
/// writer at a time), so two concurrent changes cannot both pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    Changed,
    /// Nothing to change: no such user, or not a member.
    Unchanged,
    /// Refused: it would leave no enabled administrator.
    LastAdmin,
}

/// Users and their credentials.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Inserts a user, with its verification token and mail and its webhook
    /// event when given, in one transaction; a taken email is `Conflict("email")`,
    /// decided by the unique index.
    async fn create_user(
        &self,
        user: NewUser<'_>,
        verification: Option<(&NewToken, &NewMail)>,
        event: Option<&WebhookEvent>,
    ) -> Result<User, StoreError>;
    async fn find_credentials_by_email(
        &self,
        email_canonical: &str,
    ) -> Result<Option<Credentials>, StoreError>;
    async fn find_credentials_by_id(&self, id: UserId) -> Result<Option<Credentials>, StoreError>;
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    /// Disables (and ends every session and token family of) or re-enables a user,
    /// with the webhook `event` in the same transaction; `Unchanged` (and no event)
    /// if no such user. Disabling the last enabled administrator is refused
    /// ([`Guarded`]), writing no event.
    async fn set_user_disabled(
        &self,
        id: UserId,
        disabled: bool,
        now: OffsetDateTime,
        event: Option<&WebhookEvent>,
    ) -> Result<Guarded, StoreError>;
    /// Marks the address verified or not, with the webhook `event` in the same
    /// transaction; false (and no event) if no such user.
    async fn set_email_verified(
        &self,
        id: UserId,
        verified: bool,
        now: OffsetDateTime,
        event: Option<&WebhookEvent>,
    ) -> Result<bool, StoreError>;
    /// Deletes a user with everything that belongs to it (sessions, events, tokens,
    /// mails about it), then queues `notice` and the webhook `event`; `Unchanged`
    /// (and neither) if no such user. With `keep_an_admin` (an operator's or
    /// administrator's deletion, not the user's own), deleting the last enabled
    /// administrator is refused.
    async fn delete_user(
        &self,
        id: UserId,
        notice: Option<&NewMail>,
        keep_an_admin: bool,
        event: Option<&WebhookEvent>,
    ) -> Result<Guarded, StoreError>;
    /// Replaces the hash without touching sessions (re-hash at a new cost).
    async fn update_password_hash(&self, id: UserId, password_hash: &str) -> Result<(), StoreError>;
    /// Sets a new password, revokes every session except `keep`, deletes the unused
    /// emailed tokens that a password change kills, and queues `notice` and the
    /// webhook `event`, in one transaction.
    async fn change_password(
        &self,
        id: UserId,
        password_hash: &str,
        now: OffsetDateTime,
        keep: Option<TokenHash>,
        notice: Option<&NewMail>,
        event: Option<&WebhookEvent>,
    ) -> Result<(), StoreError>;
}
