//! sqlx implementations of `portcullis_core::Store`: SQLite (the embedded default)
//! and PostgreSQL (for several nodes).
//!
//! The SQL is written once, generic over the sqlx database: one file per area
//! (`users`, `groups`, `sessions`, `mfa`, `events`, `throttle`, `keys`, `tokens`, `outbox`,
//! `passkeys`, `oauth/{clients,families}`, `admin`, `webhooks`), each implementing its core store trait
//! for [`SqlStore`] directly. What really differs between the backends (opening a
//! write transaction, serialising a throttle bucket or migrations, claiming mails)
//! is the [`Backend`] trait in `backend.rs`; the sqlx bounds every generic block
//! needs come from `#[generic_sql]` (crate `portcullis-store-macros`); connecting is
//! in `sqlite.rs` and `postgres.rs`. Each operation runs its body through the
//! store's [`circuit`]: bounded by a deadline, refused at once while
//! the database is known to be away; inside, `?` works on sqlx results and the
//! crate's `Error` becomes a core `StoreError` on the way out.
//!
//! `tests/conformance` runs every store operation directly on both backends.

mod account_page;
mod admin;
mod backend;
pub mod backup;
pub mod changes;
pub mod circuit;
mod devices;
mod email_signin;
mod error;
mod events;
mod groups;
mod identities;
mod import;
mod keys;
mod mfa;
mod migrations;
mod oauth;
mod outbox;
mod passkeys;
pub mod postgres;
mod rows;
mod sessions;
pub mod sqlite;
mod throttle;
mod tokens;
mod users;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::Store;

pub use backend::Backend;
pub use error::ConnectError;
use error::Error;

pub use migrations::MigrateError;

/// The store on one database; `SqliteStore` and `PgStore` name its two kinds.
pub struct SqlStore<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    circuit: Arc<circuit::Circuit>,
}

impl<DB: sqlx::Database> SqlStore<DB> {
    fn new(pool: sqlx::Pool<DB>, options: &ConnectOptions) -> Self {
        Self { pool, circuit: Arc::new(circuit::Circuit::new(options.statement_timeout)) }
    }

    pub fn pool(&self) -> &sqlx::Pool<DB> {
        &self.pool
    }

    /// Whether the store is refusing operations because the database is away.
    pub fn is_unavailable(&self) -> bool {
        self.circuit.is_open()
    }

    /// Runs the body of one store operation through the circuit.
    async fn run<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, portcullis_core::StoreError> {
        self.circuit.run(work).await
    }
}

/// The health check; every other operation is implemented in its area's file.
#[async_trait::async_trait]
impl<DB: Backend> Store for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    Self: portcullis_core::accounts::page::AccountPageStore
        + portcullis_core::UserStore
        + portcullis_core::GroupStore
        + portcullis_core::SessionStore
        + portcullis_core::MfaStore
        + portcullis_core::PasskeyStore
        + portcullis_core::TokenStore
        + portcullis_core::ClientStore
        + portcullis_core::FamilyStore
        + portcullis_core::KeyStore
        + portcullis_core::OutboxStore
        + portcullis_core::AuditStore
        + portcullis_core::ThrottleStore
        + portcullis_core::AdminStore
        + portcullis_core::IdentityStore
        + portcullis_core::store::ImportStore
        + portcullis_core::EmailSignInStore
        + portcullis_core::DeviceStore
        + portcullis_core::store::WebhookStore,
{
    async fn ping(&self) -> Result<(), portcullis_core::StoreError> {
        self.run(async {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        })
        .await
    }
}

// By hand: a derive would ask `DB: Clone`, which the sqlx database markers are not.
impl<DB: sqlx::Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self { pool: self.pool.clone(), circuit: self.circuit.clone() }
    }
}

impl<DB: sqlx::Database> std::fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("pool", &self.pool).field("circuit", &self.circuit).finish()
    }
}

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `sqlite://PATH` or `postgres://...`.
    pub url: String,
    pub max_connections: u32,
    /// Bounds connecting and waiting for a pooled connection.
    pub connect_timeout: Duration,
    /// Bounds every store operation (and, on PostgreSQL, every statement on the
    /// server): past it the database counts as unavailable.
    pub statement_timeout: Duration,
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
