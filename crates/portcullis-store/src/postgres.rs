//! PostgreSQL: a pool for many stateless nodes; migrations serialised by an advisory
//! lock so nodes starting together on an empty database agree (see `backend.rs`).

use std::str::FromStr as _;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::error::ConnectError;
use crate::{ConnectOptions, SqlStore};

/// The store on a PostgreSQL database.
pub type PgStore = SqlStore<sqlx::Postgres>;

/// A pooled connection idle for this long is pinged before it is handed out.
const PING_IDLE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

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
            // sqlx pings a connection before every acquisition by default: a
            // round trip to the server before each store operation. Only a
            // connection idle for a while is pinged (the server may have restarted
            // or closed it meanwhile); one in steady use proves itself by its last
            // query (BENCHMARKS.md, "Performance, round two", change 6).
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IDLE_AFTER {
                        use sqlx::Connection as _;
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(connect);
        Ok(Self::new(pool, options))
    }
}
