//! Building the application from a `Config`: database, secrets, use cases, router,
//! listener. Shared by `portcullis serve`, the CLI, the tests and embedding apps.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use portcullis_core::service::RelyingParty;
use portcullis_core::webhooks::WebhookSender;
use portcullis_core::{Clock, Mailer};
use portcullis_store::backup::{self, BackupError, DatabaseLock};
use portcullis_store::{ConnectOptions, Database};
use portcullis_web::{AppState, PublicUrl, WebConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;

mod auth;

use auth::shared_secret;
pub use auth::{build_auth, load_signing_keys};

/// Why the application could not start. `exit_code`: 2 for a usage or configuration error, 1 for any other failure.
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

/// The webhook client for `config` (its SSRF allow list).
pub fn webhook_sender(config: &Config) -> Result<Arc<dyn WebhookSender>, StartupError> {
    let sender =
        crate::webhooks::HttpSender::new(&config.webhooks.allow_http_hosts).map_err(StartupError::Runtime)?;
    Ok(Arc::new(sender))
}

/// Connects to the configured database and, unless `database.auto_migrate` is off,
/// applies pending migrations.
pub async fn open_database(config: &Config, migrate: bool) -> Result<Database, StartupError> {
    let options = ConnectOptions {
        url: config.database.url.clone(),
        max_connections: config.database.max_connections,
        connect_timeout: config.database.connect_timeout.0,
        statement_timeout: config.database.statement_timeout.0,
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

/// Takes the SQLite database's lock file, shared, for as long as the value lives
/// (`None` on PostgreSQL): `portcullis restore` refuses while anyone holds it, and
/// while a restore holds it this fails at once.
pub fn lock_database(config: &Config) -> Result<Option<DatabaseLock>, StartupError> {
    let Some(path) = backup::sqlite_path(&config.database.url) else { return Ok(None) };
    DatabaseLock::shared(&path).map(Some).map_err(|e| match e {
        // Said like a database that cannot be opened: the folder is what is wrong.
        BackupError::Io { .. } => StartupError::Runtime(format!(
            "database.url: cannot open \"{}\": cannot create its lock file {} (check the folder exists and is writable)",
            path.display(),
            backup::lock_path(&path).display()
        )),
        other => StartupError::Runtime(format!("database.url: {other}")),
    })
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
    audit_retention: time::Duration,
    mailer: Arc<dyn Mailer>,
    poll_interval: Duration,
    /// The webhook client (SSRF rules from `webhooks.allow_http_hosts`).
    webhook_sender: Arc<dyn WebhookSender>,
    webhook_poll_interval: Duration,
    /// Held shared while any clone lives, so no restore replaces the database under it.
    _lock: Option<Arc<DatabaseLock>>,
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
        let access = config.access.parse().map_err(|e| StartupError::Config(e.to_string()))?;
        let lock = lock_database(config)?.map(Arc::new);
        let database = open_database(config, config.database.auto_migrate).await?;
        let mailer = crate::mail::build_mailer(&config.email).map_err(StartupError::Config)?;
        let webhook_sender = webhook_sender(config)?;
        let passkeys = RelyingParty::for_origin(public_url.origin())
            .inspect_err(|e| tracing::warn!(error = %e, "passkeys are off"))
            .ok();
        let csrf_key = shared_secret(database.store().as_ref(), clock.as_ref(), "csrf_key").await?;
        let auth = build_auth(config, &database, clock, &public_url, passkeys).await?;
        load_signing_keys(&auth).await?;
        let web = WebConfig {
            public_url,
            trusted_proxies: config.server.trusted_proxies.clone(),
            request_timeout: config.server.request_timeout.0,
            templates_dir: config.ui.templates_dir.clone(),
            metrics: metrics_render(config),
            allowed_redirect_origins: config.server.allowed_redirect_origins.clone(),
            access,
        };
        let audit_retention =
            time::Duration::try_from(config.audit.retention.0).unwrap_or(time::Duration::MAX);
        Ok(Self {
            state: AppState::new(auth, web, csrf_key),
            database,
            audit_retention,
            mailer,
            poll_interval: config.email.poll_interval.0,
            webhook_sender,
            webhook_poll_interval: config.webhooks.poll_interval.0,
            _lock: lock,
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

    /// An application's own `routes` hardened like Portcullis' (security headers,
    /// panic recovery, timeout, body limit, the extractors' state), merged with every
    /// Portcullis route. `routes` must not set a fallback nor reuse Portcullis' paths.
    pub fn with_app(&self, routes: axum::Router) -> axum::Router {
        portcullis_web::harden(routes, self.state.clone()).merge(self.router())
    }

    /// The layer an application's own routes need for the extractors.
    pub fn layer(&self) -> axum::Extension<AppState> {
        portcullis_web::layer(self.state.clone())
    }

    /// Every minute: refreshes the active-session gauge and the outbox gauges; every
    /// ten minutes (and at start): purges expired sessions, old rate-limit counts, old
    /// audit events, old emailed tokens and old sent mails.
    /// Also follows the security changes committed to the database by anyone
    /// (see `portcullis_store::changes`).
    pub fn spawn_maintenance(&self) -> tokio::task::JoinHandle<()> {
        let auth = self.state.auth().clone();
        let retention = self.audit_retention;
        let database = self.database.clone();
        // One task for every loop, so the handle's `abort` ends them all.
        tokio::spawn(async move {
            tokio::join!(
                crate::maintenance::reload_keys_every_30s(&auth),
                crate::maintenance::tidy_every_minute(&auth, retention),
                crate::maintenance::follow_changes(&database, &auth)
            );
        })
    }

    /// Starts the outbox worker (see [`crate::mail::worker`]); it stops when `stop`
    /// turns true.
    pub fn spawn_mail_worker(&self, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        crate::mail::worker::spawn(self.state.auth().clone(), self.mailer.clone(), self.poll_interval, stop)
    }

    /// Starts the webhook worker (`crate::webhooks::worker`); it stops when
    /// `stop` turns true.
    pub fn spawn_webhook_worker(&self, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let auth = self.state.auth().clone();
        crate::webhooks::worker::spawn(auth, self.webhook_sender.clone(), self.webhook_poll_interval, stop)
    }

    /// The webhook client this instance delivers with.
    pub fn webhook_sender(&self) -> Arc<dyn WebhookSender> {
        self.webhook_sender.clone()
    }
}

/// `/metrics` on the main listener, unless metrics are off or have their own bind.
fn metrics_render(config: &Config) -> Option<portcullis_web::MetricsRender> {
    if !config.metrics.enabled || config.metrics.bind.is_some() {
        return None;
    }
    let handle = crate::metrics::handle()?;
    Some(Arc::new(move || handle.render()))
}

/// The server: a bound listener plus the application.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    portcullis: Portcullis,
    app: axum::Router,
    metrics: Option<(TcpListener, SocketAddr)>,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
}

impl Application {
    /// Binds `server.bind` and opens Portcullis behind it.
    pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        Self::build_with(config, clock, Portcullis::router).await
    }

    /// Like [`Application::build`], serving what `app` makes of the opened Portcullis
    /// (for example `|p| p.with_app(my_routes)`).
    pub async fn build_with(
        config: &Config,
        clock: Arc<dyn Clock>,
        app: impl FnOnce(&Portcullis) -> axum::Router,
    ) -> Result<Self, StartupError> {
        let bind = config.bind_addr();
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|e| StartupError::Runtime(format!("server.bind: cannot listen on {bind}: {e}")))?;
        let addr = listener.local_addr().map_err(|e| StartupError::Runtime(format!("server.bind: {e}")))?;
        let tls = match (&config.server.tls_cert, &config.server.tls_key) {
            (Some(cert), Some(key)) => {
                Some(axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await.map_err(|e| {
                    let (cert, key) = (cert.display(), key.display());
                    StartupError::Runtime(format!("server.tls_cert: cannot load {cert} / {key}: {e}"))
                })?)
            }
            _ => None,
        };
        let public_url = config.server.public_url.clone().unwrap_or_else(|| {
            let host = if addr.ip().is_unspecified() {
                SocketAddr::from(([127, 0, 0, 1], addr.port()))
            } else {
                addr
            };
            let scheme = if tls.is_some() { "https" } else { "http" };
            format!("{scheme}://{host}")
        });
        let metrics = match config.metrics_addr().filter(|_| config.metrics.enabled) {
            Some(bind) => {
                let l = TcpListener::bind(bind).await.map_err(|e| {
                    StartupError::Runtime(format!("metrics.bind: cannot listen on {bind}: {e}"))
                })?;
                let a = l.local_addr().map_err(|e| StartupError::Runtime(format!("metrics.bind: {e}")))?;
                Some((l, a))
            }
            None => None,
        };
        let portcullis = Portcullis::open(config, &public_url, clock).await?;
        let app = app(&portcullis);
        Ok(Self { listener, addr, portcullis, app, metrics, tls })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn portcullis(&self) -> &Portcullis {
        &self.portcullis
    }

    /// Where `/metrics` is served when `metrics.bind` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, a)| *a)
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let maintenance = self.portcullis.spawn_maintenance();
        let (stop_mail, stop) = watch::channel(false);
        let mut mail_worker = self.portcullis.spawn_mail_worker(stop.clone());
        let mut webhook_worker = self.portcullis.spawn_webhook_worker(stop);
        let metrics_server = self.metrics.and_then(|(listener, addr)| {
            let handle = crate::metrics::handle()?;
            tracing::info!("metrics on http://{addr}/metrics");
            let app = axum::Router::new().route(
                "/metrics",
                axum::routing::get(move || {
                    let text = handle.render();
                    async move {
                        (
                            [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                            text,
                        )
                    }
                }),
            );
            Some(tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }))
        });
        let app = self.app.into_make_service_with_connect_info::<SocketAddr>();
        let result = match self.tls {
            None => {
                tracing::info!("listening on http://{}", self.addr);
                axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await
            }
            Some(tls) => {
                tracing::info!("listening on https://{}", self.addr);
                let handle = axum_server::Handle::new();
                let stopper = handle.clone();
                tokio::spawn(async move {
                    shutdown.await;
                    stopper.graceful_shutdown(Some(Duration::from_secs(30)));
                });
                let listener = self.listener.into_std()?;
                axum_server::tls_rustls::from_tcp_rustls(listener, tls)?.handle(handle).serve(app).await
            }
        };
        maintenance.abort();
        // Let a delivery in progress finish (and be marked sent) rather than cut it.
        let _ = stop_mail.send(true);
        if tokio::time::timeout(Duration::from_secs(35), &mut mail_worker).await.is_err() {
            mail_worker.abort();
        }
        if tokio::time::timeout(Duration::from_secs(35), &mut webhook_worker).await.is_err() {
            webhook_worker.abort();
        }
        if let Some(server) = metrics_server {
            server.abort();
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
