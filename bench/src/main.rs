//! `portcullis-bench`: the performance benchmark, in one run and side by side. It
//! measures raw Argon2id and a bare axum "hello world" as baselines, then starts the
//! release `portcullis` binary on SQLite and PostgreSQL with 1,000 and 1,000,000
//! seeded users and sessions, drives it with wrk on loopback, and prints (and
//! writes to `target/bench/results.md`) a Markdown table with the ratios of the performance targets.
//!
//! Run it through `scripts/bench`, which builds in release mode first.
#![expect(
    clippy::cast_precision_loss,
    reason = "counts and sizes become f64 only to be shown to a few digits"
)]

mod argon;
mod database;
mod machine;
mod oauth;
mod plan;
mod probe;
mod report;
mod revocation;
mod rounds;
mod seed;
mod server;
mod wrk;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Benchmarks Portcullis against its performance targets (loopback only; see BENCHMARKS.md).
#[derive(Debug, Clone, Parser)]
#[command(name = "portcullis-bench")]
pub struct Options {
    /// Length of each measured wrk run.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Unmeasured wrk run before each measured one (0s to skip).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Concurrent connections of the request-rate and login runs.
    #[arg(long, default_value_t = 64)]
    pub connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    pub threads: u32,
    /// Concurrent login attempts of the memory-under-attack run.
    #[arg(long, default_value_t = 1000)]
    pub flood_connections: u32,
    /// Length of the memory-under-attack run.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub flood_duration: Duration,
    /// Users (and sessions) stored, one set of runs per count.
    #[arg(long, value_delimiter = ',', default_value = "1000,1000000")]
    pub scales: Vec<u64>,
    /// Databases to run on (PostgreSQL is skipped when unreachable).
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    pub backends: Vec<Backend>,
    /// PostgreSQL server (no database: one is created per scale and dropped after).
    #[arg(long, env = "PORTCULLIS_BENCH_POSTGRES", default_value = "postgres://postgres@127.0.0.1:5432")]
    pub postgres: String,
    /// Pin the servers under test (hello and Portcullis alike) to these CPUs (`taskset -c`).
    #[arg(long)]
    pub server_cpus: Option<String>,
    /// Pin wrk to these CPUs (`taskset -c`).
    #[arg(long)]
    pub wrk_cpus: Option<String>,
    /// Rounds of each scenario whose target is a ratio (`/healthz`, `/api/v1/me`,
    /// `/auth/verify`, logins), each right after its own baseline; the report keeps the
    /// round with the median ratio and lists every round's.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=9))]
    pub rounds: u32,
    /// Keep the scratch databases (and print where they are), e.g. to profile against them.
    #[arg(long)]
    pub keep: bool,
    /// Run only these scenarios (all when empty), e.g. `--only me,bearer`.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<plan::Scenario>,
    /// Where the release binaries are.
    #[arg(long, default_value = "target/release")]
    pub bin_dir: PathBuf,
    /// Where results.md, the raw wrk outputs and the scratch databases go.
    #[arg(long, default_value = "target/bench")]
    pub out_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(plan::run(options)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("error: some scenarios failed (see the table)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
