//! Telling the user about a sign-in from a device the account has not used before.

use crate::accounts::user::User;
use crate::audit::{EventKind, Outcome};
use crate::devices::store::DeviceSighting;
use crate::devices::{DeviceSeen, describe_client, device_hash};
use crate::error::AuthError;
use crate::mail::MailMessage;
use crate::service::{Auth, ClientMeta};
use crate::token::SecretToken;

impl Auth {
    /// Whether `security.new_device_notice` is on (then the web layer keeps a
    /// device cookie and reports each full sign-in here).
    pub fn new_device_notice_enabled(&self) -> bool {
        self.config.new_device_notice
    }

    /// Records that `user` completed a sign-in from `device` (the random id of the
    /// browser's device cookie); a device new to the account, other than its
    /// first, gets the user a mail and an audit event.
    pub async fn signed_in_from_device(
        &self,
        user: &User,
        device: &SecretToken,
        client: &ClientMeta,
    ) -> Result<DeviceSeen, AuthError> {
        if !self.config.new_device_notice {
            return Ok(DeviceSeen::Known);
        }
        let now = self.clock.now();
        let described = describe_client(client.user_agent.as_deref());
        let message = MailMessage::NewDeviceSignIn { at: now, client: &described, ip: client.ip.as_deref() };
        let notice = self.mail_to(user, &message)?;
        let sighting = DeviceSighting {
            user_id: user.id,
            device_hash: device_hash(user.id, device),
            at: now,
            client: &described,
            ip: client.ip.as_deref(),
        };
        let data = serde_json::json!({"client": &described, "ip": client.ip.as_deref()});
        let event =
            self.webhook_event(crate::webhooks::EventType::SessionNewDevice, user.id, &user.email, data);
        let seen = self.store.record_device(&sighting, &notice, &event).await?;
        if seen == DeviceSeen::New {
            self.mail_queued();
            self.audit(EventKind::NewDeviceSignIn, Outcome::Success, Some(user.id), client, Some(&described))
                .await;
            self.webhook_queued();
        }
        Ok(seen)
    }
}
