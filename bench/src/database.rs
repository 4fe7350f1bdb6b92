//! The scratch databases of a run: a SQLite file in the work folder, or a
//! PostgreSQL database created, migrated, seeded and dropped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use sqlx::Connection as _;

use crate::plan::{Ctx, SAMPLE, portcullis_command};
use crate::{Backend, machine, seed};

/// A scratch database: a SQLite file in the work folder, or a PostgreSQL database.
pub(crate) struct Database {
    pub(crate) url: String,
    kind: DatabaseKind,
}

enum DatabaseKind {
    Sqlite(PathBuf),
    Postgres { name: String },
}

impl Database {
    pub(crate) async fn create(ctx: &Ctx, backend: Backend, label: &str) -> anyhow::Result<Self> {
        let db = match backend {
            Backend::Sqlite => {
                let path = ctx.work.join(format!("{label}.db"));
                Self { url: format!("sqlite://{}", path.display()), kind: DatabaseKind::Sqlite(path) }
            }
            Backend::Postgres => {
                let name = format!("portcullis_bench_{}_{}", std::process::id(), label.replace('-', "_"));
                let mut admin =
                    sqlx::PgConnection::connect(&format!("{}/postgres", ctx.options.postgres)).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
                    .execute(&mut admin)
                    .await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await?;
                admin.close().await?;
                Self {
                    url: format!("{}/{name}", ctx.options.postgres),
                    kind: DatabaseKind::Postgres { name },
                }
            }
        };
        let status = portcullis_command(ctx, &db.url, "migrate").output().await?;
        if !status.status.success() {
            bail!("portcullis migrate failed: {}", String::from_utf8_lossy(&status.stderr).trim());
        }
        Ok(db)
    }

    pub(crate) async fn seed(&self, scale: u64, hash: &str) -> anyhow::Result<seed::Sample> {
        let now = machine::unix_now();
        match &self.kind {
            DatabaseKind::Sqlite(path) => seed::sqlite(path, scale, SAMPLE, hash, now).await,
            DatabaseKind::Postgres { .. } => seed::postgres(&self.url, scale, SAMPLE, hash, now).await,
        }
    }

    pub(crate) async fn drop(self, ctx: &Ctx) {
        if ctx.options.keep {
            eprintln!("    kept {}", self.url);
            return;
        }
        match self.kind {
            DatabaseKind::Sqlite(path) => remove_sqlite(&path),
            DatabaseKind::Postgres { name } => {
                let dropped = async {
                    let url = format!("{}/postgres", ctx.options.postgres);
                    let mut admin = sqlx::PgConnection::connect(&url).await?;
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await?;
                    admin.close().await
                };
                if let Err(e) = dropped.await {
                    eprintln!("warning: could not drop PostgreSQL database {name}: {e}");
                }
            }
        }
    }
}

fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

pub(crate) async fn postgres_reachable(server: &str) -> anyhow::Result<()> {
    let url = format!("{server}/postgres");
    let conn = tokio::time::timeout(Duration::from_secs(3), sqlx::PgConnection::connect(&url))
        .await
        .context("no answer within 3 s")??;
    conn.close().await?;
    Ok(())
}
