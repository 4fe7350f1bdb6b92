//! What signing in by email needs from storage.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::accounts::user::UserId;
use crate::email_signin::{CodeAttempt, EmailSignInSummary, NewEmailSignIn};
use crate::mail::NewMail;
use crate::store::StoreError;
use crate::token::TokenHash;

/// Emailed sign-in requests. A request is live while it is unexpired and not older
/// than its user's last password change; spending it deletes it in the transaction
/// that also marks the address verified, so it works once however many nodes race.
#[async_trait]
pub trait EmailSignInStore: Send + Sync + 'static {
    /// Stores the user's request, replacing an older one, and queues its mail, in
    /// one transaction.
    async fn replace_email_signin(&self, request: &NewEmailSignIn, mail: &NewMail) -> Result<(), StoreError>;
    /// The user of the live request whose link token hashes to `token`.
    async fn find_email_signin(
        &self,
        token: TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError>;
    /// Spends the live request named by `token`: deleted, the address verified.
    /// If the address was not verified before, the webhook `event` (a
    /// `user.email_verified` about the request's user) is written in the same
    /// transaction; otherwise, or if nothing was spent, it is not.
    async fn spend_email_signin(
        &self,
        token: TokenHash,
        now: OffsetDateTime,
        event: Option<&crate::webhooks::WebhookEvent>,
    ) -> Result<Option<UserId>, StoreError>;
    /// Counts one code attempt against the user's live request, atomically, if
    /// fewer than `max` were counted; returns the hashes to compare the code with.
    async fn claim_email_signin_code(
        &self,
        user: UserId,
        now: OffsetDateTime,
        max: i64,
    ) -> Result<Option<CodeAttempt>, StoreError>;
    /// The user's outstanding request, live or not (for the export).
    async fn email_signin_of(&self, user: UserId) -> Result<Option<EmailSignInSummary>, StoreError>;
    /// Deletes requests that expired before `before`; returns how many.
    async fn purge_email_signins(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
