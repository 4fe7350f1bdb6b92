//! The outbox worker: one per node. It delivers due mails when woken (a mail was
//! queued here) or every `email.poll_interval` (mails queued on other nodes,
//! retries), and reports the outbox depth and give-ups in the log once a minute.
//! While the database or the mail server is away it logs that once, waits longer
//! between rounds (up to 30 s), and says when it works again.

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::{Auth, Mailer};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::trouble::Trouble;

/// How often the depth is reported while mail is waiting.
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// Runs until `stop` turns true; a delivery round in progress is finished first.
pub fn spawn(
    auth: Auth,
    mailer: Arc<dyn Mailer>,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let signal = auth.outbox_signal();
        let mut last_report: Option<Instant> = None;
        let mut failed_seen = None;
        let mut database = Trouble::new("outbox: the database");
        let mut mail_server = Trouble::new("outbox: the mail server");
        loop {
            let wait = deliver(&auth, &*mailer, &mut database, &mut mail_server).await.unwrap_or(poll);
            if last_report.is_none_or(|t| t.elapsed() >= REPORT_EVERY) {
                failed_seen = Some(report(&auth, failed_seen).await);
                last_report = Some(Instant::now());
            }
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

/// Delivery rounds until one is not full; while something fails, how long to
/// wait before the next round.
async fn deliver(
    auth: &Auth,
    mailer: &dyn Mailer,
    database: &mut Trouble,
    mail_server: &mut Trouble,
) -> Option<Duration> {
    loop {
        let round = match auth.deliver_due_mails(mailer).await {
            Ok(round) => round,
            Err(e) => return Some(database.failed(&e)),
        };
        database.ok();
        if round.sent > 0 || round.last_temporary.is_none() {
            mail_server.ok();
        }
        if round.sent == 0
            && let Some(error) = &round.last_temporary
        {
            return Some(mail_server.failed(error));
        }
        if !round.was_full() {
            return None;
        }
    }
}

/// Logs the depth when mail is waiting and any new give-ups; returns the give-up count.
async fn report(auth: &Auth, failed_seen: Option<u64>) -> u64 {
    match auth.outbox_stats().await {
        Ok(stats) => {
            if stats.pending > 0 {
                tracing::info!(pending = stats.pending, due = stats.due, "outbox depth");
            }
            if failed_seen.is_some_and(|seen| stats.failed > seen) {
                tracing::error!(failed = stats.failed, "outbox: mails were given up on (see earlier errors)");
            }
            stats.failed
        }
        Err(e) => {
            tracing::warn!(error = %e, "outbox: cannot read its depth");
            failed_seen.unwrap_or(0)
        }
    }
}
