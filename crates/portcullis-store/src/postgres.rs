//! PostgreSQL: a pool for many stateless nodes; migrations serialised by an advisory
//! lock so nodes starting together on an empty database agree (see `backend.rs`).

use std::str::FromStr as _;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::error::ConnectError;
use crate::{ConnectOptions, SqlStore};

/// The store on a PostgreSQL database.
pub type PgStore = SqlStore<sqlx::Postgres>;

impl PgStore {
    pub(crate) fn connect(options: &ConnectOptions) -> Result<Self, ConnectError> {
        let statement_timeout = options.statement_timeout.as_millis().to_string();
        let connect = PgConnectOptions::from_str(&options.url)
            .map_err(|e| ConnectError::Postgres(e.to_string()))?
            .options([("statement_timeout", statement_timeout.as_str())]);
        // Connect lazily so a node can start (and report not-ready) while the
        // database is down, and recover without a restart when it returns.
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            .connect_lazy_with(connect);
        Ok(Self::new(pool, options))
    }
}
