//! What the figures were measured on: date, CPUs, memory, kernel and tool versions.

use std::time::{SystemTime, UNIX_EPOCH};

/// The machine and software of one run.
#[derive(Debug, Clone)]
pub struct Machine {
    pub date: String,
    pub cpus: usize,
    pub cpu_model: String,
    pub memory: String,
    pub kernel: String,
    pub rustc: String,
    pub wrk: String,
    /// `/proc/loadavg` (1, 5, 15 minutes) when the run started: other work on the
    /// machine skews every figure.
    pub load_at_start: String,
}

impl Machine {
    pub async fn describe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim()))
            .unwrap_or("unknown")
            .to_owned();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or_else(|| "unknown".to_owned(), |kib| format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0));
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_owned(), |k| k.trim().to_owned());
        Self {
            date: utc_now(),
            cpus: cpus(),
            cpu_model,
            memory,
            kernel,
            rustc: first_line("rustc", &["--version"]).await,
            wrk: first_line("wrk", &["-v"]).await,
            load_at_start: load_average(),
        }
    }
}

/// CPUs this process may run on (affinity-aware, like the server's hashing pool).
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    #[expect(clippy::disallowed_methods, reason = "the benchmark stamps seeded rows and its report")]
    let now = SystemTime::now();
    now.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn utc_now() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix_now())
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

async fn first_line(program: &str, args: &[&str]) -> String {
    match tokio::process::Command::new(program).args(args).output().await {
        Ok(out) => {
            // `wrk -v` prints its version and usage, then exits 1.
            let text = if out.stdout.is_empty() { out.stderr } else { out.stdout };
            String::from_utf8_lossy(&text).lines().next().unwrap_or("").trim().to_owned()
        }
        Err(_) => "not found".to_owned(),
    }
}

/// The 1, 5 and 15-minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map_or_else(|_| "unknown".to_owned(), |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// The soft `RLIMIT_NOFILE` of this process (inherited by wrk and the servers).
pub(crate) fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
