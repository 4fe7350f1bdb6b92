//! The webhook worker: one per node. It delivers due webhooks when woken (an
//! event was queued here) or every `webhooks.poll_interval` (events queued on
//! other nodes, retries), and counts what it did in the metrics. While the
//! database is away it logs that once and waits longer between rounds.

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::Auth;
use portcullis_core::webhooks::WebhookSender;
use tokio::sync::watch;

use crate::trouble::Trouble;

/// Runs until `stop` turns true; a delivery round in progress is finished first.
pub fn spawn(
    auth: Auth,
    sender: Arc<dyn WebhookSender>,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let signal = auth.webhook_signal();
        let mut database = Trouble::new("webhooks: the database");
        loop {
            let wait = deliver(&auth, &*sender, &mut database).await.unwrap_or(poll);
            if *stop.borrow() {
                return;
            }
            tokio::select! {
                () = signal.notified() => {}
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    })
}

/// Delivery rounds until one is not full; while the database fails, how long to
/// wait before the next round.
async fn deliver(auth: &Auth, sender: &dyn WebhookSender, database: &mut Trouble) -> Option<Duration> {
    loop {
        let round = match auth.deliver_due_webhooks(sender).await {
            Ok(round) => round,
            Err(e) => return Some(database.failed(&e)),
        };
        database.ok();
        crate::metrics::webhook_round(&round);
        if !round.was_full() {
            return None;
        }
    }
}
