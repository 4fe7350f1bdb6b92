//! Mapping sqlx errors to the store's typed errors, once for both backends.

use portcullis_core::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("database.url: must start with sqlite:// or postgres://")]
    Url,
    #[error("database.url: cannot open \"{path}\": {reason}")]
    Sqlite { path: String, reason: String },
    #[error("database.url: cannot connect to PostgreSQL: {0}")]
    Postgres(String),
}

/// Turns a sqlx error into a store error: unique violations are conflicts,
/// connection trouble is "unavailable", anything else is an internal error.
pub(crate) fn map(e: sqlx::Error, conflict_on: &'static str) -> StoreError {
    match e {
        sqlx::Error::Database(ref db) if db.is_unique_violation() => StoreError::Conflict(conflict_on),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Database(ref db) if is_connection_failure(db.code().as_deref()) => {
            StoreError::Unavailable(e.to_string())
        }
        other => StoreError::Other(other.to_string()),
    }
}

/// PostgreSQL SQLSTATE classes 08 (connection exception) and 57P (operator
/// intervention: shutdown, crash), and SQLite's SQLITE_BUSY (5) / SQLITE_LOCKED (6).
fn is_connection_failure(code: Option<&str>) -> bool {
    matches!(code, Some(c) if c.starts_with("08") || c.starts_with("57P") || c == "5" || c == "6")
}

pub(crate) fn other(e: sqlx::Error) -> StoreError {
    map(e, "row")
}
