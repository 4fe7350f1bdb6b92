//! The SQLite file on a filesystem that fills up, and on one that is read-only.
//! A full disk: writes answer 503 (never 500), nothing acknowledged is lost, and
//! writes work again once there is room, without a restart. A read-only file can
//! only meet a node at start-up (Linux refuses to remount a filesystem read-only
//! while a file on it is open for writing, as the database is): `serve` then
//! stops with one clear line, and starts normally once the file is writable,
//! with everything in it. The filesystem is a size-limited tmpfs mounted for the
//! test; where the machine does not allow mounting (no CAP_SYS_ADMIN), the test
//! says so and skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use super::{Attempt, NO_LIMITS, nothing_lost_nothing_half_written};
use crate::helpers::{Node, PASSWORD, client};

/// A tmpfs of `size` mounted on a fresh folder; unmounted on drop.
struct SmallDisk {
    dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<Self> {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("disk");
        std::fs::create_dir(&dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)");
            return None;
        }
        Some(Self { dir, _parent: parent })
    }

    fn remount(&self, mode: &str) {
        let s =
            Command::new("mount").args(["-o", &format!("remount,{mode}")]).arg(&self.dir).status().unwrap();
        assert!(s.success(), "remount {mode}");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

async fn register(node: &Node, email: &str) -> Attempt {
    let at = Instant::now();
    let res = client()
        .post(node.url("/api/v1/register"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    Attempt {
        email: email.into(),
        status: Some(res.status()),
        retry_after: res.headers().contains_key("retry-after"),
        took: at.elapsed(),
        at,
    }
}

/// Registers until one is acknowledged again (the circuit probes once a second).
async fn until_writes_work(node: &Node, prefix: &str, attempts: &mut Vec<Attempt>) {
    let deadline = Instant::now() + Duration::from_secs(15);
    for i in 0.. {
        let a = register(node, &format!("{prefix}{i}@example.com")).await;
        let ok = a.status == Some(StatusCode::CREATED);
        attempts.push(a);
        if ok {
            return;
        }
        assert!(Instant::now() < deadline, "writes did not come back:\n{}", node.log_text());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Fills the disk through registrations until one is refused, then checks that
/// writes keep being refused with 503 + Retry-After, quickly.
async fn refused_while_full(node: &Node, attempts: &mut Vec<Attempt>) {
    let mut refused = false;
    for i in 0..200 {
        let a = register(node, &format!("full{i}@example.com")).await;
        let status = a.status;
        attempts.push(a);
        match status {
            Some(StatusCode::CREATED) if !refused => {} // the WAL still had room
            Some(StatusCode::SERVICE_UNAVAILABLE) => {
                let a = attempts.last().unwrap();
                assert!(a.retry_after);
                assert!(a.took < Duration::from_secs(2), "{:?}", a.took);
                if refused && i > 0 {
                    break;
                }
                refused = true;
            }
            other => panic!("full{i}: {other:?} on a full disk:\n{}", node.log_text()),
        }
    }
    assert!(refused, "the disk never filled up");
    let res = client().get(node.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

fn fill(dir: &Path) -> PathBuf {
    let filler = dir.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 64 * 1024];
    while std::io::Write::write_all(&mut f, &block).is_ok() {}
    filler
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_refuses_writes_with_503_loses_nothing_and_recovers_without_restart() {
    let Some(disk) = SmallDisk::mount("8m") else { return };
    let url = format!("sqlite://{}", disk.dir.join("portcullis.db").display());
    let node = Node::start(&url, NO_LIMITS).await;
    let mut attempts = Vec::new();
    for i in 0..5 {
        let a = register(&node, &format!("first{i}@example.com")).await;
        assert_eq!(a.status, Some(StatusCode::CREATED));
        attempts.push(a);
    }
    let filler = fill(&disk.dir);
    refused_while_full(&node, &mut attempts).await;
    std::fs::remove_file(filler).unwrap();
    until_writes_work(&node, "roomy", &mut attempts).await;

    let acknowledged = nothing_lost_nothing_half_written(&node, &attempts).await;
    assert!(acknowledged >= 6, "{acknowledged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_read_only_file_stops_serve_with_one_clear_line_and_loses_nothing() {
    let Some(disk) = SmallDisk::mount("8m") else { return };
    let url = format!("sqlite://{}", disk.dir.join("portcullis.db").display());
    let node = Node::start(&url, NO_LIMITS).await;
    let mut attempts = Vec::new();
    for i in 0..3 {
        attempts.push(register(&node, &format!("kept{i}@example.com")).await);
    }
    drop(node);
    tokio::time::sleep(Duration::from_millis(300)).await;

    disk.remount("ro");
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .arg("serve")
            .env("PORTCULLIS_SERVER__BIND", "127.0.0.1:0")
            .env("PORTCULLIS_DATABASE__URL", &url)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("serve gives up on a read-only database")
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve ran on a read-only database:\n{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    // The first write that fails names it: the lock file next to the database,
    // or SQLite's own "attempt to write a readonly database".
    assert!(
        last.starts_with("error: ") && (last.contains("writable") || last.contains("readonly database")),
        "one clear line:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    disk.remount("rw");
    let node = Node::start(&url, NO_LIMITS).await;
    assert_eq!(nothing_lost_nothing_half_written(&node, &attempts).await, 3);
}
