//! SQLite: one file, WAL journal, foreign keys on, a busy timeout (the statement
//! timeout) so writers queue instead of failing. (Its `BEGIN IMMEDIATE` for writes is in `backend.rs`.)

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::ConnectError;
use crate::{ConnectOptions, SqlStore};

/// The store on an SQLite file.
pub type SqliteStore = SqlStore<sqlx::Sqlite>;

impl SqliteStore {
    pub(crate) async fn connect(path: &str, options: &ConnectOptions) -> Result<Self, ConnectError> {
        let fail = |reason: String| ConnectError::Sqlite { path: path.to_owned(), reason };
        if path.is_empty() {
            return Err(fail("the path is empty".into()));
        }
        let connect = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(|e| fail(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(options.statement_timeout.min(Duration::from_secs(10)));
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            // sqlx pings a connection before every acquisition by default: on
            // SQLite a round trip to the connection's thread for nothing (a file
            // cannot hang up), one of the two or more of every store operation
            // (BENCHMARKS.md, "Performance, round two", change 6).
            .test_before_acquire(false)
            // A connection that comes back still "in a transaction" is closed, not
            // reused: when a COMMIT fails because the disk is full, SQLite rolls the
            // transaction back itself, sqlx's own ROLLBACK then fails, and its count
            // of open transactions stays at one, so every later `BEGIN IMMEDIATE` on
            // that connection would fail (found by the full-disk fault test).
            .after_release(|conn, _| {
                use sqlx::Connection as _;
                let clean = !conn.is_in_transaction();
                Box::pin(async move { Ok(clean) })
            })
            .connect_with(connect)
            .await
            .map_err(|e| fail(describe(&e)))?;
        Ok(Self::new(pool, options))
    }
}

/// "permission denied" rather than sqlx's full error chain.
fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => {
            let msg = db.message();
            if msg.contains("unable to open") {
                "cannot create or open the file (check the folder exists and is writable)".to_owned()
            } else {
                msg.to_owned()
            }
        }
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            "permission denied".into()
        }
        other => other.to_string(),
    }
}
