//! SQLite: one file, WAL journal, foreign keys on, a busy timeout so writers queue
//! instead of failing, and `BEGIN IMMEDIATE` for transactions that write.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row as _, SqlitePool};

use crate::ConnectOptions;
use crate::error::ConnectError;
use crate::migrations::{MigrateError, SQLITE};

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

async fn begin_write(pool: &SqlitePool) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

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
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| fail(describe(&e)))?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(crate) async fn migrate(&self) -> Result<usize, MigrateError> {
        apply_migrations!(&self.pool, SQLITE, begin_write, "")
    }

    pub(crate) async fn pending_migrations(&self) -> Result<usize, MigrateError> {
        pending_migrations!(&self.pool, SQLITE)
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

store_impl!(SqliteStore, begin_write, "", claim_sql!(""));
