//! The store under cancellation: a request whose client goes away is dropped by the
//! server mid-query, and that must never leave a pooled connection inside a
//! transaction (the next request's writes would run in it, uncommitted).

use std::future::Future as _;
use std::task::Poll;
use std::time::Duration;

use portcullis_core::UserId;
use portcullis_store::Database;

use crate::conformance;
use crate::fixtures::TestStore;

/// Whether the pool's one connection is inside a transaction nobody owns.
async fn left_in_a_transaction(database: &Database) -> bool {
    match database {
        // One simple-protocol message: outside a transaction it opens its own, so
        // now() (the transaction's start) equals the statement's start; inside one
        // left open a while ago, now() lags behind.
        Database::Postgres(pg) => {
            let row = sqlx::raw_sql("SELECT now() <> statement_timestamp() AS open")
                .fetch_one(pg.pool())
                .await
                .expect("the pool still answers");
            sqlx::Row::get(&row, "open")
        }
        // SQLite refuses to begin a transaction inside another.
        Database::Sqlite(lite) => {
            sqlx::raw_sql("BEGIN IMMEDIATE; ROLLBACK").execute(lite.pool()).await.is_err()
        }
    }
}

async fn a_write_cancelled_at_any_point_leaves_no_connection_inside_a_transaction(s: &TestStore) {
    // One connection, so every step below gets the one the cancelled write used.
    let options = portcullis_store::ConnectOptions {
        url: s.url.clone(),
        max_connections: 1,
        connect_timeout: Duration::from_secs(10),
        statement_timeout: Duration::from_secs(10),
    };
    let database = Database::connect(&options).await.expect("connect");
    database.migrate().await.expect("migrate");
    let store = database.store();
    let user = UserId::new();
    let mut cancelled = 0;
    // Drop the write at its first, second, third... wait: on PostgreSQL the second is
    // `BEGIN`'s round trip (sqlx 0.9 leaked the transaction there).
    for step in 0..60usize {
        let stop_at = step % 12;
        let mut write = Box::pin(store.set_user_disabled(user, true, time::OffsetDateTime::UNIX_EPOCH, None));
        let mut waits = 0;
        let finished = std::future::poll_fn(|cx| match write.as_mut().poll(cx) {
            Poll::Ready(_) => Poll::Ready(true),
            Poll::Pending if waits == stop_at => Poll::Ready(false),
            Poll::Pending => {
                waits += 1;
                Poll::Pending
            }
        })
        .await;
        drop(write);
        if !finished {
            cancelled += 1;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert!(
            !left_in_a_transaction(&database).await,
            "after a write dropped at its wait {stop_at} the pooled connection was left inside a transaction"
        );
    }
    assert!(cancelled > 0, "some writes were cancelled");
    database.close().await;
}

conformance!(a_write_cancelled_at_any_point_leaves_no_connection_inside_a_transaction);
