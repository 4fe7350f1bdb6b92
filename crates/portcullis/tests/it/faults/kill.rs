//! A node killed with SIGKILL in the middle of writes: another node on the same
//! database finds every acknowledged write, and no write half done.

use std::time::Duration;

use super::{Load, NO_LIMITS, nothing_lost_nothing_half_written};
use crate::helpers::{Backend, Node, TestDb, postgres_available};

async fn killed_in_the_middle_of_writes(backend: Backend) {
    if backend == Backend::Postgres && !postgres_available().await {
        return;
    }
    let db = TestDb::create(backend).await;
    let a = Node::start(&db.url, NO_LIMITS).await;
    let load = Load::start(std::slice::from_ref(&a.base), 4);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    drop(a); // SIGKILL: no shutdown, no flush, transactions cut off where they are
    tokio::time::sleep(Duration::from_millis(300)).await;
    let attempts = load.stop().await;
    assert!(attempts.iter().any(|t| t.status.is_none()), "some requests were cut off by the kill");

    let b = Node::start(&db.url, NO_LIMITS).await;
    let acknowledged = nothing_lost_nothing_half_written(&b, &attempts).await;
    assert!(acknowledged > 10, "{acknowledged} acknowledged registrations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_node_killed_mid_writes_loses_nothing_acknowledged() {
    killed_in_the_middle_of_writes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_node_killed_mid_writes_loses_nothing_acknowledged() {
    killed_in_the_middle_of_writes(Backend::Postgres).await;
}
