//! Server processes under test: started as real binaries, found through the
//! `listening on http://ADDR` line they print on stderr, measured through
//! `/proc/<pid>/status`, and stopped with SIGTERM.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, ChildStderr, Command};

/// How many of a server's last stderr lines are kept for the report.
const KEPT_LINES: usize = 20;

/// Resident memory of a process, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the peak resident size since the process started.
    pub peak_kib: u64,
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    label: String,
    child: Child,
    pid: u32,
    pub addr: SocketAddr,
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl Server {
    /// Runs `command` (stderr piped) and waits until it says where it listens.
    pub async fn start(label: &str, mut command: Command) -> anyhow::Result<Self> {
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = command.spawn().with_context(|| format!("{label}: cannot start"))?;
        let pid = child.id().context("the child has no pid")?;
        let stderr = child.stderr.take().context("stderr is not piped")?;
        let mut reader = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let wait = async {
            while let Some(line) = reader.next_line().await? {
                if let Some((_, rest)) = line.split_once("listening on http://") {
                    let addr = rest.trim().parse::<SocketAddr>().context("bad listening address")?;
                    return Ok(Some(addr));
                }
                seen.push(line);
            }
            anyhow::Ok(None)
        };
        let addr = match tokio::time::timeout(Duration::from_secs(60), wait).await {
            Ok(Ok(Some(addr))) => addr,
            Ok(Ok(None)) => bail!("{label}: exited before listening:\n{}", seen.join("\n")),
            Ok(Err(e)) => return Err(e.context(format!("{label}: reading its stderr"))),
            Err(_) => bail!("{label}: did not log `listening on` within 60 s:\n{}", seen.join("\n")),
        };
        let lines = Arc::new(Mutex::new(VecDeque::new()));
        tokio::spawn(drain(reader, Arc::clone(&lines)));
        Ok(Self { label: label.to_owned(), child, pid, addr, lines })
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// The server's memory now (and its peak so far).
    pub fn memory(&self) -> anyhow::Result<Memory> {
        read_memory(self.pid)
    }

    /// SIGTERM, up to five seconds for a graceful exit, then SIGKILL. Returns the last
    /// lines it wrote on stderr after start-up (warnings and errors, at `log.level=warn`).
    pub async fn stop(mut self) -> anyhow::Result<Vec<String>> {
        let status = Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status().await?;
        if !status.success() {
            bail!("{}: kill -TERM failed", self.label);
        }
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await.is_err() {
            self.child.kill().await.with_context(|| format!("{}: cannot kill", self.label))?;
        }
        let lines = self.lines.lock().expect("the log buffer lock is never poisoned");
        Ok(lines.iter().cloned().collect())
    }
}

/// Keeps the pipe empty (a full pipe would stall the server) and the last lines.
async fn drain(mut reader: tokio::io::Lines<BufReader<ChildStderr>>, lines: Arc<Mutex<VecDeque<String>>>) {
    while let Ok(Some(line)) = reader.next_line().await {
        // `listening on` and `shutting down` are the only lines below warnings.
        if line.contains(" INFO ") {
            continue;
        }
        let mut lines = lines.lock().expect("the log buffer lock is never poisoned");
        if lines.len() == KEPT_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }
}

/// `VmRSS` and `VmHWM` of process `pid`.
pub fn read_memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .with_context(|| format!("/proc/{pid}/status has no {name}"))?;
        let kib = line.trim().trim_end_matches("kB").trim();
        kib.parse().with_context(|| format!("bad {name} {line:?}"))
    };
    Ok(Memory { rss_kib: field("VmRSS:")?, peak_kib: field("VmHWM:")? })
}

/// A command for `program`, under `taskset -c CPUS` when `cpus` is given.
pub fn command(program: &Path, cpus: Option<&str>) -> Command {
    match cpus {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpus).arg(program);
            c
        }
        None => Command::new(program),
    }
}
