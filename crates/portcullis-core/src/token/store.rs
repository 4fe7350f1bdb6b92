//! What emailed tokens need from storage.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::accounts::user::UserId;
use crate::mail::NewMail;
use crate::store::StoreError;
use crate::token::{TokenHash, TokenKind};

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

/// Emailed tokens and the changes they authorise. A token is spent atomically: the
/// `UPDATE ... SET used_at ... WHERE used_at IS NULL` that marks it used is in the
/// same transaction as its effect, and repeats the validity conditions (unused,
/// unexpired, not older than the last password change unless the kind survives it),
/// so two concurrent uses cannot both succeed.
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// Stores a token and queues the mail that carries it.
    async fn issue_token(&self, token: &NewToken, mail: &NewMail) -> Result<(), StoreError>;
    /// Like [`TokenStore::issue_token`], and deletes the user's unused tokens of
    /// the same kind in the same transaction: the new link replaces the older ones
    /// (an invitation sent again).
    async fn replace_token(&self, token: &NewToken, mail: &NewMail) -> Result<(), StoreError>;
    async fn find_token(&self, hash: TokenHash) -> Result<Option<StoredToken>, StoreError>;
    /// The user's tokens (for the data export), newest first.
    async fn list_tokens(&self, user: UserId) -> Result<Vec<StoredToken>, StoreError>;
    /// Spends a reset token: new password, email verified (the link reached the
    /// mailbox), every session revoked, other killable tokens deleted, `notice`
    /// and the webhook `event` queued, in one transaction. `None` (and no event)
    /// if the token could not be spent.
    async fn reset_password(
        &self,
        hash: TokenHash,
        password_hash: &str,
        now: OffsetDateTime,
        notice: &NewMail,
        event: Option<&crate::webhooks::WebhookEvent>,
    ) -> Result<Option<UserId>, StoreError>;
    /// Spends an invitation token of a user who is still invited (password hash
    /// [`crate::accounts::user::INVITED_PASSWORD_HASH`]): the first password is
    /// set, the address is verified (the link reached the mailbox), and the user's
    /// other unused tokens that a password change kills are deleted. `None` if the
    /// token could not be spent or the user is no longer invited. The webhook
    /// `event` is written in the same transaction, and only when something changed.
    async fn accept_invitation(
        &self,
        hash: TokenHash,
        password_hash: &str,
        now: OffsetDateTime,
        event: Option<&crate::webhooks::WebhookEvent>,
    ) -> Result<Option<UserId>, StoreError>;
    /// Spends a verification token and marks the email verified, with the webhook
    /// `event` in the same transaction (none if the token could not be spent).
    async fn verify_email(
        &self,
        hash: TokenHash,
        now: OffsetDateTime,
        event: Option<&crate::webhooks::WebhookEvent>,
    ) -> Result<Option<UserId>, StoreError>;
    /// Spends a change token: the user's address becomes `to` (verified), pending
    /// verification and change tokens are deleted, the undo token is stored and the
    /// notice to the old address queued, with the webhook `event`, in one
    /// transaction. A taken address is `Conflict("email")` (and no event).
    async fn change_email(
        &self,
        hash: TokenHash,
        to: NewAddress<'_>,
        now: OffsetDateTime,
        undo: &NewToken,
        notice: &NewMail,
        event: Option<&crate::webhooks::WebhookEvent>,
    ) -> Result<Option<UserId>, StoreError>;
    /// Spends an undo token: the address goes back to `to` (verified), every session
    /// and every other token of the user is deleted, the webhook `event` written,
    /// in one transaction.
    async fn revert_email(
        &self,
        hash: TokenHash,
        to: NewAddress<'_>,
        now: OffsetDateTime,
        event: Option<&crate::webhooks::WebhookEvent>,
    ) -> Result<Option<UserId>, StoreError>;
    /// Deletes tokens that expired before `before`; returns how many.
    async fn purge_tokens(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
