//! The command line (`serve`, `migrate`, `backup`, `restore`, `user` (with `user import`), `client`, `webhook`, `keys`, `config`, ...). Every failure is one `error: ...` line on stderr;
//! exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.

mod backup;
mod client;
mod events;
mod group;
mod import;
mod keys;
mod password;
mod user;
mod webhook;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use portcullis_core::SystemClock;

use crate::config::{Config, DEFAULT_TOML};
use crate::startup::{self, Application, StartupError};

#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about = "Secure user accounts for web applications")]
struct Cli {
    /// Configuration file (default: ./portcullis.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (applies pending migrations first unless database.auto_migrate = false).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Copy the SQLite database to FILE, consistently, while servers run.
    Backup {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Replace the SQLite database with the backup FILE (refused while a server runs).
    Restore {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage groups and their members.
    #[command(subcommand)]
    Group(group::GroupCommand),
    /// Manage OAuth 2.0 / OpenID Connect clients.
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Manage token signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Manage webhook endpoints (signed notices of account events).
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
    /// Show the audit trail (security events), newest first.
    Events(events::EventsArgs),
    /// Check or print the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the configuration (file and environment) and exit.
    Check,
    /// Print the default configuration, with comments.
    Default,
}

/// A failed command: the message and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self { code: 2, message: message.into() }
    }

    pub fn runtime(message: impl Into<String>) -> Self {
        Self { code: 1, message: message.into() }
    }
}

/// Opens the database and the use cases for an operator command, runs `f`, then
/// closes the database whatever `f` returned.
pub(crate) async fn with_auth<T>(
    config: &Config,
    f: impl AsyncFnOnce(&portcullis_core::Auth) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let _lock = startup::lock_database(config)?;
    let db = startup::open_database(config, config.database.auto_migrate).await?;
    let public_url = startup::configured_public_url(config)?;
    // Operator commands need no passkeys (no WebAuthn ceremony runs here).
    let auth = startup::build_auth(config, &db, Arc::new(SystemClock), &public_url, None).await?;
    let result = f(&auth).await;
    db.close().await;
    result
}

/// A use case's error as a command failure: invalid input is a usage error (2),
/// the rest a runtime failure (1).
pub(crate) fn auth_failure(e: portcullis_core::AuthError) -> Failure {
    match e {
        portcullis_core::AuthError::Validation(errors) => Failure::usage(
            errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "),
        ),
        other => Failure::runtime(other.to_string()),
    }
}

impl From<StartupError> for Failure {
    fn from(e: StartupError) -> Self {
        Self { code: e.exit_code(), message: e.to_string() }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&Failure::runtime(format!("cannot start the async runtime: {e}"))),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => fail(&f),
    }
}

fn fail(f: &Failure) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {}", f.message);
    ExitCode::from(f.code)
}

/// A bug must still end as one line, not a backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(ToString::to_string)
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        tracing::error!("internal error (a bug, please report it): {msg}{place}");
        if !tracing::dispatcher::has_been_set() {
            let _ =
                writeln!(std::io::stderr(), "error: internal error (a bug, please report it): {msg}{place}");
        }
    }));
}

async fn run(cli: Cli) -> Result<(), Failure> {
    if let Command::Config(ConfigCommand::Default) = cli.command {
        print!("{DEFAULT_TOML}");
        return Ok(());
    }
    let config = Config::load(cli.config.as_deref()).map_err(|e| Failure::usage(e.to_string()))?;
    crate::telemetry::init(&config.log, !matches!(cli.command, Command::Serve));
    match cli.command {
        Command::Serve => serve(&config).await,
        Command::Migrate => {
            let _lock = startup::lock_database(&config)?;
            let db = startup::open_database(&config, true).await?;
            db.close().await;
            println!("migrations applied");
            Ok(())
        }
        Command::Backup { file } => backup::backup(&config, &file).await,
        Command::Restore { file } => backup::restore(&config, &file).await,
        Command::User(cmd) => user::run(&config, cmd).await,
        Command::Group(cmd) => group::run(&config, cmd).await,
        Command::Client(cmd) => client::run(&config, cmd).await,
        Command::Keys(cmd) => keys::run(&config, cmd).await,
        Command::Events(args) => events::run(&config, args).await,
        Command::Webhook(cmd) => webhook::run(&config, cmd).await,
        Command::Config(ConfigCommand::Check) => {
            println!("configuration ok");
            Ok(())
        }
        Command::Config(ConfigCommand::Default) => unreachable!("handled above"),
    }
}

async fn serve(config: &Config) -> Result<(), Failure> {
    let app = Application::build(config, Arc::new(SystemClock)).await?;
    app.run(startup::shutdown_signal()).await.map_err(|e| Failure::runtime(format!("server: {e}")))
}
