//! `portcullis backup FILE` and `portcullis restore FILE`: the embedded SQLite
//! database copied out while servers run, and put back while none does (see
//! `portcullis_store::backup`). PostgreSQL has its own tools (`pg_dump`).

use std::path::{Path, PathBuf};

use portcullis_store::backup::{self, BackupError};

use super::Failure;
use crate::config::Config;

/// The SQLite file `database.url` names; a usage error for PostgreSQL.
fn database_path(config: &Config, command: &str) -> Result<PathBuf, Failure> {
    backup::sqlite_path(&config.database.url).ok_or_else(|| {
        let hint = if config.database.url.starts_with("postgres") {
            "; for PostgreSQL use pg_dump and pg_restore (see the README)"
        } else {
            ""
        };
        Failure::usage(format!("database.url: `portcullis {command}` works on an SQLite file{hint}"))
    })
}

fn failure(e: &BackupError) -> Failure {
    if e.is_usage() { Failure::usage(e.to_string()) } else { Failure::runtime(e.to_string()) }
}

pub async fn backup(config: &Config, file: &Path) -> Result<(), Failure> {
    let db = database_path(config, "backup")?;
    let size = backup::backup(&db, file).await.map_err(|e| failure(&e))?;
    println!("backed up {} to {} ({size} bytes)", db.display(), file.display());
    Ok(())
}

pub async fn restore(config: &Config, file: &Path) -> Result<(), Failure> {
    let db = database_path(config, "restore")?;
    backup::restore(file, &db).await.map_err(|e| failure(&e))?;
    println!(
        "restored {} to {}; `portcullis migrate` (or starting the server) brings it up to date",
        file.display(),
        db.display()
    );
    Ok(())
}
