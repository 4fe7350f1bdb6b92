//! sqlx implementations of `portcullis_core::Store`: SQLite (the embedded default)
//! and PostgreSQL (for several nodes).
//!
//! The SQL is written once, in plain functions generic over the sqlx database: one
//! file per area (`users`, `sessions`, `mfa`, `events`, `throttle`, `secrets`,
//! `tokens`, `outbox`, `passkeys`, `oauth/{keys,clients,families}`), each an
//! `impl` block on a small type borrowing the pool. `store_impl.rs` and
//! `area_impls.rs` implement core's store traits for [`SqlStore`] by handing each
//! method to its area. What really differs between the backends (opening a write
//! transaction, serialising a throttle bucket or migrations, claiming mails) is the
//! [`Backend`] trait in `backend.rs`; connecting is in `sqlite.rs` and
//! `postgres.rs`. Queries return the crate's `Error`, so `?` works on sqlx results;
//! it becomes a core `StoreError` in one `From` impl (`error.rs`).
//!
//! `tests/conformance` runs every store operation directly on both backends.

mod area_impls;
mod backend;
pub mod backup;
mod error;
mod events;
mod mfa;
mod migrations;
mod oauth;
mod outbox;
mod passkeys;
pub mod postgres;
mod rows;
mod secrets;
mod sessions;
pub mod sqlite;
mod store_impl;
mod throttle;
mod tokens;
mod users;

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::Store;

pub use backend::Backend;
pub use error::ConnectError;
pub(crate) use error::Error;
pub use migrations::MigrateError;

/// The store on one database; `SqliteStore` and `PgStore` name its two kinds.
pub struct SqlStore<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
}

impl<DB: sqlx::Database> SqlStore<DB> {
    pub fn pool(&self) -> &sqlx::Pool<DB> {
        &self.pool
    }
}

// By hand: a derive would ask `DB: Clone`, which the sqlx database markers are not.
impl<DB: sqlx::Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self { pool: self.pool.clone() }
    }
}

impl<DB: sqlx::Database> std::fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("pool", &self.pool).finish()
    }
}

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
            Self::Sqlite(s) => migrations::apply(&s.pool).await,
            Self::Postgres(s) => migrations::apply(&s.pool).await,
        }
    }

    /// Number of embedded migrations not yet applied.
    pub async fn pending_migrations(&self) -> Result<usize, MigrateError> {
        match self {
            Self::Sqlite(s) => migrations::pending(&s.pool).await,
            Self::Postgres(s) => migrations::pending(&s.pool).await,
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
