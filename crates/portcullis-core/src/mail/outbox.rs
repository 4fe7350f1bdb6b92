//! Delivering the outbox: claim due mails, hand each to the [`Mailer`], then mark it
//! sent or schedule a retry with exponential backoff (5 s doubling to 1 h), giving
//! up after [`GIVE_UP_AFTER`] or on a permanent failure.

use std::sync::Arc;

use time::Duration;
use tokio::sync::Notify;

use crate::error::AuthError;
use crate::mail::{MailError, Mailer, OutboxStats, QueuedMail};

use crate::service::Auth;

/// A mail that could not be delivered for this long is given up on.
pub const GIVE_UP_AFTER: Duration = Duration::hours(24);
/// Mails claimed per round.
const BATCH: i64 = 10;
/// How long a claim holds: longer than sending a batch can take.
const LEASE: Duration = Duration::minutes(10);
/// Sent and given-up mails are kept this long, then purged.
const KEEP_DONE: Duration = Duration::days(7);

/// The wait before the next attempt, after `attempts` failed ones.
pub fn retry_delay(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(10);
    (Duration::seconds(5) * 2_i32.pow(doublings)).min(Duration::hours(1))
}

/// What one delivery round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryRound {
    pub claimed: usize,
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
    /// The last temporary failure of the round (the mail server down, say), for
    /// the worker's one log line per outage.
    pub last_temporary: Option<String>,
}

impl DeliveryRound {
    /// Whether the round took a full batch (more may be due).
    pub fn was_full(&self) -> bool {
        self.claimed >= usize::try_from(BATCH).unwrap_or(usize::MAX)
    }
}

impl Auth {
    /// Notified whenever a mail is queued on this node.
    pub fn outbox_signal(&self) -> Arc<Notify> {
        self.outbox.clone()
    }

    pub async fn outbox_stats(&self) -> Result<OutboxStats, AuthError> {
        Ok(self.store.outbox_stats(self.clock.now()).await?)
    }

    /// Claims the due mails (no other node gets them) and tries each once.
    pub async fn deliver_due_mails(&self, mailer: &dyn Mailer) -> Result<DeliveryRound, AuthError> {
        let now = self.clock.now();
        let batch = self.store.claim_mails(now, now + LEASE, BATCH).await?;
        let mut round = DeliveryRound { claimed: batch.len(), ..DeliveryRound::default() };
        for queued in batch {
            match mailer.send(&queued.mail).await {
                Ok(()) => {
                    round.sent += 1;
                    self.mark_sent(&queued).await;
                }
                Err(e) => {
                    if self.mark_failed(&queued, &e).await {
                        round.retrying += 1;
                    } else {
                        round.failed += 1;
                    }
                    if let MailError::Temporary(text) = e {
                        round.last_temporary = Some(text);
                    }
                }
            }
        }
        Ok(round)
    }

    async fn mark_sent(&self, queued: &QueuedMail) {
        tracing::info!(mail_id = queued.id, subject = %queued.mail.subject, attempt = queued.attempts + 1, "mail sent");
        if let Err(e) = self.store.mark_mail_sent(queued.id, self.clock.now()).await {
            tracing::error!(mail_id = queued.id, error = %e, "mail sent but not marked; it may be sent again");
        }
    }

    /// Records the failure; true when the mail will be tried again.
    async fn mark_failed(&self, queued: &QueuedMail, error: &MailError) -> bool {
        let now = self.clock.now();
        let attempts = queued.attempts + 1;
        let retry_at = match error {
            MailError::Temporary(_) if now - queued.created_at < GIVE_UP_AFTER => {
                Some(now + retry_delay(attempts))
            }
            _ => None,
        };
        let text: String = error.to_string().chars().take(500).collect();
        if let Some(at) = retry_at {
            let retry_in_secs = (at - now).whole_seconds();
            // The worker logs a mail server outage once; each retry is a debug line.
            tracing::debug!(mail_id = queued.id, attempt = attempts, error = %text, retry_in_secs, "mail delivery failed; will retry");
        } else {
            tracing::error!(mail_id = queued.id, attempt = attempts, error = %text, "mail delivery failed; giving up");
        }
        if let Err(e) = self.store.mark_mail_failed(queued.id, &text, retry_at, now).await {
            tracing::error!(mail_id = queued.id, error = %e, "could not record a failed delivery");
        }
        retry_at.is_some()
    }

    /// Deletes mails sent or given up on more than a week ago.
    pub async fn purge_outbox(&self) -> Result<u64, AuthError> {
        Ok(self.store.purge_outbox(self.clock.now() - KEEP_DONE).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_five_seconds_doubling_to_an_hour() {
        let delays: Vec<i64> = (1..=12).map(|a| retry_delay(a).whole_seconds()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]);
        assert_eq!(retry_delay(u32::MAX), Duration::hours(1));
    }
}
