//! What the use cases need from storage. Methods are shaped like use cases and own
//! their transaction; `portcullis-store` implements them for SQLite and PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::event::{Event, NewEvent};
use crate::session::Session;
use crate::throttle::{Limit, Throttle};
use crate::token::TokenHash;
use crate::user::{Credentials, User, UserId};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated; the payload names it (e.g. `"email"`).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// The database cannot be reached right now.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Other(String),
}

pub struct NewUser<'a> {
    pub id: UserId,
    pub email: &'a str,
    pub email_canonical: &'a str,
    pub password_hash: &'a str,
    pub email_verified: bool,
    pub is_admin: bool,
    pub created_at: OffsetDateTime,
}

pub struct NewSession<'a> {
    pub token_hash: TokenHash,
    pub session: &'a Session,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Inserts a user; a taken email is `Conflict("email")`, decided by the unique index.
    async fn create_user(&self, user: NewUser<'_>) -> Result<User, StoreError>;
    async fn find_credentials_by_email(
        &self,
        email_canonical: &str,
    ) -> Result<Option<Credentials>, StoreError>;
    async fn find_credentials_by_id(&self, id: UserId) -> Result<Option<Credentials>, StoreError>;
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    /// Disables (and drops every session of) or re-enables a user; false if no such user.
    async fn set_user_disabled(
        &self,
        id: UserId,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Deletes a user with everything that belongs to it (sessions, events); false if
    /// no such user.
    async fn delete_user(&self, id: UserId) -> Result<bool, StoreError>;
    /// Replaces the hash without touching sessions (re-hash at a new cost).
    async fn update_password_hash(&self, id: UserId, password_hash: &str) -> Result<(), StoreError>;
    /// Sets a new password and revokes every session except `keep`.
    async fn change_password(
        &self,
        id: UserId,
        password_hash: &str,
        now: OffsetDateTime,
        keep: Option<TokenHash>,
    ) -> Result<(), StoreError>;

    async fn create_session(&self, new: NewSession<'_>) -> Result<(), StoreError>;
    /// The session and its user, unless the user is disabled.
    async fn find_session(&self, token_hash: TokenHash) -> Result<Option<(Session, User)>, StoreError>;
    async fn touch_session(&self, token_hash: TokenHash, now: OffsetDateTime) -> Result<(), StoreError>;
    async fn delete_session(&self, token_hash: TokenHash) -> Result<(), StoreError>;
    /// Deletes every session of the user; returns how many.
    async fn delete_user_sessions(&self, user: UserId) -> Result<u64, StoreError>;
    /// Deletes one of the user's sessions by public id; false if it is not theirs.
    async fn delete_session_by_id(&self, user: UserId, id: Uuid) -> Result<bool, StoreError>;
    async fn list_sessions(&self, user: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StoreError>;
    /// Sessions not yet past their absolute or idle expiry.
    async fn count_active_sessions(&self, now: OffsetDateTime) -> Result<i64, StoreError>;
    /// Deletes sessions past their absolute or idle expiry; returns how many.
    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError>;

    /// The user's TOTP enrolment, if any.
    async fn totp(&self, user: UserId) -> Result<Option<TotpRecord>, StoreError>;
    /// Starts (or restarts) an unconfirmed enrolment with a sealed secret.
    async fn totp_begin(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Confirms the enrolment at `step`, turns MFA on, and replaces the recovery codes.
    async fn totp_confirm(
        &self,
        user: UserId,
        step: i64,
        recovery_hashes: &[[u8; 32]],
    ) -> Result<(), StoreError>;
    /// Records `step` as used; false if it (or a later one) was used already.
    async fn totp_use_step(&self, user: UserId, step: i64) -> Result<bool, StoreError>;
    /// Spends one recovery code; false if unknown or already used.
    async fn use_recovery_code(
        &self,
        user: UserId,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Replaces every recovery code of the user.
    async fn replace_recovery_codes(&self, user: UserId, hashes: &[[u8; 32]]) -> Result<(), StoreError>;
    /// Unused recovery codes left.
    async fn recovery_codes_left(&self, user: UserId) -> Result<i64, StoreError>;
    /// Turns MFA off: secret and recovery codes deleted.
    async fn mfa_disable(&self, user: UserId) -> Result<(), StoreError>;

    /// Appends to the audit trail.
    async fn insert_event(&self, event: &NewEvent) -> Result<(), StoreError>;
    /// Events newest first: one user's, or everyone's when `user` is `None`.
    async fn list_events(&self, user: Option<UserId>, limit: i64) -> Result<Vec<Event>, StoreError>;
    /// Deletes events older than `before`; returns how many.
    async fn purge_events(&self, before: OffsetDateTime) -> Result<u64, StoreError>;

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

    /// Returns the secret stored under `name`, storing `candidate` first if there is
    /// none. Race-free: when several nodes start at once, all get the same value.
    async fn get_or_create_secret(
        &self,
        name: &str,
        candidate: &[u8],
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, StoreError>;
}

/// A stored TOTP enrolment.
#[derive(Clone)]
pub struct TotpRecord {
    pub sealed_secret: Vec<u8>,
    pub confirmed: bool,
    pub last_step: i64,
}

impl std::fmt::Debug for TotpRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpRecord")
            .field("confirmed", &self.confirmed)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}
