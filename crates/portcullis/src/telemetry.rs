//! Logging: text or JSON lines on stderr, filtered by `log.level` (or `RUST_LOG`).

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber; `quiet` lowers the default to warnings (CLI commands).
pub fn init(config: &LogConfig, quiet: bool) {
    let level = if quiet && config.level == "info" { "warn" } else { config.level.as_str() };
    // sqlx logs each failed connection check at info: once a second while the
    // database is away. The store logs outages itself, so sqlx speaks only of
    // warnings unless a directive (`sqlx=debug`) asks for more.
    let level = if level.contains('=') { level.to_owned() } else { format!("{level},sqlx=warn") };
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| EnvFilter::try_new(&level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    let result = match config.format {
        LogFormat::Json => {
            builder.with_target(true).json().flatten_event(true).with_current_span(true).try_init()
        }
        LogFormat::Text => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).try_init(),
    };
    // Already installed (tests start several servers in one process): keep the first.
    let _ = result;
}
