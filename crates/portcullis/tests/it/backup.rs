//! `portcullis backup` and `portcullis restore` on the embedded SQLite database, run
//! as an operator runs them beside a real `portcullis serve`: a backup taken while
//! the server acknowledges registrations holds every one acknowledged before it
//! began, and the restored copy opens, migrates and serves; a restore refuses while
//! a server holds the database, never lets the old database's WAL into the restored
//! one, and killed at any moment leaves the old database or the restored one.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection as _;

use crate::helpers::{Node, PASSWORD, client, portcullis_command, run_portcullis};

/// These tests register many users from one address; throttling is not their subject.
const NO_LIMITS: (&str, &str) = ("PORTCULLIS_RATE_LIMIT__ENABLED", "false");

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// Panics with the command's stderr unless it exited 0.
fn assert_ok(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{what} succeeds; stderr:\n{stderr}");
}

/// The one `error: ` line of a command that exited with `code`.
fn error_line(out: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "exit code; stderr:\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "exactly one error line:\n{stderr}");
    assert!(!stderr.contains("panicked"), "no panic:\n{stderr}");
    errors[0].to_owned()
}

async fn register(c: &reqwest::Client, node: &Node, email: &str) -> StatusCode {
    let body = json!({"email": email, "password": PASSWORD});
    c.post(node.url("/api/v1/register")).json(&body).send().await.expect("register request").status()
}

async fn signs_in(node: &Node, email: &str) -> bool {
    let body = json!({"email": email, "password": PASSWORD});
    let res = client().post(node.url("/api/v1/login")).json(&body).send().await.expect("login request");
    res.status() == StatusCode::OK
}

/// Polls `done` every 10 ms for up to 30 s.
async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every registration a node acknowledged (201), with when the answer came.
type Acknowledged = Arc<Mutex<Vec<(String, Instant)>>>;

/// Registers `writer-N-I@example.com`, one after another, until `stop`.
async fn write_until(node: Arc<Node>, writer: usize, acked: Acknowledged, stop: Arc<AtomicBool>) {
    let c = client();
    for i in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let email = format!("writer-{writer}-{i}@example.com");
        let status = register(&c, &node, &email).await;
        assert_eq!(status, StatusCode::CREATED, "registration of {email}");
        acked.lock().unwrap().push((email, Instant::now()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_load_holds_every_write_acknowledged_before_it_began() {
    let dir = tempfile::tempdir().expect("temp dir");
    let live = sqlite_url(&dir.path().join("live.db"));
    let node = Arc::new(Node::start(&live, &[NO_LIMITS]).await);
    let acked = Acknowledged::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> =
        (0..3).map(|w| tokio::spawn(write_until(node.clone(), w, acked.clone(), stop.clone()))).collect();
    wait_until("30 registrations are acknowledged", || acked.lock().unwrap().len() >= 30).await;

    let before: Vec<String> = acked.lock().unwrap().iter().map(|(e, _)| e.clone()).collect();
    let started = Instant::now();
    let backup = dir.path().join("backups").join("live.db.backup");
    std::fs::create_dir(backup.parent().unwrap()).unwrap();
    let out = run_portcullis(&live, &["backup", arg(&backup)]).await;
    let finished = Instant::now();
    assert_ok(&out, "portcullis backup");
    let total = acked.lock().unwrap().len();
    wait_until("the server goes on acknowledging", || acked.lock().unwrap().len() >= total + 5).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("writer");
    }
    let acked = acked.lock().unwrap().clone();
    let during = acked.iter().filter(|(_, at)| *at > started && *at < finished).count();
    assert!(during > 0, "registrations were acknowledged while the backup ran");

    // Restored into a fresh place: it opens, migrates, and every registration
    // acknowledged before the backup began signs in.
    let fresh = dir.path().join("restored").join("p.db");
    std::fs::create_dir(fresh.parent().unwrap()).unwrap();
    let fresh_url = sqlite_url(&fresh);
    assert_ok(&run_portcullis(&fresh_url, &["restore", arg(&backup)]).await, "portcullis restore");
    assert_ok(&run_portcullis(&fresh_url, &["migrate"]).await, "portcullis migrate on the restored copy");
    let restored =
        Node::start(&fresh_url, &[NO_LIMITS, ("PORTCULLIS_DATABASE__AUTO_MIGRATE", "false")]).await;
    for email in &before {
        assert!(signs_in(&restored, email).await, "{email}, acknowledged before the backup, signs in");
    }
    println!(
        "backup took {:?}; {} registrations acknowledged before it, {during} while it ran, {} in all",
        finished - started,
        before.len(),
        acked.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_while_a_server_holds_the_database_and_never_replays_the_old_wal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, backup) = (dir.path().join("p.db"), dir.path().join("p.db.backup"));
    let url = sqlite_url(&db);
    let node = Node::start(&url, &[NO_LIMITS]).await;
    assert_eq!(register(&client(), &node, "alice@example.com").await, StatusCode::CREATED);
    assert_ok(&run_portcullis(&url, &["backup", arg(&backup)]).await, "portcullis backup");
    assert_eq!(register(&client(), &node, "bob@example.com").await, StatusCode::CREATED);

    let refused = run_portcullis(&url, &["restore", arg(&backup)]).await;
    assert!(error_line(&refused, 1).contains("in use by a running Portcullis"), "{refused:?}");
    assert!(signs_in(&node, "bob@example.com").await, "the live database is untouched");

    // Killed, the server leaves Bob's registration in the WAL only; the lock goes
    // with the process.
    node.kill().await;
    let wal = dir.path().join("p.db-wal");
    assert!(wal.metadata().is_ok_and(|m| m.len() > 0), "the killed server left a WAL with writes in it");
    assert_ok(&run_portcullis(&url, &["restore", arg(&backup)]).await, "portcullis restore");
    assert!(!wal.exists(), "the old WAL is gone");

    let node = Node::start(&url, &[NO_LIMITS]).await;
    assert!(signs_in(&node, "alice@example.com").await, "the backup's user signs in");
    assert!(!signs_in(&node, "bob@example.com").await, "nothing of the old WAL came back");
}

/// What a server opening `db` now would find: `Old` (Bob, registered after the
/// backup, is there) or `Restored`; panics on anything else (a damaged database,
/// or Alice, who is in both, missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Old,
    Restored,
}

async fn found(db: &Path) -> Found {
    // On a copy, so that looking (which may replay and checkpoint the WAL) changes nothing.
    let scratch = tempfile::tempdir().expect("temp dir");
    let copy = scratch.path().join("p.db");
    std::fs::copy(db, &copy).expect("copy the database");
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    if wal.exists() {
        std::fs::copy(&wal, scratch.path().join("p.db-wal")).expect("copy the WAL");
    }
    let mut conn = sqlx::SqliteConnection::connect(&sqlite_url(&copy)).await.expect("the database opens");
    let check: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut conn).await.unwrap();
    assert_eq!(check, ["ok"], "the database is intact");
    let emails: Vec<String> =
        sqlx::query_scalar("SELECT email FROM users").fetch_all(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    assert!(emails.iter().any(|e| e == "alice@example.com"), "Alice is there: {emails:?}");
    if emails.iter().any(|e| e == "bob@example.com") { Found::Old } else { Found::Restored }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_killed_at_any_moment_leaves_the_old_database_or_the_restored_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, backup) = (dir.path().join("p.db"), dir.path().join("p.db.backup"));
    let url = sqlite_url(&db);
    let node = Node::start(&url, &[NO_LIMITS]).await;
    assert_eq!(register(&client(), &node, "alice@example.com").await, StatusCode::CREATED);
    assert_ok(&run_portcullis(&url, &["backup", arg(&backup)]).await, "portcullis backup");
    assert_eq!(register(&client(), &node, "bob@example.com").await, StatusCode::CREATED);
    node.kill().await;
    assert_eq!(found(&db).await, Found::Old);

    // How long a whole restore takes here (onto a copy), to spread the kills over it.
    let trial = dir.path().join("trial.db");
    std::fs::copy(&db, &trial).unwrap();
    let timer = Instant::now();
    assert_ok(&run_portcullis(&sqlite_url(&trial), &["restore", arg(&backup)]).await, "a trial restore");
    let whole = timer.elapsed();

    let mut seen = Vec::new();
    for step in 0..12_u32 {
        let (mut cmd, _cwd) = portcullis_command(&url, &["restore", arg(&backup)]);
        let mut child =
            cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
        tokio::time::sleep(whole * step / 10).await;
        let _ = child.start_kill();
        let status = child.wait().await.expect("wait for the restore");
        seen.push((status.code(), found(&db).await));
    }
    println!("a restore takes {whole:?} here; (exit code, what was left) at each kill: {seen:?}");

    assert_ok(&run_portcullis(&url, &["restore", arg(&backup)]).await, "an uninterrupted restore");
    assert_eq!(found(&db).await, Found::Restored);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".restore-"))
        .collect();
    assert!(leftovers.is_empty(), "the killed restores' temporary files were cleared: {leftovers:?}");
}

#[tokio::test]
async fn backup_and_restore_refuse_what_they_cannot_do_with_one_error_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("p.db");
    let url = sqlite_url(&db);
    assert_ok(&run_portcullis(&url, &["migrate"]).await, "portcullis migrate");
    let target = dir.path().join("b.db");

    let out = run_portcullis("postgres://127.0.0.1:1/p", &["backup", arg(&target)]).await;
    assert!(error_line(&out, 2).contains("pg_dump"), "PostgreSQL is backed up with its own tools");
    let missing = sqlite_url(&dir.path().join("missing.db"));
    let out = run_portcullis(&missing, &["backup", arg(&target)]).await;
    assert!(error_line(&out, 2).contains("no database at"), "{out:?}");
    assert!(!dir.path().join("missing.db").exists(), "a backup creates no database");
    let out = run_portcullis(&url, &["backup", arg(&db)]).await;
    assert!(error_line(&out, 2).contains("same file"), "{out:?}");

    let out = run_portcullis(&url, &["restore", arg(&target)]).await;
    assert!(error_line(&out, 2).contains("no backup file"), "{out:?}");
    std::fs::write(&target, b"not a database, though long enough to look like one at first sight......")
        .unwrap();
    let out = run_portcullis(&url, &["restore", arg(&target)]).await;
    assert!(error_line(&out, 2).contains("is not a Portcullis database"), "{out:?}");
    let foreign = dir.path().join("foreign.db");
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("{}?mode=rwc", sqlite_url(&foreign))).await.unwrap();
    sqlx::raw_sql("CREATE TABLE t (x INTEGER)").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    let out = run_portcullis(&url, &["restore", arg(&foreign)]).await;
    assert!(error_line(&out, 2).contains("no migrations recorded"), "{out:?}");

    // The refusals left the database as it was.
    let out = run_portcullis(&url, &["user", "list", "--json"]).await;
    assert_ok(&out, "user list");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
}
