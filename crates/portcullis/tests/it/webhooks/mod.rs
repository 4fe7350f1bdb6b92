//! Webhooks (issue #22): signed deliveries verified by the Standard Webhooks
//! reference library (Python `standardwebhooks`) in a real receiver, once per
//! endpoint and in order per user, across a receiver outage, a restart and two
//! nodes; SSRF refusals at creation and at delivery. Every test runs on SQLite
//! and PostgreSQL.

mod cli;
mod delivery;
mod nodes;
pub mod receiver;
mod ssrf;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use receiver::Received;
use serde_json::Value;

/// Polls `check` every 50 ms until it holds or `within` has passed.
pub async fn eventually(within: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A loopback port nothing listens on (bound, then let go).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port").port()
}

/// The types each user's events arrived in, by email, for `received` (all
/// verified, to one endpoint); fails on a `webhook-id` seen twice.
pub fn types_by_user(received: &[Received]) -> HashMap<String, Vec<String>> {
    let mut seen = HashSet::new();
    let mut by_user: HashMap<String, Vec<String>> = HashMap::new();
    for r in received {
        assert!(r.verified, "every request verifies: {r:?}");
        assert!(seen.insert(r.id.clone()), "event {} delivered twice", r.id);
        assert_eq!(r.payload["id"], Value::String(r.id.clone()), "the payload's id is the webhook-id");
        let email = r.payload["user"]["email"].as_str().expect("user.email").to_owned();
        by_user.entry(email).or_default().push(r.payload["type"].as_str().expect("type").to_owned());
    }
    by_user
}

/// Counts deliveries with a failed attempt and no lease, straight from the database.
pub async fn failed_attempts_not_leased(db_url: &str) -> i64 {
    use sqlx::Connection as _;
    let sql = "SELECT COUNT(*) FROM webhook_deliveries
               WHERE attempts > 0 AND delivered_at IS NULL AND gave_up_at IS NULL AND locked_until IS NULL";
    if db_url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(db_url).await.expect("connect");
        sqlx::query_scalar(sql).fetch_one(&mut c).await.expect("query")
    } else {
        let mut c = sqlx::SqliteConnection::connect(db_url).await.expect("connect");
        sqlx::query_scalar(sql).fetch_one(&mut c).await.expect("query")
    }
}

/// Counts deliveries not yet delivered nor given up on, straight from the database.
pub async fn pending(db_url: &str) -> i64 {
    use sqlx::Connection as _;
    let sql = "SELECT COUNT(*) FROM webhook_deliveries WHERE delivered_at IS NULL AND gave_up_at IS NULL";
    if db_url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(db_url).await.expect("connect");
        sqlx::query_scalar(sql).fetch_one(&mut c).await.expect("query")
    } else {
        let mut c = sqlx::SqliteConnection::connect(db_url).await.expect("connect");
        sqlx::query_scalar(sql).fetch_one(&mut c).await.expect("query")
    }
}

/// The `last_error` of every delivery given up on, straight from the database.
pub async fn given_up_errors(db_url: &str) -> Vec<String> {
    use sqlx::Connection as _;
    let sql = "SELECT last_error FROM webhook_deliveries WHERE gave_up_at IS NOT NULL ORDER BY id";
    if db_url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(db_url).await.expect("connect");
        sqlx::query_scalar(sql).fetch_all(&mut c).await.expect("query")
    } else {
        let mut c = sqlx::SqliteConnection::connect(db_url).await.expect("connect");
        sqlx::query_scalar(sql).fetch_all(&mut c).await.expect("query")
    }
}
