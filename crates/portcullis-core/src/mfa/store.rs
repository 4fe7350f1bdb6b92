//! What two-factor authentication needs from storage.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::accounts::user::UserId;
use crate::store::StoreError;

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

/// TOTP enrolments (secrets sealed) and recovery codes (hashed).
#[async_trait]
pub trait MfaStore: Send + Sync + 'static {
    /// The user's TOTP enrolment, if any.
    async fn totp(&self, user: UserId) -> Result<Option<TotpRecord>, StoreError>;
    /// Starts (or restarts) an unconfirmed enrolment with a sealed secret.
    async fn totp_begin(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Confirms the enrolment at `step`, turns MFA on, and replaces the recovery
    /// codes, with the webhook `event` in the same transaction (none if no such user).
    async fn totp_confirm(
        &self,
        user: UserId,
        step: i64,
        recovery_hashes: &[[u8; 32]],
        event: Option<&crate::webhooks::WebhookEvent>,
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
    /// Turns MFA off: secret and recovery codes deleted, with the webhook `event`
    /// in the same transaction (none if no such user).
    async fn mfa_disable(
        &self,
        user: UserId,
        event: Option<&crate::webhooks::WebhookEvent>,
    ) -> Result<(), StoreError>;
}
