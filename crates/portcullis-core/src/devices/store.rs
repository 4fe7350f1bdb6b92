//! What the new-device notice needs from storage.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::accounts::user::UserId;
use crate::devices::{DeviceSeen, KnownDevice};
use crate::mail::NewMail;
use crate::store::StoreError;
use crate::token::TokenHash;

/// A device to record at a sign-in.
#[derive(Debug, Clone)]
pub struct DeviceSighting<'a> {
    pub user_id: UserId,
    pub device_hash: TokenHash,
    pub at: OffsetDateTime,
    pub client: &'a str,
    pub ip: Option<&'a str>,
}

#[async_trait]
pub trait DeviceStore: Send + Sync + 'static {
    /// Records a sign-in from a device, in one transaction: an unknown device is
    /// stored and, unless it is the account's first, `notice` is queued (once per
    /// device, however many sign-ins race), with the webhook `event`; a known one
    /// gets its last sighting.
    async fn record_device(
        &self,
        seen: &DeviceSighting<'_>,
        notice: &NewMail,
        event: &crate::webhooks::WebhookEvent,
    ) -> Result<DeviceSeen, StoreError>;
    /// The account's devices, most recently seen first (for the export).
    async fn list_devices(&self, user: UserId) -> Result<Vec<KnownDevice>, StoreError>;
}
