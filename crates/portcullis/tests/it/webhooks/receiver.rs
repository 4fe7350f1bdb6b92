//! The webhook receiver the tests deliver to: `tests/webhook-receiver/receiver.py`,
//! a real HTTP server in its own process that verifies every request with the
//! Standard Webhooks reference library for Python (`standardwebhooks`, in the
//! venv scripts/test makes beside it) and reports what it got.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

/// The venv's Python, or `None` (a printed reason) when it is missing, which
/// fails under `CI=true`.
pub fn python() -> Option<PathBuf> {
    let path = std::env::var_os("PCTEST_WEBHOOK_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/webhook-receiver/.venv/bin/python"),
        PathBuf::from,
    );
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {} is missing: scripts/test installs tests/webhook-receiver/requirements.txt there",
        path.display()
    );
    eprintln!("SKIPPED: no webhook receiver venv at {}; run scripts/test", path.display());
    None
}

/// One request the receiver answered.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub verified: bool,
    /// The `webhook-id` header.
    pub id: String,
    pub payload: Value,
}

pub struct Receiver {
    pub port: u16,
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: Arc<Mutex<Vec<Value>>>,
    _drain: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Starts the receiver on `port` (0: an ephemeral one).
    pub async fn start(python: &PathBuf, port: u16) -> Self {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/webhook-receiver/receiver.py");
        let mut child = tokio::process::Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the receiver starts");
        let stdin = child.stdin.take().expect("stdin");
        let mut out = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), out.next_line())
            .await
            .expect("the receiver says where it listens")
            .expect("read the receiver")
            .expect("a first line");
        let port: u16 =
            first.strip_prefix("listening ").and_then(|p| p.parse().ok()).expect("listening PORT");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let drain = tokio::spawn(async move {
            while let Ok(Some(line)) = out.next_line().await {
                sink.lock().unwrap().push(serde_json::from_str(&line).expect("a JSON line"));
            }
        });
        Self { port, child, stdin, lines, _drain: drain }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Gives the receiver the signing secret of requests to `path`.
    pub async fn set_secret(&mut self, path: &str, secret: &str) {
        self.stdin.write_all(format!("secret {path} {secret}\n").as_bytes()).await.expect("write");
        self.stdin.flush().await.expect("flush");
        let acked = crate::webhooks::eventually(Duration::from_secs(10), async || {
            self.lines.lock().unwrap().iter().any(|l| l["ack"] == path)
        })
        .await;
        assert!(acked, "the receiver took the secret for {path}");
    }

    /// Every request answered so far (verified or not), in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.get("ack").is_none())
            .map(|l| Received {
                path: l["path"].as_str().unwrap_or_default().to_owned(),
                verified: l["verified"] == true,
                id: l["id"].as_str().unwrap_or_default().to_owned(),
                payload: l["payload"].clone(),
            })
            .collect()
    }

    /// The verified events of requests to `path`.
    pub fn verified_at(&self, path: &str) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.path == path && r.verified).collect()
    }

    /// Stops the receiver; its port is free again.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}
