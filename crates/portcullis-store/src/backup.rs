//! Backups of the embedded SQLite database, and the lock that keeps a restore away
//! from a running server.
//!
//! A backup is `VACUUM INTO` a temporary file next to the destination: SQLite reads
//! one snapshot (a WAL read transaction, so the server keeps writing meanwhile) and
//! writes a compact copy in rollback-journal mode, which is checked, flushed to disk
//! and then renamed over the destination. A restore reads the backup the same way
//! (checking it first) into a temporary file next to the database and renames it
//! over the database, after retiring the old database's `-wal`, `-shm` and
//! `-journal` files so they can never be replayed into the new one. A rename is
//! atomic: interrupted anywhere, the database is the old one or the new one.
//!
//! The lock is `PATH-lock`, a file next to the database, locked with the operating
//! system's advisory file locks (`flock` on Unix): every Portcullis process that
//! uses the database holds it shared for as long as it runs; a restore takes it
//! exclusively, so it refuses while a server (or a command) holds the database, and
//! a server cannot start during a restore. SQLite's own locks cannot tell this: an
//! idle connection pool holds none. The kernel drops the lock when its process
//! ends, however it ends, so no stale lock survives a crash.

use std::fs::{File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::migrations::SQLITE;

/// Why a backup, a restore or taking the lock failed. `Display` is one line.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("no database at {}", .0.display())]
    NoDatabase(PathBuf),
    #[error("no backup file at {}", .0.display())]
    NoBackup(PathBuf),
    #[error("the backup file and the database are the same file ({})", .0.display())]
    SameFile(PathBuf),
    #[error(
        "{} is in use by a running Portcullis server or command (it holds {}); stop it first",
        .0.display(), lock_path(.0).display()
    )]
    InUse(PathBuf),
    #[error("{} is being restored (portcullis restore); try again when that has finished", .0.display())]
    Restoring(PathBuf),
    #[error("{} is not a Portcullis database: {reason}", path.display())]
    NotADatabase { path: PathBuf, reason: String },
    #[error(
        "{} comes from a newer Portcullis (its migration {version} is unknown to this one); \
         restore it with that version",
        path.display()
    )]
    TooNew { path: PathBuf, version: i64 },
    #[error("{what} {}: {}", path.display(), describe_io(.source))]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Sqlite { path: PathBuf, reason: String },
}

impl BackupError {
    /// Whether the command line or `database.url` was wrong (no such database, a bad
    /// `FILE`) rather than the run failing.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::NoDatabase(_)
                | Self::NoBackup(_)
                | Self::SameFile(_)
                | Self::NotADatabase { .. }
                | Self::TooNew { .. }
        )
    }

    fn io(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Self {
        let path = path.to_owned();
        move |source| Self::Io { what, path, source }
    }

    fn sqlite(path: &Path) -> impl FnOnce(sqlx::Error) -> Self {
        let path = path.to_owned();
        move |e| Self::Sqlite { path, reason: describe_sqlx(&e) }
    }
}

/// "permission denied" rather than "Permission denied (os error 13)".
fn describe_io(e: &io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or_default();
    let mut chars = text.chars();
    chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

fn describe_sqlx(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::Io(io) => describe_io(io),
        other => other.to_string(),
    }
}

/// The file path of an SQLite `database.url` (`sqlite://PATH` or `sqlite:PATH`,
/// query options cut off); `None` for PostgreSQL and in-memory databases.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty() || path == ":memory:" || options.split('&').any(|o| o == "mode=memory");
    (!in_memory).then(|| PathBuf::from(path))
}

/// `PATH-lock`, next to the database `PATH` (like SQLite's `-wal` and `-shm`).
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-lock");
    PathBuf::from(name)
}

/// The database's lock file, locked for as long as this value lives.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
}

impl DatabaseLock {
    /// Held by every process that uses the database; fails (at once) only while a
    /// restore runs.
    pub fn shared(db: &Path) -> Result<Self, BackupError> {
        let file = open_lock_file(db)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(BackupError::Restoring(db.to_owned())),
            Err(TryLockError::Error(e)) => Err(BackupError::io("cannot lock", &lock_path(db))(e)),
        }
    }

    /// Held by a restore; fails (at once) while any other process holds the lock.
    pub fn exclusive(db: &Path) -> Result<Self, BackupError> {
        let file = open_lock_file(db)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(BackupError::InUse(db.to_owned())),
            Err(TryLockError::Error(e)) => Err(BackupError::io("cannot lock", &lock_path(db))(e)),
        }
    }
}

fn open_lock_file(db: &Path) -> Result<File, BackupError> {
    let path = lock_path(db);
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(BackupError::io("cannot create or open the lock file", &path))
}

/// Writes a consistent copy of the database `db` to `dest` (replacing it) while
/// servers keep using `db`; returns the copy's size in bytes. Every write committed
/// before the copy began is in it.
pub async fn backup(db: &Path, dest: &Path) -> Result<u64, BackupError> {
    if !db.is_file() {
        return Err(BackupError::NoDatabase(db.to_owned()));
    }
    let _lock = DatabaseLock::shared(db)?;
    refuse_same_file(db, dest)?;
    let tmp = temp_file_beside(dest, "backup")?;
    let mut source = connect(db, false).await.map_err(BackupError::sqlite(db))?;
    let copied = vacuum_into(&mut source, tmp.path()).await.map_err(BackupError::sqlite(db));
    let _ = source.close().await;
    copied?;
    // Read back what was written before it replaces anything.
    let mut copy = connect(tmp.path(), true).await.map_err(BackupError::sqlite(tmp.path()))?;
    let intact = integrity(&mut copy).await;
    let _ = copy.close().await;
    intact.map_err(|reason| BackupError::Sqlite { path: tmp.path().to_owned(), reason })?;
    let size = tmp.as_file().metadata().map_err(BackupError::io("cannot read", tmp.path()))?.len();
    put_in_place(tmp, dest)?;
    Ok(size)
}

/// Replaces the database `db` (which may not exist yet) with the backup `backup`,
/// refusing while any Portcullis process uses `db`. Interrupted, it leaves either
/// the old database or the restored one, never a mix.
pub async fn restore(backup: &Path, db: &Path) -> Result<(), BackupError> {
    if !backup.is_file() {
        return Err(BackupError::NoBackup(backup.to_owned()));
    }
    let _lock = DatabaseLock::exclusive(db)?;
    refuse_same_file(db, backup)?;
    remove_stale_temp_files(db);
    let tmp = temp_file_beside(db, "restore")?;
    let not_a_database = |reason| BackupError::NotADatabase { path: backup.to_owned(), reason };
    let mut source = connect(backup, true).await.map_err(|e| not_a_database(describe_sqlx(&e)))?;
    let copied = async {
        integrity(&mut source).await.map_err(not_a_database)?;
        known_migrations(&mut source, backup).await?;
        vacuum_into(&mut source, tmp.path()).await.map_err(BackupError::sqlite(backup))
    }
    .await;
    let _ = source.close().await;
    copied?;
    keep_owner_and_mode(db, tmp.path())?;
    retire(db).await?;
    put_in_place(tmp, db)
}

/// One connection to an existing database file (never created here). Read-only
/// for a file only read, so that it is never changed.
async fn connect(path: &Path, read_only: bool) -> Result<SqliteConnection, sqlx::Error> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .read_only(read_only)
        .busy_timeout(Duration::from_secs(10));
    SqliteConnection::connect_with(&options).await
}

/// `VACUUM INTO` the (existing, empty) file `into`: one read transaction of
/// `source`, so a consistent snapshot.
async fn vacuum_into(source: &mut SqliteConnection, into: &Path) -> Result<(), sqlx::Error> {
    let target =
        into.to_str().ok_or_else(|| sqlx::Error::Configuration("the path is not valid UTF-8".into()))?;
    sqlx::query("VACUUM INTO $1").bind(target).execute(&mut *source).await?;
    Ok(())
}

/// SQLite's integrity check: `Err` with what it found unless it passes.
async fn integrity(conn: &mut SqliteConnection) -> Result<(), String> {
    let found: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| describe_sqlx(&e))?;
    if found != ["ok"] {
        return Err(format!("SQLite's integrity check failed: {}", found.join("; ")));
    }
    Ok(())
}

/// Refuses a database without recorded migrations, or with one this version does
/// not know (it could not run on it).
async fn known_migrations(conn: &mut SqliteConnection, path: &Path) -> Result<(), BackupError> {
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM portcullis_migrations ORDER BY version")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| BackupError::NotADatabase {
            path: path.to_owned(),
            reason: format!("no migrations recorded ({})", describe_sqlx(&e)),
        })?;
    if let Some(&version) = versions.iter().find(|v| !SQLITE.iter().any(|m| m.version == **v)) {
        return Err(BackupError::TooNew { path: path.to_owned(), version });
    }
    Ok(())
}

/// Refuses when `other` is the database itself or one of its companion files.
fn refuse_same_file(db: &Path, other: &Path) -> Result<(), BackupError> {
    let Ok(other) = other.canonicalize() else { return Ok(()) };
    let Ok(db) = db.canonicalize() else { return Ok(()) };
    let companions = [db.clone(), companion(&db, "-wal"), companion(&db, "-shm"), lock_path(&db)];
    if companions.contains(&other) {
        return Err(BackupError::SameFile(db));
    }
    Ok(())
}

fn companion(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// An empty file `.NAME.KIND-XXXXXX` in `path`'s folder (same file system, so it
/// can be renamed onto `path`); removed again if dropped before `put_in_place`.
fn temp_file_beside(path: &Path, kind: &str) -> Result<tempfile::NamedTempFile, BackupError> {
    let dir = parent(path);
    tempfile::Builder::new()
        .prefix(&format!(".{}.{kind}-", file_name(path)))
        .tempfile_in(dir)
        .map_err(BackupError::io("cannot create a file in", dir))
}

/// A restore killed before its rename leaves its temporary file; the next one
/// (holding the lock, so no other restore is writing one) removes it.
fn remove_stale_temp_files(db: &Path) {
    let prefix = format!(".{}.restore-", file_name(db));
    let Ok(entries) = std::fs::read_dir(parent(db)) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Gives the restored file the old database's permissions and owner, so the
/// server that used the old one can open it (a temporary file is private).
fn keep_owner_and_mode(db: &Path, tmp: &Path) -> Result<(), BackupError> {
    let Ok(old) = std::fs::metadata(db) else { return Ok(()) };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let new = std::fs::metadata(tmp).map_err(BackupError::io("cannot read", tmp))?;
        if (new.uid(), new.gid()) != (old.uid(), old.gid()) {
            std::os::unix::fs::chown(tmp, Some(old.uid()), Some(old.gid()))
                .map_err(BackupError::io("cannot give the restored file the owner of", db))?;
        }
    }
    std::fs::set_permissions(tmp, old.permissions())
        .map_err(BackupError::io("cannot give the restored file the permissions of", db))
}

/// Makes the old database safe to replace: its WAL checkpointed into it (so an
/// interruption before the rename leaves it whole), then its `-wal`, `-shm` and
/// `-journal` removed (so SQLite can never apply them to the restored file).
async fn retire(db: &Path) -> Result<(), BackupError> {
    if db.is_file() {
        // A damaged database may refuse; it is being replaced anyway.
        if let Ok(mut conn) = connect(db, false).await {
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await {
                tracing::warn!(error = %e, "restore: cannot checkpoint the database being replaced");
            }
            let _ = conn.close().await;
        }
    }
    for suffix in ["-wal", "-shm", "-journal"] {
        let path = companion(db, suffix);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(BackupError::io("cannot remove", &path)(e));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Flushes `tmp` to disk, renames it onto `path` and flushes the folder, so the
/// rename survives a power cut too.
fn put_in_place(tmp: tempfile::NamedTempFile, path: &Path) -> Result<(), BackupError> {
    tmp.as_file().sync_all().map_err(BackupError::io("cannot flush", tmp.path()))?;
    tmp.persist(path).map_err(|e| BackupError::io("cannot write", path)(e.error))?;
    sync_dir(parent(path))
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(BackupError::io("cannot flush", dir))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), BackupError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_of_an_sqlite_url() {
        assert_eq!(sqlite_path("sqlite://portcullis.db"), Some(PathBuf::from("portcullis.db")));
        assert_eq!(sqlite_path("sqlite:///var/lib/p.db?mode=rwc"), Some(PathBuf::from("/var/lib/p.db")));
        assert_eq!(sqlite_path("sqlite:p.db"), Some(PathBuf::from("p.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("sqlite://x.db?mode=memory"), None);
        assert_eq!(sqlite_path("postgres://localhost/p"), None);
        assert_eq!(lock_path(Path::new("/d/p.db")), PathBuf::from("/d/p.db-lock"));
    }

    #[test]
    fn a_shared_lock_keeps_the_exclusive_one_away_and_is_released_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("p.db");
        let server = DatabaseLock::shared(&db).unwrap();
        let command = DatabaseLock::shared(&db).expect("shared locks coexist");
        assert!(matches!(DatabaseLock::exclusive(&db), Err(BackupError::InUse(_))));
        drop((server, command));
        let restore = DatabaseLock::exclusive(&db).expect("free again");
        assert!(matches!(DatabaseLock::shared(&db), Err(BackupError::Restoring(_))));
        drop(restore);
    }
}
