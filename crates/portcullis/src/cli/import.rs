//! `portcullis user import FILE` (SPEC §9): every error as `line N: FIELD: reason`
//! on stderr, progress on stderr for long imports (a line redrawn in place on a
//! terminal, a plain line every few seconds otherwise), `imported: N, skipped: M`
//! on stdout.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use portcullis_core::accounts::import::{ImportError, ImportFormat, ImportOptions, ImportReport, LineError};

use super::Failure;
use crate::config::Config;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A CSV file with a header row, or JSON Lines; `-` reads standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The file's format (default: from the extension, .jsonl or .ndjson for JSON Lines, else csv).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Check everything and say what would be done; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Skip the lines whose address already has an account instead of failing.
    #[arg(long)]
    skip_existing: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Jsonl,
}

pub async fn run(config: &Config, args: ImportArgs) -> Result<(), Failure> {
    let name = args.file.to_string_lossy().into_owned();
    let source: Box<dyn std::io::Read + Send> = if name == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(&args.file)
                .map_err(|e| Failure::runtime(format!("cannot open {name:?}: {e}")))?,
        )
    };
    let format = match args.format {
        Some(Format::Csv) => ImportFormat::Csv,
        Some(Format::Jsonl) => ImportFormat::Jsonl,
        None => ImportFormat::from_path(&name),
    };
    let options = ImportOptions { format, dry_run: args.dry_run, skip_existing: args.skip_existing };
    let summary = super::with_auth(config, async |auth| {
        let mut report = Progress::new();
        let done = auth.import_users(source, options, &mut report).await;
        report.finish();
        done.map_err(|e| match e {
            ImportError::Read(e) => Failure::runtime(format!("cannot read {name:?}: {e}")),
            ImportError::Store(e) => Failure::runtime(format!("nothing was imported: {e}")),
        })
    })
    .await?;
    if summary.errors > 0 {
        let lines = if summary.errors == 1 { "error" } else { "errors" };
        return Err(Failure::runtime(format!(
            "{} {lines} in {name:?}; nothing was imported",
            summary.errors
        )));
    }
    if args.dry_run {
        println!(
            "dry run, nothing written: would import: {}, skipped: {}, groups created: {}",
            summary.imported, summary.skipped, summary.groups_created
        );
    } else {
        println!("imported: {}, skipped: {}", summary.imported, summary.skipped);
    }
    Ok(())
}

/// Errors and progress on stderr.
struct Progress {
    started: Instant,
    last: Instant,
    terminal: bool,
    drawn: bool,
}

impl Progress {
    /// A terminal's line is redrawn this often; plain lines come this far apart.
    const REDRAW: Duration = Duration::from_millis(200);
    const PLAIN: Duration = Duration::from_secs(5);

    fn new() -> Self {
        let now = Instant::now();
        Self { started: now, last: now, terminal: std::io::stderr().is_terminal(), drawn: false }
    }

    fn finish(&mut self) {
        if self.drawn {
            let _ = writeln!(std::io::stderr());
            self.drawn = false;
        }
    }
}

impl ImportReport for Progress {
    fn error(&mut self, error: &LineError) {
        self.finish();
        let _ = writeln!(std::io::stderr(), "{error}");
    }

    fn progress(&mut self, lines: u64) {
        let now = Instant::now();
        let every = if self.terminal { Self::REDRAW } else { Self::PLAIN };
        if now.duration_since(self.last) < every {
            return;
        }
        self.last = now;
        let seconds = now.duration_since(self.started).as_secs_f64().max(0.001);
        #[expect(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a rate to show"
        )]
        let rate = (lines as f64 / seconds) as u64;
        let text = format!("import: {lines} lines checked ({rate} lines/s)");
        let mut err = std::io::stderr();
        if self.terminal {
            let _ = write!(err, "\r{text}\x1b[K");
            self.drawn = true;
        } else {
            let _ = writeln!(err, "{text}");
        }
    }
}
