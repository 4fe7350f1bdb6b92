//! The node's background upkeep: one handle stops all of it.

use std::sync::Arc;

use portcullis::{MockClock, Portcullis};

use crate::helpers::{Backend, TestDb, test_config};

/// `spawn_maintenance` starts the key-reload and the purge loops; aborting the
/// handle it returns must leave no task of them running.
#[tokio::test(flavor = "current_thread")]
async fn aborting_maintenance_stops_every_loop_it_started() {
    let db = TestDb::create(Backend::Sqlite).await;
    let config = test_config(&db.url);
    let node =
        Portcullis::open(&config, "http://127.0.0.1:9", Arc::new(MockClock::new())).await.expect("opens");
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = settled_task_count(&metrics).await;
    let handle = node.spawn_maintenance();
    assert_eq!(settled_task_count(&metrics).await, before + 1, "one task runs both loops");
    handle.abort();
    assert!(handle.await.is_err_and(|e| e.is_cancelled()));
    assert_eq!(settled_task_count(&metrics).await, before, "nothing of it is left running");
}

/// The number of live tasks once it has stopped changing (start-up work such as
/// opening database connections settles within a few milliseconds).
async fn settled_task_count(metrics: &tokio::runtime::RuntimeMetrics) -> usize {
    let mut last = usize::MAX;
    let mut same = 0;
    while same < 5 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let now = metrics.num_alive_tasks();
        same = if now == last { same + 1 } else { 0 };
        last = now;
    }
    last
}
