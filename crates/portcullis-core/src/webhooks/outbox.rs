//! Delivering the webhook outbox: claim due deliveries (the earliest pending one
//! per endpoint and user), sign and send each, then mark it delivered or retry
//! with the mail outbox's back-off (5 s doubling to 1 h) for [`GIVE_UP_AFTER`].
//! A URL refused at delivery (its name now resolves to a refused address) is
//! given up on at once.

use std::sync::Arc;

use time::Duration;
use tokio::sync::Notify;

use crate::error::AuthError;
use crate::mail::outbox::{GIVE_UP_AFTER, retry_delay};
use crate::service::Auth;
use crate::webhooks::{QueuedDelivery, WebhookError, WebhookSender, WebhookStats, sign};

/// Deliveries claimed per round.
const BATCH: i64 = 20;
/// How long a claim holds: longer than a batch of time-outs can take.
const LEASE: Duration = Duration::minutes(10);
/// Delivered and given-up rows are kept this long, then purged.
const KEEP_DONE: Duration = Duration::days(7);

/// What one delivery round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookRound {
    pub claimed: usize,
    pub delivered: usize,
    pub retrying: usize,
    pub failed: usize,
}

impl WebhookRound {
    /// Whether the round took a full batch (more may be due).
    pub fn was_full(&self) -> bool {
        self.claimed >= usize::try_from(BATCH).unwrap_or(usize::MAX)
    }
}

impl Auth {
    /// Notified whenever a webhook delivery is queued on this node.
    pub fn webhook_signal(&self) -> Arc<Notify> {
        self.webhooks.clone()
    }

    pub async fn webhook_stats(&self) -> Result<WebhookStats, AuthError> {
        let now = self.clock.now();
        let stats = self.store.webhook_stats(now).await?;
        Ok(WebhookStats { oldest_age: stats.oldest_pending.map(|at| now - at), ..stats })
    }

    /// Claims the due deliveries (no other node gets them) and tries each once.
    pub async fn deliver_due_webhooks(&self, sender: &dyn WebhookSender) -> Result<WebhookRound, AuthError> {
        let now = self.clock.now();
        let batch = self.store.claim_deliveries(now, now + LEASE, BATCH).await?;
        let mut round = WebhookRound { claimed: batch.len(), ..WebhookRound::default() };
        for delivery in &batch {
            match self.attempt(sender, delivery).await {
                Ok(status) => {
                    round.delivered += 1;
                    tracing::info!(delivery = delivery.id, webhook = %delivery.endpoint_id, event = %delivery.event_type, status, "webhook delivered");
                    if let Err(e) = self.store.mark_delivered(delivery.id, self.clock.now()).await {
                        tracing::error!(delivery = delivery.id, error = %e, "webhook delivered but not marked; it may be sent again");
                    }
                }
                Err(e) => {
                    if self.mark_delivery_failed(delivery, &e).await {
                        round.retrying += 1;
                    } else {
                        round.failed += 1;
                    }
                }
            }
        }
        Ok(round)
    }

    async fn attempt(&self, sender: &dyn WebhookSender, d: &QueuedDelivery) -> Result<u16, WebhookError> {
        let secret =
            self.open_webhook_secret(&d.sealed_secret).map_err(|e| WebhookError::Refused(e.to_string()))?;
        let headers = sign::headers(&secret, &d.event_id, self.clock.now().unix_timestamp(), &d.payload);
        sender.post(&d.url, &headers, &d.payload).await
    }

    /// Records the failure; true when the delivery will be tried again.
    async fn mark_delivery_failed(&self, d: &QueuedDelivery, error: &WebhookError) -> bool {
        let now = self.clock.now();
        let attempts = d.attempts + 1;
        let retry_at = match error {
            WebhookError::Temporary(_) if now - d.created_at < GIVE_UP_AFTER => {
                Some(now + retry_delay(attempts))
            }
            _ => None,
        };
        let text: String = error.to_string().chars().take(500).collect();
        if retry_at.is_some() {
            tracing::warn!(delivery = d.id, webhook = %d.endpoint_id, attempt = attempts, error = %text, "webhook delivery failed; will retry");
        } else {
            tracing::error!(delivery = d.id, webhook = %d.endpoint_id, attempt = attempts, error = %text, "webhook delivery failed; giving up");
        }
        if let Err(e) = self.store.mark_delivery_failed(d.id, &text, retry_at, now).await {
            tracing::error!(delivery = d.id, error = %e, "could not record a failed webhook delivery");
        }
        retry_at.is_some()
    }

    /// Deletes deliveries done or given up on more than a week ago.
    pub async fn purge_webhook_deliveries(&self) -> Result<u64, AuthError> {
        Ok(self.store.purge_deliveries(self.clock.now() - KEEP_DONE).await?)
    }
}
