//! Embedded, append-only, versioned migrations: one folder per backend with the same
//! file names. Applying them is serialised (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a
//! transaction-scoped advisory lock) so several nodes may start at once.

use sqlx::Pool;

use portcullis_store_macros::generic_sql;

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migrations {
    ($dir:literal: $($version:literal $name:literal),* $(,)?) => {
        &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../migrations/", $dir, "/", $name, ".sql")),
        }),*]
    };
}

pub(crate) const SQLITE: &[Migration] = migrations!("sqlite": 1 "0001_initial", 2 "0002_events", 3 "0003_throttle", 4 "0004_mfa", 5 "0005_email", 6 "0006_oauth",
    7 "0007_passkeys", 8 "0008_resource_servers", 9 "0009_groups", 10 "0010_admin", 11 "0011_identities", 12 "0012_email_signin", 13 "0013_webhooks",
    14 "0014_change_feed");
pub(crate) const POSTGRES: &[Migration] = migrations!("postgres": 1 "0001_initial", 2 "0002_events", 3 "0003_throttle", 4 "0004_mfa", 5 "0005_email", 6 "0006_oauth",
    7 "0007_passkeys", 8 "0008_resource_servers", 9 "0009_groups", 10 "0010_admin", 11 "0011_identities", 12 "0012_email_signin", 13 "0013_webhooks",
    14 "0014_change_feed");

#[derive(Debug, thiserror::Error)]
#[error("migration {version} ({name}) failed: {reason}")]
pub struct MigrateError {
    pub version: i64,
    pub name: &'static str,
    pub reason: String,
}

impl MigrateError {
    pub(crate) fn new(m: &Migration, e: &sqlx::Error) -> Self {
        Self { version: m.version, name: m.name, reason: e.to_string() }
    }
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS portcullis_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL)";

/// Applies the backend's pending migrations, each in its own write transaction
/// that first takes `Backend::MIGRATION_LOCK`; returns how many ran.
#[generic_sql]
pub(crate) async fn apply<DB>(pool: &Pool<DB>) -> Result<usize, MigrateError> {
    let mut applied = 0usize;
    for m in DB::MIGRATIONS {
        if apply_one(pool, m).await.map_err(|e| MigrateError::new(m, &e))? {
            tracing::info!(version = m.version, name = m.name, "applied migration");
            applied += 1;
        }
    }
    Ok(applied)
}

/// Applies `m` unless it is recorded already; whether it ran.
#[generic_sql]
async fn apply_one<DB>(pool: &Pool<DB>, m: &Migration) -> Result<bool, sqlx::Error> {
    let mut tx = DB::begin_write(pool).await?;
    if let Some(unlimited) = DB::MIGRATION_UNLIMITED {
        sqlx::query(unlimited).execute(&mut *tx).await?;
    }
    if let Some(lock) = DB::MIGRATION_LOCK {
        sqlx::query(lock).execute(&mut *tx).await?;
    }
    sqlx::raw_sql(CREATE_TABLE).execute(&mut *tx).await?;
    let done: Option<i64> =
        sqlx::query_scalar("SELECT version FROM portcullis_migrations WHERE version = $1")
            .bind(m.version)
            .fetch_optional(&mut *tx)
            .await?;
    if done.is_some() {
        return Ok(false);
    }
    sqlx::raw_sql(m.sql).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO portcullis_migrations (version, name) VALUES ($1, $2)")
        .bind(m.version)
        .bind(m.name)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Counts the backend's migrations not recorded yet.
#[generic_sql]
pub(crate) async fn pending<DB>(pool: &Pool<DB>) -> Result<usize, MigrateError> {
    let applied: Vec<i64> =
        match sqlx::query_scalar("SELECT version FROM portcullis_migrations").fetch_all(pool).await {
            Ok(v) => v,
            // No table yet: nothing applied.
            Err(sqlx::Error::Database(_)) => Vec::new(),
            Err(e) => {
                let first = DB::MIGRATIONS.first().unwrap_or(&UNKNOWN);
                return Err(MigrateError::new(first, &e));
            }
        };
    Ok(DB::MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)).count())
}

/// Names a failure that no one migration caused.
const UNKNOWN: Migration = Migration { version: 0, name: "none", sql: "" };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |l: &[Migration]| l.iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
        assert_eq!(names(SQLITE), names(POSTGRES));
        // Versions only increase; a gap is allowed (each version is applied on its
        // own, looked up by number), so work on parallel branches can reserve numbers.
        for pair in SQLITE.windows(2) {
            assert!(pair[0].version < pair[1].version, "versions increase");
        }
        for m in SQLITE {
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
        }
    }
}
