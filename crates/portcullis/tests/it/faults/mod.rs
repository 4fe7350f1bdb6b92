//! The fault suite: the database stopped, unreachable without errors, the mail
//! server away, a node killed in the middle of writes, the SQLite file read-only
//! and its disk full. After each: nothing acknowledged lost, nothing half-written,
//! every node serving again without a restart, and the outage logged when it
//! started and ended rather than once per request.

mod database;
mod disk;
mod kill;
mod mail;
pub mod proxy;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Node, PASSWORD, client};

/// Environment of the nodes under load: every client shares one address.
pub const NO_LIMITS: &[(&str, &str)] = &[("PORTCULLIS_RATE_LIMIT__ENABLED", "false")];

/// One registration the load made, and how it was answered.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub email: String,
    /// None when no HTTP answer came (the node was killed, say).
    pub status: Option<StatusCode>,
    pub retry_after: bool,
    pub took: Duration,
    pub at: Instant,
}

/// Registrations sent without pause by a few clients, spread over the nodes.
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Attempt>>>,
}

impl Load {
    pub fn start(bases: &[String], clients: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(AtomicUsize::new(0));
        let tasks = (0..clients)
            .map(|i| {
                let (stop, counter) = (stop.clone(), counter.clone());
                let base = bases[i % bases.len()].clone();
                tokio::spawn(async move {
                    let c = client();
                    let mut done = Vec::new();
                    while !stop.load(Ordering::SeqCst) {
                        let n = counter.fetch_add(1, Ordering::SeqCst);
                        let email = format!("load{n}@example.com");
                        let at = Instant::now();
                        let res = c
                            .post(format!("{base}/api/v1/register"))
                            .json(&json!({"email": email, "password": PASSWORD}))
                            .timeout(Duration::from_secs(10))
                            .send()
                            .await;
                        let took = at.elapsed();
                        let (status, retry_after) = match &res {
                            Ok(r) => (Some(r.status()), r.headers().contains_key("retry-after")),
                            Err(_) => (None, false),
                        };
                        done.push(Attempt { email, status, retry_after, took, at });
                        if status.is_none() {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                    done
                })
            })
            .collect();
        Self { stop, tasks }
    }

    pub async fn stop(self) -> Vec<Attempt> {
        self.stop.store(true, Ordering::SeqCst);
        let mut all = Vec::new();
        for t in self.tasks {
            all.extend(t.await.unwrap());
        }
        all
    }
}

/// Every acknowledged (201) registration signs in on `node`; every other one
/// either signs in or is unknown, never half there. Returns how many were acknowledged.
pub async fn nothing_lost_nothing_half_written(node: &Node, attempts: &[Attempt]) -> usize {
    let c = client();
    let mut acknowledged = 0;
    for a in attempts {
        let res = c
            .post(node.url("/api/v1/login"))
            .json(&json!({"email": a.email, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .status();
        if a.status == Some(StatusCode::CREATED) {
            acknowledged += 1;
            assert_eq!(res, StatusCode::OK, "{} was acknowledged (201) but cannot sign in", a.email);
        } else {
            assert!(
                res == StatusCode::OK || res == StatusCode::UNAUTHORIZED,
                "{} (answered {:?}) is half there: sign-in answers {res}",
                a.email,
                a.status
            );
        }
    }
    acknowledged
}

/// Waits (up to 15 s) until `/readyz` says ready.
pub async fn until_ready(node: &Node) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let res = client().get(node.url("/readyz")).send().await;
        if res.is_ok_and(|r| r.status() == StatusCode::OK) {
            return;
        }
        assert!(Instant::now() < deadline, "{} did not become ready again:\n{}", node.base, node.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Lines of a node's log that contain `needle`.
pub fn lines_with(node: &Node, needle: &str) -> usize {
    node.log_text().lines().filter(|l| l.contains(needle)).count()
}
