//! What the use cases need from storage. Methods are shaped like use cases and own
//! their transaction; `portcullis-store` implements them for SQLite and PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::event::{Event, NewEvent};
use crate::jwt::StoredKey;
use crate::mail::{MailSummary, NewMail, OutboxStats, QueuedMail};
use crate::oauth::{AuthCode, Client, CodeUse, NewRefresh, Rotation, TokenFamily};
use crate::session::Session;
use crate::throttle::{Limit, Throttle};
use crate::token::{TokenHash, TokenKind};
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

/// An emailed token to store (only its hash).
#[derive(Debug, Clone)]
pub struct NewToken {
    pub hash: TokenHash,
    pub kind: TokenKind,
    pub user_id: UserId,
    /// The address the token is about: the new one for a change, the one to restore
    /// for an undo; none for verification and reset.
    pub new_email: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A stored emailed token, with what deciding its validity needs from its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub kind: TokenKind,
    pub user_id: UserId,
    pub new_email: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    /// When the user's password last changed.
    pub password_changed_at: OffsetDateTime,
}

/// A new address for a user: as typed, and the lower-cased key.
#[derive(Debug, Clone, Copy)]
pub struct NewAddress<'a> {
    pub email: &'a str,
    pub email_canonical: &'a str,
}

/// A session found by its token's hash, with its (not disabled) user.
#[derive(Debug, Clone)]
pub struct SessionWithUser {
    pub session: Session,
    pub user: User,
}

/// What a refresh token's hash finds: its family, when the token expires, and
/// whether it was spent already.
#[derive(Debug, Clone)]
pub struct RefreshTokenState {
    pub family: TokenFamily,
    pub expires_at: OffsetDateTime,
    pub spent: bool,
}

/// A live token family with its (not disabled) user.
#[derive(Debug, Clone)]
pub struct FamilyWithUser {
    pub family: TokenFamily,
    pub user: User,
}

/// Storage of the use cases. Split by area into supertraits; one `Arc<dyn Store>`
/// reaches them all.
#[async_trait]
pub trait Store:
    TokenStore + OutboxStore + OAuthStore + crate::passkey::PasskeyStore + Send + Sync + 'static
{
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Inserts a user, with its verification token and mail when given, in one
    /// transaction; a taken email is `Conflict("email")`, decided by the unique index.
    async fn create_user(
        &self,
        user: NewUser<'_>,
        verification: Option<(&NewToken, &NewMail)>,
    ) -> Result<User, StoreError>;
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
    /// Deletes a user with everything that belongs to it (sessions, events, tokens,
    /// mails about it), then queues `notice`; false (and no notice) if no such user.
    async fn delete_user(&self, id: UserId, notice: Option<&NewMail>) -> Result<bool, StoreError>;
    /// Replaces the hash without touching sessions (re-hash at a new cost).
    async fn update_password_hash(&self, id: UserId, password_hash: &str) -> Result<(), StoreError>;
    /// Sets a new password, revokes every session except `keep`, deletes the unused
    /// emailed tokens that a password change kills, and queues `notice`.
    async fn change_password(
        &self,
        id: UserId,
        password_hash: &str,
        now: OffsetDateTime,
        keep: Option<TokenHash>,
        notice: Option<&NewMail>,
    ) -> Result<(), StoreError>;

    async fn create_session(&self, new: NewSession<'_>) -> Result<(), StoreError>;
    /// The session and its user, unless the user is disabled.
    async fn find_session(&self, token_hash: TokenHash) -> Result<Option<SessionWithUser>, StoreError>;
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

/// Emailed tokens and the changes they authorise. A token is spent atomically: the
/// `UPDATE ... SET used_at ... WHERE used_at IS NULL` that marks it used is in the
/// same transaction as its effect, and repeats the validity conditions (unused,
/// unexpired, not older than the last password change unless the kind survives it),
/// so two concurrent uses cannot both succeed.
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// Stores a token and queues the mail that carries it.
    async fn issue_token(&self, token: &NewToken, mail: &NewMail) -> Result<(), StoreError>;
    async fn find_token(&self, hash: TokenHash) -> Result<Option<StoredToken>, StoreError>;
    /// The user's tokens (for the data export), newest first.
    async fn list_tokens(&self, user: UserId) -> Result<Vec<StoredToken>, StoreError>;
    /// Spends a reset token: new password, email verified (the link reached the
    /// mailbox), every session revoked, other killable tokens deleted, `notice`
    /// queued. `None` if the token could not be spent.
    async fn reset_password(
        &self,
        hash: TokenHash,
        password_hash: &str,
        now: OffsetDateTime,
        notice: &NewMail,
    ) -> Result<Option<UserId>, StoreError>;
    /// Spends a verification token and marks the email verified.
    async fn verify_email(&self, hash: TokenHash, now: OffsetDateTime) -> Result<Option<UserId>, StoreError>;
    /// Spends a change token: the user's address becomes `to` (verified), pending
    /// verification and change tokens are deleted, the undo token is stored and the
    /// notice to the old address queued. A taken address is `Conflict("email")`.
    async fn change_email(
        &self,
        hash: TokenHash,
        to: NewAddress<'_>,
        now: OffsetDateTime,
        undo: &NewToken,
        notice: &NewMail,
    ) -> Result<Option<UserId>, StoreError>;
    /// Spends an undo token: the address goes back to `to` (verified), every session
    /// and every other token of the user is deleted.
    async fn revert_email(
        &self,
        hash: TokenHash,
        to: NewAddress<'_>,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError>;
    /// Deletes tokens that expired before `before`; returns how many.
    async fn purge_tokens(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}

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

/// Signing keys, OAuth clients, authorization codes, consents and refresh-token
/// families. Spending a code or a refresh token is one conditional `UPDATE ... WHERE
/// used_at IS NULL`, so two concurrent uses cannot both succeed.
#[async_trait]
pub trait OAuthStore: Send + Sync + 'static {
    /// Stores a new signing key; with `retire_others`, every older unretired key is
    /// retired at the new key's creation time (rotation).
    async fn insert_signing_key(&self, key: &StoredKey, retire_others: bool) -> Result<(), StoreError>;
    /// Keys not retired, or retired after `retired_after`.
    async fn list_signing_keys(&self, retired_after: OffsetDateTime) -> Result<Vec<StoredKey>, StoreError>;
    /// Deletes keys retired before `before`; returns how many.
    async fn purge_signing_keys(&self, before: OffsetDateTime) -> Result<u64, StoreError>;

    /// A taken id is `Conflict("client_id")`.
    async fn create_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError>;
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    /// Deletes a client with its codes, consents and token families.
    async fn delete_client(&self, id: &str) -> Result<bool, StoreError>;

    async fn insert_code(&self, hash: TokenHash, code: &AuthCode) -> Result<(), StoreError>;
    /// Spends a code (recording the family it will be exchanged for), or tells
    /// whether it had been spent already.
    async fn consume_code(
        &self,
        hash: TokenHash,
        family: Uuid,
        now: OffsetDateTime,
    ) -> Result<CodeUse, StoreError>;

    /// The scope the user granted the client, if any.
    async fn find_consent(&self, user: UserId, client: &str) -> Result<Option<String>, StoreError>;
    async fn grant_consent(
        &self,
        user: UserId,
        client: &str,
        scope: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Starts a family with its first refresh token (when given).
    async fn create_family(&self, family: &TokenFamily, first: Option<&NewRefresh>)
    -> Result<(), StoreError>;
    /// Spends refresh token `hash` and stores `next` in its family. A token of
    /// another client than `client`, expired, of a disabled user or of a revoked
    /// family is `Invalid` (and nothing changes); one spent before revokes its family.
    async fn rotate_refresh(
        &self,
        hash: TokenHash,
        client: Option<&str>,
        next: &NewRefresh,
        now: OffsetDateTime,
    ) -> Result<Rotation, StoreError>;
    /// The family of a refresh token, with the token's expiry and whether it was
    /// spent (for introspection and revocation).
    async fn find_refresh_family(&self, hash: TokenHash) -> Result<Option<RefreshTokenState>, StoreError>;
    /// A live family and its user (unless disabled).
    async fn find_family(&self, id: Uuid) -> Result<Option<FamilyWithUser>, StoreError>;
    /// Revokes (deletes) a family and its tokens; false if there was none.
    async fn revoke_family(&self, id: Uuid) -> Result<bool, StoreError>;
    /// The user's families (for the data export).
    async fn list_families(&self, user: UserId) -> Result<Vec<TokenFamily>, StoreError>;
    /// Deletes expired codes, and families whose every token expired before `before`.
    async fn purge_oauth(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
