//! Building the application from a `Config`: database, secrets, use cases, router,
//! listener. Shared by `portcullis serve`, the CLI, the tests and embedding apps.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use portcullis_core::password::HashCost;
use portcullis_core::service::{EmailPolicy, MailLimit};
use portcullis_core::{Auth, AuthConfig, Clock, Mailer, PasswordHasher, PasswordPolicy, SessionPolicy};
use portcullis_store::{ConnectOptions, Database};
use portcullis_web::mail::MailTemplates;
use portcullis_web::{AppState, PublicUrl, WebConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;

/// Why the application could not start. `exit_code` follows SPEC §1.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Runtime(String),
}

impl StartupError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) => 2,
            Self::Runtime(_) => 1,
        }
    }
}

/// Connects to the configured database and, unless `database.auto_migrate` is off,
/// applies pending migrations.
pub async fn open_database(config: &Config, migrate: bool) -> Result<Database, StartupError> {
    let options = ConnectOptions {
        url: config.database.url.clone(),
        max_connections: config.database.max_connections,
        connect_timeout: config.database.connect_timeout.0,
    };
    let db = Database::connect(&options).await.map_err(|e| StartupError::Runtime(e.to_string()))?;
    if migrate {
        db.migrate().await.map_err(|e| StartupError::Runtime(format!("database: {e}")))?;
    } else {
        let pending =
            db.pending_migrations().await.map_err(|e| StartupError::Runtime(format!("database: {e}")))?;
        if pending > 0 {
            return Err(StartupError::Runtime(format!(
                "database: {pending} migration(s) pending and database.auto_migrate = false; run `portcullis migrate`"
            )));
        }
    }
    Ok(db)
}

/// The use cases over `db`; mails carry links to `public_url`.
pub fn build_auth(
    config: &Config,
    db: &Database,
    clock: Arc<dyn Clock>,
    public_url: &PublicUrl,
) -> Result<Auth, StartupError> {
    let p = &config.password;
    let cost = HashCost {
        memory_kib: p.argon2_memory_kib,
        iterations: p.argon2_iterations,
        parallelism: p.argon2_parallelism,
    };
    let default = HashCost::default();
    if cost.memory_kib < default.memory_kib || cost.iterations < default.iterations {
        tracing::warn!(
            memory_kib = cost.memory_kib,
            iterations = cost.iterations,
            "password.argon2_* is below the OWASP recommendation (19456 KiB, 2 iterations): passwords are easier to crack"
        );
    }
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let hasher =
        PasswordHasher::new(cost, cpus).map_err(|e| StartupError::Config(format!("password: {e}")))?;
    let s = &config.session;
    let to_time = |d: crate::config::Dur| time::Duration::try_from(d.0).unwrap_or(time::Duration::MAX);
    let auth_config = AuthConfig {
        password_policy: PasswordPolicy { min_length: p.min_length },
        session_policy: SessionPolicy {
            idle_timeout: to_time(s.idle_timeout),
            absolute_timeout: to_time(s.absolute_timeout),
            remember_me_timeout: to_time(s.remember_me_timeout),
        },
        email: email_policy(config),
    };
    let composer = Arc::new(MailTemplates::new(public_url.clone(), config.ui.templates_dir.clone()));
    Ok(Auth::new(db.store(), clock, hasher, auth_config, composer))
}

/// Token lifetimes and per-account mail limits. Reset links use
/// `rate_limit.forgot_password_per_email`; verification and change links three an
/// hour. `rate_limit.enabled = false` lifts them all.
fn email_policy(config: &Config) -> EmailPolicy {
    let to_time = |d: crate::config::Dur| time::Duration::try_from(d.0).unwrap_or(time::Duration::MAX);
    let e = &config.email;
    let on = config.rate_limit.enabled;
    let per_email = config.rate_limit.forgot_password_per_email;
    let three_an_hour = MailLimit::new(3, time::Duration::hours(1));
    EmailPolicy {
        require_verification: e.require_verification,
        verification_ttl: to_time(e.verification_ttl),
        reset_ttl: to_time(e.reset_ttl),
        change_ttl: to_time(e.change_ttl),
        verification_limit: on.then_some(three_an_hour),
        reset_limit: on.then(|| MailLimit::new(per_email.count, to_time(per_email.window))),
        change_limit: on.then_some(three_an_hour),
    }
}

/// The public URL the CLI puts in mails: `server.public_url`, else `http://<bind>`.
pub fn configured_public_url(config: &Config) -> Result<PublicUrl, StartupError> {
    let raw = config.server.public_url.clone().unwrap_or_else(|| {
        let bind = config.bind_addr();
        let host =
            if bind.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], bind.port())) } else { bind };
        format!("http://{host}")
    });
    PublicUrl::parse(&raw).map_err(|e| StartupError::Config(e.to_string()))
}

/// A ready Portcullis: database open, secrets loaded, state built, mail transport
/// chosen.
#[derive(Clone)]
pub struct Portcullis {
    state: AppState,
    database: Database,
    mailer: Arc<dyn Mailer>,
    poll_interval: Duration,
}

impl std::fmt::Debug for Portcullis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portcullis")
            .field("state", &self.state)
            .field("database", &self.database)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

impl Portcullis {
    /// Opens everything for an instance reachable at `public_url`.
    pub async fn open(
        config: &Config,
        public_url: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let public_url = PublicUrl::parse(public_url).map_err(|e| StartupError::Config(e.to_string()))?;
        let database = open_database(config, config.database.auto_migrate).await?;
        let mailer = crate::mail::build_mailer(&config.email).map_err(StartupError::Config)?;
        let auth = build_auth(config, &database, clock, &public_url)?;
        let csrf_key = shared_secret(&auth, "csrf_key").await?;
        let web = WebConfig {
            public_url,
            trusted_proxies: config.server.trusted_proxies.clone(),
            request_timeout: config.server.request_timeout.0,
            templates_dir: config.ui.templates_dir.clone(),
        };
        Ok(Self {
            state: AppState::new(auth, web, csrf_key),
            database,
            mailer,
            poll_interval: config.email.poll_interval.0,
        })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Every Portcullis route.
    pub fn router(&self) -> axum::Router {
        portcullis_web::router(self.state.clone())
    }

    /// The layer an application's own routes need for the extractors.
    pub fn layer(&self) -> axum::Extension<AppState> {
        portcullis_web::layer(self.state.clone())
    }

    /// Purges expired sessions, old emailed tokens and old sent mails now and then
    /// every ten minutes.
    pub fn spawn_maintenance(&self) -> tokio::task::JoinHandle<()> {
        let auth = self.state.auth().clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(600));
            loop {
                tick.tick().await;
                for (what, result) in [
                    ("expired sessions", auth.purge_expired_sessions().await),
                    ("old emailed tokens", auth.purge_expired_tokens().await),
                    ("old sent mails", auth.purge_outbox().await),
                ] {
                    match result {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(purged = n, "purged {what}"),
                        Err(e) => tracing::warn!(error = %e, "could not purge {what}"),
                    }
                }
            }
        })
    }

    /// Starts the outbox worker (see [`crate::mail::worker`]); it stops when `stop`
    /// turns true.
    pub fn spawn_mail_worker(&self, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        crate::mail::worker::spawn(self.state.auth().clone(), self.mailer.clone(), self.poll_interval, stop)
    }
}

/// A 256-bit secret shared by every node, generated on first start.
async fn shared_secret(auth: &Auth, name: &str) -> Result<[u8; 32], StartupError> {
    let mut candidate = [0u8; 32];
    portcullis_core::token::fill_random(&mut candidate);
    let stored = auth
        .store()
        .get_or_create_secret(name, &candidate, auth.clock().now())
        .await
        .map_err(|e| StartupError::Runtime(format!("database: cannot load secrets: {e}")))?;
    stored.try_into().map_err(|_| StartupError::Runtime(format!("database: stored secret {name} is corrupt")))
}

/// The server: a bound listener plus the application.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    portcullis: Portcullis,
}

impl Application {
    /// Binds `server.bind` and opens the application behind it.
    pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let bind = config.bind_addr();
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|e| StartupError::Runtime(format!("server.bind: cannot listen on {bind}: {e}")))?;
        let addr = listener.local_addr().map_err(|e| StartupError::Runtime(format!("server.bind: {e}")))?;
        let public_url = config.server.public_url.clone().unwrap_or_else(|| {
            let host = if addr.ip().is_unspecified() {
                SocketAddr::from(([127, 0, 0, 1], addr.port()))
            } else {
                addr
            };
            format!("http://{host}")
        });
        let portcullis = Portcullis::open(config, &public_url, clock).await?;
        Ok(Self { listener, addr, portcullis })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn portcullis(&self) -> &Portcullis {
        &self.portcullis
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let maintenance = self.portcullis.spawn_maintenance();
        let (stop_mail, stop) = watch::channel(false);
        let mut mail_worker = self.portcullis.spawn_mail_worker(stop);
        tracing::info!("listening on http://{}", self.addr);
        let app = self.portcullis.router().into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await;
        maintenance.abort();
        // Let a delivery in progress finish (and be marked sent) rather than cut it.
        let _ = stop_mail.send(true);
        if tokio::time::timeout(Duration::from_secs(35), &mut mail_worker).await.is_err() {
            mail_worker.abort();
        }
        self.portcullis.database().close().await;
        result
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
