//! PostgreSQL: a pool for many stateless nodes; migrations serialised by an advisory
//! lock so nodes starting together on an empty database agree.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row as _};
use std::str::FromStr as _;

use crate::ConnectOptions;
use crate::error::ConnectError;
use crate::migrations::{MigrateError, POSTGRES};

/// Key of the advisory lock taken while migrating ("portcul" in ASCII).
const MIGRATION_LOCK: &str = "SELECT pg_advisory_xact_lock(7021786279601516)";

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

/// Begins a transaction on its own task, so that it cannot be cancelled half-way.
///
/// sqlx 0.9's `Pool::begin` is not cancel-safe on PostgreSQL
/// (<https://github.com/transact-rs/sqlx/issues/4393>): dropped while `BEGIN` is on the
/// wire (a client that went away, a request timeout), it returns the connection to
/// the pool inside a transaction nothing will end, and the next borrower's writes run
/// in it, uncommitted. On a task of its own the begin always completes; if nobody
/// waits for it any more, the transaction is dropped there, which rolls it back.
async fn begin_write(pool: &PgPool) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let pool = pool.clone();
    tokio::spawn(async move { pool.begin().await })
        .await
        .map_err(|e| sqlx::Error::Io(std::io::Error::other(format!("beginning a transaction: {e}"))))?
}

impl PgStore {
    pub(crate) fn connect(options: &ConnectOptions) -> Result<Self, ConnectError> {
        let connect =
            PgConnectOptions::from_str(&options.url).map_err(|e| ConnectError::Postgres(e.to_string()))?;
        // Connect lazily so a node can start (and report not-ready) while the
        // database is down, and recover without a restart when it returns.
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            .connect_lazy_with(connect);
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) async fn migrate(&self) -> Result<usize, MigrateError> {
        apply_migrations!(&self.pool, POSTGRES, begin_write, MIGRATION_LOCK)
    }

    pub(crate) async fn pending_migrations(&self) -> Result<usize, MigrateError> {
        pending_migrations!(&self.pool, POSTGRES)
    }
}

/// Serialises attempts on one throttle bucket across nodes.
const LOCK_BUCKET: &str = "SELECT pg_advisory_xact_lock(hashtext($1))";

store_impl!(PgStore, begin_write, LOCK_BUCKET, claim_sql!("FOR UPDATE SKIP LOCKED"));
