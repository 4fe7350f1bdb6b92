//! Background upkeep of a node: reloading signing keys, the gauges, and purging
//! what has expired, following other nodes' changes. Every loop runs in the one task
//! `spawn_maintenance` returns.

use std::time::Duration;

use portcullis_core::Auth;

use crate::trouble::Trouble;

/// A key rotated by `portcullis keys rotate` (or another node) signs here within
/// 30 s.
pub(crate) async fn reload_keys_every_30s(auth: &Auth) {
    let mut trouble = Trouble::new("reloading token signing keys");
    let mut wait = Duration::from_secs(30);
    loop {
        tokio::time::sleep(wait).await;
        wait = match auth.keys().reload().await {
            Ok(()) => {
                trouble.ok();
                Duration::from_secs(30)
            }
            // Sooner than 30 s once the database is back, but never a tight loop.
            Err(e) => trouble.failed(&e).min(Duration::from_secs(30)),
        };
    }
}

/// Reports every security change committed to the database (by any node, the
/// CLI or SQL by hand) to this node's session cache as it commits. The gauge
/// `portcullis_change_feed_up` tells whether that works, four times a second.
pub(crate) async fn follow_changes(database: &portcullis_store::Database, auth: &Auth) {
    let feed = auth.change_feed();
    let gauge = async {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tick.tick().await;
            crate::metrics::set_change_feed_up(feed.is_current());
        }
    };
    match database {
        portcullis_store::Database::Postgres(store) => {
            tokio::join!(store.follow_changes(auth.change_feed()), gauge);
        }
        portcullis_store::Database::Sqlite(store) => {
            tokio::join!(store.follow_changes(auth.change_feed()), gauge);
        }
    }
}

/// Every minute the gauges; every ten minutes (and at start) the purges. While
/// the database is away, one line when that starts and one when it ends.
pub(crate) async fn tidy_every_minute(auth: &Auth, retention: time::Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    let mut database = Trouble::new("maintenance: the database");
    for round in 0u64.. {
        tick.tick().await;
        match auth.count_active_sessions().await {
            Ok(n) => {
                database.ok();
                crate::metrics::set_active_sessions(n);
            }
            Err(e) => {
                database.failed(&e);
                continue;
            }
        }
        if let Ok(stats) = auth.outbox_stats().await {
            crate::metrics::set_outbox(stats.pending, stats.failed);
        }
        if let Ok(stats) = auth.webhook_stats().await {
            crate::metrics::set_webhooks(&stats);
        }
        if round % 10 == 0 {
            match auth.purge(retention).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(purged = n, "purged expired sessions, rate-limit counts and old events");
                }
                Err(e) => tracing::warn!(error = %e, "could not purge expired data"),
            }
            for (what, result) in [
                ("old emailed tokens", auth.purge_expired_tokens().await),
                ("expired email sign-in requests", auth.purge_expired_email_signins().await),
                ("old sent mails", auth.purge_outbox().await),
                ("old webhook deliveries", auth.purge_webhook_deliveries().await),
                ("expired authorization codes and token families", auth.purge_oauth().await),
                ("retired signing keys", auth.keys().purge_retired().await),
            ] {
                match result {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(purged = n, "purged {what}"),
                    Err(e) => tracing::warn!(error = %e, "could not purge {what}"),
                }
            }
        }
    }
}
