//! `TestApp`: the real application on 127.0.0.1:0 with its own fresh database, a
//! mock clock, and a cookie-keeping, non-redirecting HTTP client.

use std::path::PathBuf;
use std::sync::Arc;

use portcullis::Config;
use portcullis::config::Dur;
use portcullis_core::MockClock;
use portcullis_web::AppState;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// A password that passes every policy check.
pub const PASSWORD: &str = "mauve-otter-ladder-19";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed `async fn name(backend: Backend)` once per backend:
/// `sqlite::name` and `postgres::name`.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(crate::helpers::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if crate::helpers::postgres_available().await {
                    super::$name(crate::helpers::Backend::Postgres).await
                }
            })*
        }
    };
}
pub(crate) use backend_tests;

/// The PostgreSQL server tests use (`PCTEST_POSTGRES_URL`, default the local one).
pub fn postgres_admin_url() -> String {
    std::env::var("PCTEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Whether PostgreSQL can be reached. Without it tests skip with a printed reason,
/// except under `CI=true`, where they fail.
pub async fn postgres_available() -> bool {
    use sqlx::Connection as _;
    let url = postgres_admin_url();
    match sqlx::PgConnection::connect(&url).await {
        Ok(c) => {
            let _ = c.close().await;
            true
        }
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but PostgreSQL at {url} is unreachable: {e}"
            );
            eprintln!(
                "SKIPPED: PostgreSQL at {url} is unreachable ({e}); set PCTEST_POSTGRES_URL to run these tests"
            );
            false
        }
    }
}

/// A database of its own for one test, dropped afterwards.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: tempfile::TempDir,
    pub sqlite_path: Option<PathBuf>,
}

impl TestDb {
    pub async fn create(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let path = dir.path().join("portcullis.db");
                Self {
                    url: format!("sqlite://{}", path.display()),
                    pg_name: None,
                    _dir: dir,
                    sqlite_path: Some(path),
                }
            }
            Backend::Postgres => {
                use sqlx::Connection as _;
                let name = format!("pctest_{}", uuid::Uuid::new_v4().simple());
                let admin = postgres_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to PostgreSQL");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let _ = conn.close().await;
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_owned();
                Self { url: format!("{base}/{name}"), pg_name: Some(name), _dir: dir, sqlite_path: None }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else { return };
        // Drop runs outside any runtime we may block: use a thread of its own.
        let admin = postgres_admin_url();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                use sqlx::Connection as _;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// The configuration tests start from: cheap Argon2 (hashing speed is not what
/// these tests are about), the given database, an ephemeral port.
pub fn test_config(db_url: &str) -> Config {
    let mut config = Config::default();
    config.server.bind = "127.0.0.1:0".into();
    db_url.clone_into(&mut config.database.url);
    config.database.max_connections = 4;
    config.password.argon2_memory_kib = 1024;
    config.password.argon2_iterations = 1;
    config.server.request_timeout = Dur::secs(30);
    config
}

pub struct TestApp {
    pub base: String,
    /// Where `/metrics` is served when `metrics.bind` is set.
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub client: reqwest::Client,
    pub clock: Arc<MockClock>,
    pub state: AppState,
    /// The store itself, for tests that look at what was written.
    pub store: Arc<dyn portcullis_core::Store>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    // Dropped last: the database outlives the server.
    pub db: TestDb,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawns with `tweak` applied to the test configuration.
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::create(backend).await;
        let mut config = test_config(&db.url);
        tweak(&mut config);
        Self::spawn_on(db, config).await
    }

    /// Spawns reachable as `http://localhost:PORT` (its public URL and `base`):
    /// WebAuthn needs a host name, not an IP address, as relying-party id.
    pub async fn spawn_on_localhost(backend: Backend) -> Self {
        Self::spawn_on_localhost_with(backend, |_| {}).await
    }

    /// [`TestApp::spawn_on_localhost`] with `tweak` applied to the configuration.
    pub async fn spawn_on_localhost_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("an ephemeral port")
            .port();
        let mut app = Self::spawn_with(backend, |c| {
            c.server.bind = format!("127.0.0.1:{port}");
            c.server.public_url = Some(format!("http://localhost:{port}"));
            tweak(c);
        })
        .await;
        app.base = format!("http://localhost:{port}");
        app
    }

    pub async fn spawn_on(db: TestDb, config: Config) -> Self {
        let clock = Arc::new(MockClock::new());
        let app = portcullis::Application::build(&config, clock.clone()).await.expect("application starts");
        let addr = app.addr();
        let metrics_addr = app.metrics_addr();
        let state = app.portcullis().state().clone();
        let store = app.portcullis().database().store();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run(async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        Self {
            base: format!("http://{addr}"),
            metrics_addr,
            client: client(),
            clock,
            state,
            store,
            shutdown: Some(tx),
            server: Some(server),
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task ends cleanly");
        }
    }

    pub async fn register(&self, email: &str) -> Value {
        let res = self
            .post_json(&self.client, "/api/v1/register", &json!({"email": email, "password": PASSWORD}))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "registration of {email} succeeds");
        res.json().await.expect("json")
    }

    /// Registers `email` and signs in with a fresh client; returns that client.
    pub async fn signed_in(&self, email: &str) -> reqwest::Client {
        self.register(email).await;
        self.login(email).await
    }

    /// Signs in with a fresh client; returns it.
    pub async fn login(&self, email: &str) -> reqwest::Client {
        self.login_with(email, PASSWORD).await
    }

    /// Signs in with `password` and a fresh client; returns it.
    pub async fn login_with(&self, email: &str, password: &str) -> reqwest::Client {
        let c = client();
        let res = self.post_json(&c, "/api/v1/login", &json!({"email": email, "password": password})).await;
        assert_eq!(res.status(), StatusCode::OK, "login of {email} succeeds");
        c
    }

    pub async fn post_json(&self, c: &reqwest::Client, path: &str, body: &Value) -> reqwest::Response {
        c.post(self.url(path)).json(body).send().await.expect("request")
    }

    pub async fn get(&self, c: &reqwest::Client, path: &str) -> reqwest::Response {
        c.get(self.url(path)).send().await.expect("request")
    }

    /// GETs a page and returns the `csrf_token` of its first form.
    pub async fn csrf_token(&self, c: &reqwest::Client, path: &str) -> String {
        let html = self.get(c, path).await.text().await.expect("body");
        csrf_from(&html).unwrap_or_else(|| panic!("no csrf_token on {path}"))
    }

    /// Posts a form, with `csrf_token` taken from `page` first.
    pub async fn post_form(
        &self,
        c: &reqwest::Client,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let token = self.csrf_token(c, page).await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        c.post(self.url(action)).form(&all).send().await.expect("request")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A client that keeps cookies and does not follow redirects.
pub fn client() -> reqwest::Client {
    client_builder().build().expect("client")
}

/// The builder of [`client`], for a client with something more (a user agent).
pub fn client_builder() -> reqwest::ClientBuilder {
    portcullis_upstream::install_crypto_provider();
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none())
}

/// A fresh device id as a browser's device cookie holds it.
pub fn random_device_id() -> String {
    portcullis_core::SecretToken::generate().expose().to_owned()
}

/// Every `device_hash` in `known_devices`, read straight from the database.
pub async fn stored_device_hashes(db_url: &str) -> Vec<Vec<u8>> {
    use sqlx::Connection as _;
    let sql = "SELECT device_hash FROM known_devices";
    if db_url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(db_url).await.expect("connect");
        sqlx::query_scalar(sql).fetch_all(&mut c).await.expect("query")
    } else {
        let mut c = sqlx::SqliteConnection::connect(db_url).await.expect("connect");
        sqlx::query_scalar(sql).fetch_all(&mut c).await.expect("query")
    }
}

pub fn csrf_from(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf_token\" value=\"")? + "name=\"csrf_token\" value=\"".len();
    Some(html[at..].split('"').next()?.to_owned())
}

/// All `Set-Cookie` values of a response.
pub fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
}

/// The `Set-Cookie` value for cookie `name`, if set.
pub fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    set_cookies(headers).into_iter().find(|c| c.starts_with(&format!("{name}=")))
}

/// The value part of a `Set-Cookie` for `name`.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let c = set_cookie(headers, name)?;
    Some(c.split(';').next()?.split_once('=')?.1.to_owned())
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Reads `serve`'s log until the bound address appears; returns it.
pub async fn listening_addr(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>,
) -> String {
    let mut seen = String::new();
    let found = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("read serve's stderr") {
            let found =
                line.split_once("listening on http://").or_else(|| line.split_once("listening on https://"));
            if let Some((_, rest)) = found {
                // Text logs end the address with whitespace, JSON logs with a quote.
                let addr: String =
                    rest.chars().take_while(|c| c.is_ascii_alphanumeric() || ".:[]".contains(*c)).collect();
                return Some(addr);
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        None
    })
    .await;
    match found {
        Ok(Some(addr)) => addr,
        Ok(None) => panic!("serve exited before listening:\n{seen}"),
        Err(elapsed) => panic!("serve did not log `listening on` ({elapsed}):\n{seen}"),
    }
}

/// A real `portcullis serve` process (one node of a cluster).
pub struct Node {
    pub base: String,
    /// Everything the node logged (stderr) so far.
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
    child: tokio::process::Child,
    drain: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Node {
    /// Starts `portcullis serve` on 127.0.0.1:0 against `db_url`, with cheap Argon2
    /// and `extra` environment variables; returns once it listens.
    pub async fn start(db_url: &str, extra: &[(&str, &str)]) -> Self {
        Self::start_with_config(db_url, "", extra).await
    }

    /// Like [`Node::start`], with `toml` as its `portcullis.toml` (for what
    /// environment variables cannot say, such as `[[access.rules]]`).
    pub async fn start_with_config(db_url: &str, toml: &str, extra: &[(&str, &str)]) -> Self {
        use tokio::io::AsyncBufReadExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        if !toml.is_empty() {
            std::fs::write(dir.path().join("portcullis.toml"), toml).expect("write portcullis.toml");
        }
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_portcullis"));
        for (key, _) in std::env::vars() {
            if key.starts_with("PORTCULLIS_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        cmd.current_dir(dir.path())
            .arg("serve")
            .env("PORTCULLIS_SERVER__BIND", "127.0.0.1:0")
            .env("PORTCULLIS_DATABASE__URL", db_url)
            .env("PORTCULLIS_PASSWORD__ARGON2_MEMORY_KIB", "1024")
            .env("PORTCULLIS_PASSWORD__ARGON2_ITERATIONS", "1")
            .envs(extra.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("serve starts");
        let mut lines = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
        let addr = listening_addr(&mut lines).await;
        // Keep reading the log so the node never blocks on a full pipe.
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        let drain = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Self { base: format!("http://{addr}"), log, child, drain, _dir: dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the node logged so far.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Kills the node with SIGKILL (no graceful shutdown) and waits until it is gone.
    pub async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// `portcullis ARGS` on the database `db_url`, run in a fresh folder (returned:
/// keep it while the command runs) with no other `PORTCULLIS_*` variable and
/// standard input closed.
pub fn portcullis_command(db_url: &str, args: &[&str]) -> (tokio::process::Command, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_portcullis"));
    for (key, _) in std::env::vars() {
        if key.starts_with("PORTCULLIS_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.args(args)
        .current_dir(dir.path())
        .env("PORTCULLIS_DATABASE__URL", db_url)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    (cmd, dir)
}

/// Runs `portcullis ARGS` once (see [`portcullis_command`]) and waits for it, for
/// at most a minute.
pub async fn run_portcullis(db_url: &str, args: &[&str]) -> std::process::Output {
    let (mut cmd, _dir) = portcullis_command(db_url, args);
    tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("`portcullis {}` finishes within a minute", args.join(" ")))
        .expect("the portcullis binary runs")
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        self.drain.abort();
    }
}

/// Polls `check` for up to one second (a change reaches every node of a cluster within 1 s).
pub async fn within_one_second(mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
