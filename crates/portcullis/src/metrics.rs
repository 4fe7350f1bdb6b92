//! Prometheus metrics (request latency, sign-ins by result, hashing time, active
//! sessions, rate-limit hits, the mail and webhook outboxes): one process-wide recorder; the use cases report
//! through `portcullis_core::service::Observer`, the web layer records request
//! latency, and the maintenance loop refreshes the active-session gauge.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use portcullis_core::service::Observer;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process' recorder, installed on first use; `None` if another recorder was
/// installed first (an embedding application's own).
pub fn handle() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let latency = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
            let hashing = [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("portcullis_http_request_duration_seconds".into()),
                    &latency,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("portcullis_password_hash_seconds".into()),
                        &hashing,
                    )
                })
                .and_then(PrometheusBuilder::install_recorder);
            match recorder {
                Ok(handle) => {
                    describe();
                    let upkeep = handle.clone();
                    std::thread::Builder::new()
                        .name("metrics-upkeep".into())
                        .spawn(move || {
                            loop {
                                std::thread::sleep(Duration::from_secs(5));
                                upkeep.run_upkeep();
                            }
                        })
                        .ok();
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed; /metrics is off");
                    None
                }
            }
        })
        .clone()
}

fn describe() {
    metrics::describe_histogram!(
        "portcullis_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by method (OTHER for a non-standard one), route and status"
    );
    metrics::describe_counter!(
        "portcullis_logins_total",
        "Sign-in attempts by result (success, failure, throttled)"
    );
    metrics::describe_histogram!(
        "portcullis_password_hash_seconds",
        metrics::Unit::Seconds,
        "Time to hash or verify one password (Argon2id)"
    );
    metrics::describe_gauge!("portcullis_active_sessions", "Sessions not yet expired");
    metrics::describe_counter!("portcullis_rate_limited_total", "Attempts refused by a rate limit, by limit");
    metrics::describe_gauge!("portcullis_mail_outbox_depth", "Mails waiting in the outbox");
    metrics::describe_gauge!("portcullis_mail_outbox_failed", "Mails given up on");
    metrics::describe_gauge!(
        "portcullis_change_feed_up",
        "1 while this node sees every security change as it commits (the change feed), 0 otherwise"
    );
    metrics::describe_counter!(
        "portcullis_webhook_deliveries_total",
        "Webhook delivery attempts by result (delivered, retrying, given_up)"
    );
    metrics::describe_gauge!("portcullis_webhook_queue_depth", "Webhook deliveries waiting in the outbox");
    metrics::describe_gauge!(
        "portcullis_webhook_oldest_pending_seconds",
        metrics::Unit::Seconds,
        "Age of the oldest webhook delivery still waiting (0 when none)"
    );
    metrics::describe_gauge!("portcullis_webhook_failed", "Webhook deliveries given up on (kept 7 days)");
}

/// Reports use-case events as metrics.
pub struct MetricsObserver;

impl Observer for MetricsObserver {
    fn login(&self, result: &'static str) {
        metrics::counter!("portcullis_logins_total", "result" => result).increment(1);
    }

    fn rate_limited(&self, limit: &str) {
        metrics::counter!("portcullis_rate_limited_total", "limit" => limit.to_owned()).increment(1);
    }
}

/// Records one password hash or verification.
pub fn hash_observer() -> Arc<dyn Fn(Duration) + Send + Sync> {
    Arc::new(|d: Duration| metrics::histogram!("portcullis_password_hash_seconds").record(d.as_secs_f64()))
}

/// Sets the active-session gauge.
#[expect(clippy::cast_precision_loss, reason = "a gauge of session counts is fine as f64")]
pub fn set_active_sessions(n: i64) {
    metrics::gauge!("portcullis_active_sessions").set(n as f64);
}

/// Sets the change-feed gauge.
pub fn set_change_feed_up(up: bool) {
    metrics::gauge!("portcullis_change_feed_up").set(if up { 1.0 } else { 0.0 });
}

/// Sets the outbox gauges.
#[expect(clippy::cast_precision_loss, reason = "gauges of mail counts are fine as f64")]
pub fn set_outbox(pending: u64, failed: u64) {
    metrics::gauge!("portcullis_mail_outbox_depth").set(pending as f64);
    metrics::gauge!("portcullis_mail_outbox_failed").set(failed as f64);
}

/// Counts what one webhook delivery round did.
pub fn webhook_round(round: &portcullis_core::service::WebhookRound) {
    for (result, n) in
        [("delivered", round.delivered), ("retrying", round.retrying), ("given_up", round.failed)]
    {
        if n > 0 {
            metrics::counter!("portcullis_webhook_deliveries_total", "result" => result).increment(n as u64);
        }
    }
}

/// Sets the webhook outbox gauges.
#[expect(clippy::cast_precision_loss, reason = "gauges of counts and seconds are fine as f64")]
pub fn set_webhooks(stats: &portcullis_core::webhooks::WebhookStats) {
    metrics::gauge!("portcullis_webhook_queue_depth").set(stats.pending as f64);
    metrics::gauge!("portcullis_webhook_failed").set(stats.failed as f64);
    let age = stats.oldest_age.map_or(0, |d| d.whole_seconds().max(0));
    metrics::gauge!("portcullis_webhook_oldest_pending_seconds").set(age as f64);
}
