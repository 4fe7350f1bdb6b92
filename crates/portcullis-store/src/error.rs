//! The store's errors: `ConnectError` for start-up, and `Error`, which every query
//! returns so that `?` works on sqlx results; it becomes a core `StoreError` once,
//! in `From<Error> for StoreError`, which `Circuit::run` applies to every store
//! operation.

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

/// What a query can fail with inside the store.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A uniqueness rule the caller named (see `Conflict::conflict_on`).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// What the store traits return.
pub(crate) type R<T> = std::result::Result<T, StoreError>;

/// Names the uniqueness rule a statement may break, e.g. `"email"`.
pub(crate) trait Conflict<T> {
    fn conflict_on(self, rule: &'static str) -> Result<T>;
}

impl<T> Conflict<T> for std::result::Result<T, sqlx::Error> {
    fn conflict_on(self, rule: &'static str) -> Result<T> {
        self.map_err(|e| match e {
            sqlx::Error::Database(ref db) if db.is_unique_violation() => Error::Conflict(rule),
            other => Error::Sqlx(other),
        })
    }
}

impl From<Error> for StoreError {
    /// Unique violations are conflicts (named, or "row" where the statement did not
    /// expect one), connection trouble is "unavailable", anything else is internal.
    fn from(e: Error) -> Self {
        let e = match e {
            Error::Conflict(rule) => return StoreError::Conflict(rule),
            Error::Sqlx(e) => e,
        };
        match e {
            sqlx::Error::Database(ref db) if db.is_unique_violation() => StoreError::Conflict("row"),
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
}

/// PostgreSQL SQLSTATE classes 08 (connection exception) and 57P (operator
/// intervention: shutdown, crash), 57014 (a statement cancelled at
/// `statement_timeout`); SQLite (numeric codes, primary or extended) BUSY (5),
/// LOCKED (6), READONLY (8), IOERR (10), FULL (13) and CANTOPEN (14): the disk
/// or the file, not the statement.
fn is_connection_failure(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    if let Ok(sqlite) = code.parse::<u32>()
        && code.len() < 5
    {
        return matches!(sqlite & 0xff, 5 | 6 | 8 | 10 | 13 | 14);
    }
    code.starts_with("08") || code.starts_with("57P") || code == "57014"
}

/// A value read back that the domain rejects (a malformed id, an unknown kind).
pub(crate) fn decode(what: impl Into<String>) -> sqlx::Error {
    sqlx::Error::Decode(what.into().into())
}
