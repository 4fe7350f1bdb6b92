//! Embedded, append-only, versioned migrations: one folder per backend with the same
//! file names. Applying them is serialised (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a
//! transaction-scoped advisory lock) so several nodes may start at once.

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
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
    7 "0007_passkeys", 8 "0008_resource_servers");
pub(crate) const POSTGRES: &[Migration] = migrations!("postgres": 1 "0001_initial", 2 "0002_events", 3 "0003_throttle", 4 "0004_mfa", 5 "0005_email", 6 "0006_oauth",
    7 "0007_passkeys", 8 "0008_resource_servers");

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

pub(crate) const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS portcullis_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL)";

/// Applies `$list` on `$pool`, opening each write transaction with `$begin`, then
/// running `$lock` (an SQL statement, or "" for none) inside it.
macro_rules! apply_migrations {
    ($pool:expr, $list:expr, $begin:expr, $lock:expr) => {{
        let mut applied = 0usize;
        for m in $list {
            let step = async {
                let mut tx = $begin($pool).await?;
                if !$lock.is_empty() {
                    sqlx::query($lock).execute(&mut *tx).await?;
                }
                sqlx::raw_sql(crate::migrations::CREATE_TABLE).execute(&mut *tx).await?;
                let done: Option<i64> =
                    sqlx::query_scalar("SELECT version FROM portcullis_migrations WHERE version = $1")
                        .bind(m.version)
                        .fetch_optional(&mut *tx)
                        .await?;
                if done.is_some() {
                    return Ok::<bool, sqlx::Error>(false);
                }
                sqlx::raw_sql(m.sql).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO portcullis_migrations (version, name) VALUES ($1, $2)")
                    .bind(m.version)
                    .bind(m.name)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            };
            if step.await.map_err(|e| crate::migrations::MigrateError::new(m, &e))? {
                tracing::info!(version = m.version, name = m.name, "applied migration");
                applied += 1;
            }
        }
        Ok(applied)
    }};
}

/// Counts the migrations of `$list` not recorded yet.
macro_rules! pending_migrations {
    ($pool:expr, $list:expr) => {{
        let first = $list.first().expect("at least one migration");
        let applied: Vec<i64> =
            match sqlx::query_scalar("SELECT version FROM portcullis_migrations").fetch_all($pool).await {
                Ok(v) => v,
                // No table yet: nothing applied.
                Err(sqlx::Error::Database(_)) => Vec::new(),
                Err(e) => return Err(crate::migrations::MigrateError::new(first, &e)),
            };
        Ok($list.iter().filter(|m| !applied.contains(&m.version)).count())
    }};
}

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
