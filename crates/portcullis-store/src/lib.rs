//! sqlx implementations of `portcullis_core::Store`: SQLite (the embedded default)
//! and PostgreSQL (for several nodes). Both run the same SQL, stamped out by one
//! macro (`store_impl!` in `queries.rs`, with `tokens.rs`, `outbox.rs` and
//! `passkeys.rs`), so they
//! cannot drift apart; each backend module holds only what really differs
//! (connecting, migrations, locking, the outbox claim query).

mod error;
#[macro_use]
mod migrations;
#[macro_use]
mod outbox;
#[macro_use]
mod tokens;
#[macro_use]
mod oauth;
#[macro_use]
mod passkeys;
#[macro_use]
mod queries;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::Store;

pub use error::ConnectError;
pub use migrations::MigrateError;

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `sqlite://PATH` or `postgres://...`.
    pub url: String,
    pub max_connections: u32,
    pub connect_timeout: Duration,
}

/// A connected database of either kind.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

impl Database {
    /// Opens (creating an SQLite file if needed) without running migrations.
    pub async fn connect(options: &ConnectOptions) -> Result<Self, ConnectError> {
        if let Some(path) =
            options.url.strip_prefix("sqlite://").or_else(|| options.url.strip_prefix("sqlite:"))
        {
            Ok(Self::Sqlite(sqlite::SqliteStore::connect(path, options).await?))
        } else if options.url.starts_with("postgres://") || options.url.starts_with("postgresql://") {
            Ok(Self::Postgres(postgres::PgStore::connect(options)?))
        } else {
            Err(ConnectError::Url)
        }
    }

    /// Applies pending embedded migrations; returns how many ran.
    pub async fn migrate(&self) -> Result<usize, MigrateError> {
        match self {
            Self::Sqlite(s) => s.migrate().await,
            Self::Postgres(s) => s.migrate().await,
        }
    }

    /// Number of embedded migrations not yet applied.
    pub async fn pending_migrations(&self) -> Result<usize, MigrateError> {
        match self {
            Self::Sqlite(s) => s.pending_migrations().await,
            Self::Postgres(s) => s.pending_migrations().await,
        }
    }

    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(s) => Arc::new(s.clone()),
            Self::Postgres(s) => Arc::new(s.clone()),
        }
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.pool().close().await,
            Self::Postgres(s) => s.pool().close().await,
        }
    }
}
