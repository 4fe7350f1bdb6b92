//! The `portcullis` binary as an operator runs it: exit codes, one-line
//! errors, user administration against a live server's database, configuration, `serve`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use portcullis::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, listening_addr, within_one_second};

mod access;
mod providers;

/// Longest a single command may take before the test fails instead of hanging.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A password that passes the policy and differs from `PASSWORD`.
const NEW_PASSWORD: &str = "quartz-heron-lantern-73";

/// One way to run the binary: a fresh working directory, its own database, and an
/// environment holding only the `PORTCULLIS_*` variables the test chose.
struct Cli {
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

/// What a finished command left behind.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Cli {
    /// A fresh directory with `p.db` in it as the database, and cheap Argon2.
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        Self { dir, vars: Vec::new() }
            .var("PORTCULLIS_DATABASE__URL", &url)
            .var("PORTCULLIS_PASSWORD__ARGON2_MEMORY_KIB", "1024")
            .var("PORTCULLIS_PASSWORD__ARGON2_ITERATIONS", "1")
    }

    /// Like `new`, on another database (a running test server's).
    fn on_database(url: &str) -> Self {
        Self::new().var("PORTCULLIS_DATABASE__URL", url)
    }

    /// Sets (or replaces) an environment variable of the command.
    fn var(mut self, key: &str, value: &str) -> Self {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A path inside the working directory.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_portcullis"));
        cmd.args(args).current_dir(self.dir.path()).kill_on_drop(true);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PORTCULLIS_") {
                cmd.env_remove(&key);
            }
        }
        cmd.env_remove("RUST_LOG");
        cmd.envs(self.vars.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Runs with standard input closed (`/dev/null`, not a terminal).
    async fn run(&self, args: &[&str]) -> Run {
        self.run_inner(args, None).await
    }

    /// Runs with `input` piped into standard input.
    async fn run_with_stdin(&self, args: &[&str], input: &str) -> Run {
        self.run_inner(args, Some(input)).await
    }

    async fn run_inner(&self, args: &[&str], input: Option<&str>) -> Run {
        let mut cmd = self.command(args);
        cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the portcullis binary starts");
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            // The command may exit without reading; a broken pipe is its answer, not ours.
            let _ = stdin.write_all(input.as_bytes()).await;
        }
        let output = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("`portcullis {}` finishes within {COMMAND_TIMEOUT:?}", args.join(" ")))
            .expect("wait for portcullis");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    async fn create_user(&self, email: &str, extra: &[&str]) {
        let mut args = vec!["user", "create", "--email", email, "--password-stdin"];
        args.extend_from_slice(extra);
        self.run_with_stdin(&args, &format!("{PASSWORD}\n")).await.expect_code(0);
    }

    async fn users(&self) -> Vec<Value> {
        let run = self.run(&["user", "list", "--json"]).await.expect_code(0);
        let list: Value = serde_json::from_str(&run.stdout).expect("user list --json prints JSON");
        list.as_array().expect("user list --json prints an array").clone()
    }
}

impl Run {
    fn expect_code(self, code: i32) -> Self {
        assert_eq!(self.code, Some(code), "exit code; stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    /// The one `error: ` line on stderr (log lines such as warnings may come before it).
    fn error_line(&self) -> &str {
        let errors: Vec<&str> = self.stderr.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(errors.len(), 1, "exactly one error line on stderr:\n{}", self.stderr);
        for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace", "internal error"] {
            assert!(!self.stderr.contains(bad), "no {bad:?} on stderr:\n{}", self.stderr);
        }
        errors[0]
    }

    /// Like `error_line`, and stderr holds nothing else.
    fn only_error_line(&self) -> &str {
        assert_eq!(self.stderr.lines().count(), 1, "stderr is one line:\n{}", self.stderr);
        self.error_line()
    }

    fn assert_never_shows(&self, secret: &str) {
        assert!(!self.stdout.contains(secret), "stdout shows the password:\n{}", self.stdout);
        assert!(!self.stderr.contains(secret), "stderr shows the password:\n{}", self.stderr);
    }
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    let c = crate::helpers::client();
    app.post_json(&c, "/api/v1/login", &json!({"email": email, "password": password})).await
}

async fn problem_code(res: reqwest::Response) -> String {
    let body: Value = res.json().await.expect("problem+json body");
    body["code"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn user_create_makes_a_verified_user_that_list_and_show_report() {
    let cli = Cli::new();
    cli.create_user("ada@example.com", &[]).await;
    cli.create_user("root@example.com", &["--admin"]).await;

    let users = cli.users().await;
    let find = |email: &str| users.iter().find(|u| u["email"] == email).cloned();
    let ada = find("ada@example.com").expect("ada is listed");
    assert_eq!((ada["email_verified"].clone(), ada["is_admin"].clone()), (json!(true), json!(false)));
    let root = find("root@example.com").expect("root is listed");
    assert_eq!((root["email_verified"].clone(), root["is_admin"].clone()), (json!(true), json!(true)));
    assert_eq!(users.len(), 2);

    let table = cli.run(&["user", "list"]).await.expect_code(0);
    assert!(table.stdout.contains("ada@example.com"), "table lists the user:\n{}", table.stdout);
    assert!(table.stdout.contains("root@example.com"), "table lists the user:\n{}", table.stdout);

    let show = cli.run(&["user", "show", "ada@example.com", "--json"]).await.expect_code(0);
    let shown: Value = serde_json::from_str(&show.stdout).expect("user show --json prints JSON");
    assert_eq!(shown, ada, "show reports what list reports");
}

#[tokio::test]
async fn user_create_refuses_an_email_taken_in_another_letter_case() {
    let cli = Cli::new();
    cli.create_user("ada@example.com", &[]).await;
    let args = ["user", "create", "--email", "ADA@Example.COM", "--password-stdin"];
    let run = cli.run_with_stdin(&args, &format!("{PASSWORD}\n")).await.expect_code(1);
    assert!(run.error_line().contains("already exists"), "{}", run.stderr);
    run.assert_never_shows(PASSWORD);
    assert_eq!(cli.users().await.len(), 1, "no second user");
}

#[tokio::test]
async fn user_create_rejects_a_common_password_with_exit_2_and_never_echoes_it() {
    let cli = Cli::new();
    let args = ["user", "create", "--email", "ada@example.com", "--password-stdin"];
    let run = cli.run_with_stdin(&args, "qwerty123\n").await.expect_code(2);
    assert!(run.error_line().contains("password"), "{}", run.stderr);
    run.assert_never_shows("qwerty123");
    assert!(cli.users().await.is_empty(), "no user was created");
}

#[tokio::test]
async fn user_create_without_password_stdin_and_no_terminal_exits_2_pointing_at_the_flag() {
    let cli = Cli::new();
    // The password is piped in, but without the flag it must be neither read nor echoed.
    let run = cli
        .run_with_stdin(&["user", "create", "--email", "ada@example.com"], &format!("{PASSWORD}\n"))
        .await
        .expect_code(2);
    assert!(run.error_line().contains("--password-stdin"), "{}", run.stderr);
    run.assert_never_shows(PASSWORD);
    let closed = cli.run(&["user", "create", "--email", "ada@example.com"]).await.expect_code(2);
    assert!(closed.error_line().contains("--password-stdin"), "{}", closed.stderr);
    assert!(cli.users().await.is_empty(), "no user was created");
}

async fn user_disable_ends_live_sessions_and_refuses_sign_in_until_enabled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "ada@example.com";
    let session = app.signed_in(email).await;
    assert_eq!(app.get(&session, "/api/v1/me").await.status(), StatusCode::OK);
    let cli = Cli::on_database(&app.db.url);

    cli.run(&["user", "disable", email]).await.expect_code(0);
    // Another process wrote it: the server has up to a second to notice.
    assert!(within_one_second(async || app.get(&session, "/api/v1/me").await.status() == StatusCode::UNAUTHORIZED).await);
    let refused = login(&app, email, PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(problem_code(refused).await, "account_disabled");
    let shown = cli.run(&["user", "show", email, "--json"]).await.expect_code(0);
    assert_eq!(serde_json::from_str::<Value>(&shown.stdout).expect("json")["disabled"], json!(true));

    cli.run(&["user", "enable", email]).await.expect_code(0);
    assert_eq!(login(&app, email, PASSWORD).await.status(), StatusCode::OK);
}

async fn user_set_password_replaces_the_password_and_ends_every_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "ada@example.com";
    let session = app.signed_in(email).await;
    let cli = Cli::on_database(&app.db.url);

    let run = cli
        .run_with_stdin(&["user", "set-password", email, "--password-stdin"], &format!("{NEW_PASSWORD}\n"))
        .await
        .expect_code(0);
    run.assert_never_shows(NEW_PASSWORD);
    assert!(within_one_second(async || app.get(&session, "/api/v1/me").await.status() == StatusCode::UNAUTHORIZED).await);
    let old = login(&app, email, PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem_code(old).await, "invalid_credentials");
    assert_eq!(login(&app, email, NEW_PASSWORD).await.status(), StatusCode::OK);
}

async fn a_notice_queued_by_the_cli_is_delivered_by_the_running_server(backend: Backend) {
    let sink = crate::smtp_sink::SmtpSink::start().await;
    let app = TestApp::spawn_with(backend, |c| {
        c.email.transport = portcullis::config::MailTransport::Smtp;
        c.email.smtp_url = Some(sink.url());
        c.email.poll_interval = portcullis::config::Dur(Duration::from_millis(100));
    })
    .await;
    let email = "bea@example.com";
    app.register(email).await;
    let cli = Cli::on_database(&app.db.url);
    cli.run_with_stdin(&["user", "set-password", email, "--password-stdin"], &format!("{NEW_PASSWORD}\n"))
        .await
        .expect_code(0);
    // The CLI stamps the mail with the real clock, which the server's mock clock (set
    // when the server started) lags behind: bring the server up to then.
    app.clock.advance(time::Duration::minutes(1));
    // The CLI only wrote to the outbox; the server's worker found it there and sent it.
    let notice = sink.next_mail(email, "Your password was changed").await;
    assert!(!notice.data.contains(NEW_PASSWORD));
}

async fn user_delete_removes_the_user_so_show_and_sign_in_fail(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "ada@example.com";
    app.register(email).await;
    let cli = Cli::on_database(&app.db.url);

    cli.run(&["user", "delete", email]).await.expect_code(0);
    let show = cli.run(&["user", "show", email]).await.expect_code(1);
    assert!(show.error_line().contains(email), "{}", show.stderr);
    assert_eq!(login(&app, email, PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    cli.run(&["user", "delete", email]).await.expect_code(1).error_line();
}

backend_tests!(
    user_disable_ends_live_sessions_and_refuses_sign_in_until_enabled,
    user_set_password_replaces_the_password_and_ends_every_session,
    a_notice_queued_by_the_cli_is_delivered_by_the_running_server,
    user_delete_removes_the_user_so_show_and_sign_in_fail,
);

#[tokio::test]
async fn config_check_without_a_file_succeeds() {
    Cli::new().run(&["config", "check"]).await.expect_code(0);
}

#[tokio::test]
async fn config_check_rejects_an_unknown_key_in_the_file_naming_it() {
    let cli = Cli::new();
    std::fs::write(cli.path("c.toml"), "[server]\ncolour = \"red\"\n").expect("write config");
    let run = cli.run(&["--config", "c.toml", "config", "check"]).await.expect_code(2);
    assert!(run.only_error_line().starts_with("error: server.colour: "), "{}", run.stderr);
}

#[tokio::test]
async fn config_check_rejects_an_unknown_key_in_the_environment_naming_it() {
    let cli = Cli::new().var("PORTCULLIS_SERVER__COLOUR", "red");
    let run = cli.run(&["config", "check"]).await.expect_code(2);
    let line = run.only_error_line();
    assert!(line.starts_with("error: server.colour: "), "{line}");
    assert!(line.contains("PORTCULLIS_SERVER__COLOUR"), "{line}");
}

#[tokio::test]
async fn config_check_rejects_a_malformed_duration_in_the_environment() {
    let cli = Cli::new().var("PORTCULLIS_SESSION__IDLE_TIMEOUT", "banana");
    let run = cli.run(&["config", "check"]).await.expect_code(2);
    assert!(run.only_error_line().starts_with("error: session.idle_timeout: "), "{}", run.stderr);
}

#[tokio::test]
async fn config_check_rejects_a_missing_config_file() {
    let run = Cli::new().run(&["--config", "/nonexistent.toml", "config", "check"]).await.expect_code(2);
    assert!(run.only_error_line().contains("/nonexistent.toml"), "{}", run.stderr);
}

#[tokio::test]
async fn config_check_accepts_a_valid_file_given_after_the_subcommand() {
    let cli = Cli::new();
    std::fs::write(cli.path("ok.toml"), "[session]\nidle_timeout = \"15m\"\n").expect("write config");
    cli.run(&["config", "check", "--config", "ok.toml"]).await.expect_code(0);
    // The same file with an impossible value fails: the file really was read.
    std::fs::write(cli.path("zero.toml"), "[session]\nidle_timeout = \"0s\"\n").expect("write config");
    let run = cli.run(&["config", "check", "--config", "zero.toml"]).await.expect_code(2);
    assert!(run.only_error_line().starts_with("error: session.idle_timeout: "), "{}", run.stderr);
}

#[tokio::test]
async fn portcullis_toml_in_the_current_directory_is_read_by_default() {
    let cli = Cli::new();
    std::fs::write(cli.path("portcullis.toml"), "[server]\ncolour = \"red\"\n").expect("write config");
    let run = cli.run(&["config", "check"]).await.expect_code(2);
    assert!(run.only_error_line().starts_with("error: server.colour: "), "{}", run.stderr);
}

#[tokio::test]
async fn config_default_is_a_valid_config_mentioning_every_section() {
    let cli = Cli::new();
    let printed = cli.run(&["config", "default"]).await.expect_code(0).stdout;
    for section in
        ["[server]", "[database]", "[password]", "[session]", "[email]", "[rate_limit]", "[ui]", "[access]"]
    {
        assert!(printed.lines().any(|l| l.trim() == section), "mentions {section}:\n{printed}");
    }
    std::fs::write(cli.path("default.toml"), &printed).expect("write config");
    cli.run(&["--config", "default.toml", "config", "check"]).await.expect_code(0);
}

#[tokio::test]
async fn config_default_prints_exactly_the_built_in_defaults() {
    use figment::providers::{Format as _, Toml};
    let printed = Cli::new().run(&["config", "default"]).await.expect_code(0).stdout;
    let parsed: Config = figment::Figment::from(Toml::string(&printed)).extract().expect("defaults parse");
    assert_eq!(parsed, Config::default(), "the documented defaults are the real ones");
}

#[tokio::test]
async fn migrate_applies_migrations_to_a_fresh_database_and_is_idempotent() {
    let cli = Cli::new();
    cli.run(&["migrate"]).await.expect_code(0);
    assert!(cli.path("p.db").is_file(), "the database file was created");
    cli.run(&["migrate"]).await.expect_code(0);
    // The schema is usable: auto_migrate off finds nothing pending.
    let cli = cli.var("PORTCULLIS_DATABASE__AUTO_MIGRATE", "false");
    assert!(cli.users().await.is_empty());
}

#[tokio::test]
async fn migrate_on_an_unopenable_database_exits_1_with_one_error_line_and_no_panic() {
    let cli = Cli::new()
        .var("PORTCULLIS_DATABASE__URL", "sqlite:///nonexistent-dir/sub/x.db")
        .var("RUST_BACKTRACE", "1");
    let run = cli.run(&["migrate"]).await.expect_code(1);
    assert!(run.only_error_line().starts_with("error: database.url: cannot open "), "{}", run.stderr);
}

#[tokio::test]
async fn an_unknown_subcommand_is_a_usage_error() {
    let run = Cli::new().run(&["frobnicate"]).await.expect_code(2);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[tokio::test]
async fn help_exits_0_and_lists_the_commands() {
    let run = Cli::new().run(&["--help"]).await.expect_code(0);
    for command in ["serve", "migrate", "user", "config"] {
        assert!(run.stdout.contains(command), "--help mentions {command}:\n{}", run.stdout);
    }
}

#[tokio::test]
async fn serve_listens_answers_healthz_and_exits_0_on_sigterm() {
    let cli = Cli::new().var("PORTCULLIS_SERVER__BIND", "127.0.0.1:0");
    let mut cmd = cli.command(&["serve"]);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("serve starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let addr = listening_addr(&mut lines).await;
    // Keep draining the log so the server never blocks on a full pipe.
    let drain = tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let res = reqwest::get(format!("http://{addr}/healthz")).await.expect("healthz request");
    assert_eq!(res.status(), StatusCode::OK);

    let pid = child.id().expect("serve is running").to_string();
    let kill = tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.expect("run kill");
    assert!(kill.success(), "kill -TERM {pid}");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("serve exits within 30 s of SIGTERM")
        .expect("wait for serve");
    assert_eq!(status.code(), Some(0), "serve exits cleanly on SIGTERM: {status}");
    drain.abort();
}

#[tokio::test]
async fn serve_without_auto_migrate_on_a_fresh_database_exits_1_asking_for_migrate() {
    let cli = Cli::new()
        .var("PORTCULLIS_SERVER__BIND", "127.0.0.1:0")
        .var("PORTCULLIS_DATABASE__AUTO_MIGRATE", "false");
    let run = cli.run(&["serve"]).await.expect_code(1);
    assert!(run.error_line().contains("portcullis migrate"), "{}", run.stderr);
}

#[tokio::test]
async fn events_lists_the_audit_trail_newest_first_and_filters_by_user() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.register("trail@example.com").await;
    app.login("trail@example.com").await;
    let wrong = json!({"email": "trail@example.com", "password": "wrong-password-1"});
    app.post_json(&crate::helpers::client(), "/api/v1/login", &wrong).await;
    app.register("other@example.com").await;
    let cli = Cli::on_database(&app.db.url);
    let run = cli.run(&["events", "--email", "trail@example.com", "--json"]).await.expect_code(0);
    let events: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["login_failed", "login_succeeded", "register"]);
    assert_eq!(events[0]["detail"], "wrong_password");
    let all = cli.run(&["events", "--limit", "2"]).await.expect_code(0);
    assert_eq!(all.stdout.lines().count(), 3, "a header and two rows:\n{}", all.stdout);
    assert!(all.stdout.lines().nth(1).unwrap().contains("register"), "newest first");
    cli.run(&["events", "--email", "nobody@example.com"]).await.expect_code(1);
}

#[tokio::test]
async fn client_create_prints_the_secret_once_and_list_and_delete_manage_clients() {
    let cli = Cli::new();
    let run = cli
        .run(&["client", "create", "--name", "Wiki", "--redirect-uri", "https://wiki.example/cb"])
        .await
        .expect_code(0);
    let id =
        run.stdout.lines().find_map(|l| l.strip_prefix("client_id: ")).expect("client_id line").to_owned();
    // Hex, so that no id can be taken for a flag (`client delete -x…`).
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{id}");
    let secret =
        run.stdout.lines().find_map(|l| l.strip_prefix("client_secret: ")).expect("client_secret line");
    assert_eq!(secret.len(), 43, "a 256-bit secret");
    let run = cli
        .run(&[
            "client",
            "create",
            "--name",
            "SPA",
            "--redirect-uri",
            "http://127.0.0.1:3000/cb",
            "--public",
            "--json",
        ])
        .await
        .expect_code(0);
    let spa: Value = serde_json::from_str(&run.stdout).expect("--json prints one object");
    assert_eq!(spa["public"], true);
    assert_eq!(spa["resource_server"], false);
    assert!(spa.get("client_secret").is_none(), "public clients have no secret");
    let api = ["client", "create", "--name", "API", "--redirect-uri", "https://api.example/cb"];
    let run = cli.run(&[&api[..], &["--resource-server", "--json"]].concat()).await.expect_code(0);
    let api_client: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(api_client["resource_server"], true);
    let run = cli.run(&[&api[..], &["--resource-server", "--public"]].concat()).await.expect_code(2);
    assert!(run.error_line().contains("--resource-server"), "{}", run.stderr);

    let list = cli.run(&["client", "list", "--json"]).await.expect_code(0);
    let clients: Value = serde_json::from_str(&list.stdout).unwrap();
    let servers: Vec<_> = clients
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["resource_server"] == true)
        .map(|c| &c["client_id"])
        .collect();
    assert_eq!(servers, [&api_client["client_id"]]);
    assert!(!list.stdout.contains(secret), "the secret is shown once, at creation");
    let table = cli.run(&["client", "list"]).await.expect_code(0);
    assert!(table.stdout.contains(&id) && table.stdout.contains("confidential"));
    assert!(table.stdout.lines().next().unwrap().contains("RESOURCE-SERVER"), "{}", table.stdout);
    let api_row = table.stdout.lines().find(|l| l.contains("API")).unwrap();
    assert!(api_row.split_whitespace().filter(|w| *w == "yes").count() == 1, "{api_row}");
    // The secret is stored hashed only.
    let mut raw = std::fs::read(cli.path("p.db")).unwrap();
    raw.extend(std::fs::read(cli.path("p.db-wal")).unwrap_or_default());
    assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()));

    cli.run(&["client", "delete", &id]).await.expect_code(0);
    let run = cli.run(&["client", "delete", &id]).await.expect_code(1);
    assert!(run.error_line().contains("no client"), "{}", run.stderr);
    let run = cli.run(&["client", "create", "--name", "Bad", "--redirect-uri", "javascript:alert(1)"]).await;
    let run = run.expect_code(2);
    assert!(run.error_line().contains("--redirect-uri"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_is_published_at_once_and_used_by_a_running_node_within_60_seconds() {
    let cli = Cli::new();
    cli.create_user("keys@example.com", &[]).await;
    let url = cli.vars.iter().find(|(k, _)| k == "PORTCULLIS_DATABASE__URL").unwrap().1.clone();
    let node = crate::helpers::Node::start(&url, &[]).await;
    let c = {
        portcullis_upstream::install_crypto_provider();
        reqwest::Client::new()
    };
    let token = || async {
        let body = json!({"email": "keys@example.com", "password": PASSWORD});
        let t: Value =
            c.post(node.url("/api/v1/tokens")).json(&body).send().await.unwrap().json().await.unwrap();
        t["access_token"].as_str().unwrap().to_owned()
    };
    let kid = |jwt: &str| crate::tokens::header(jwt)["kid"].as_str().unwrap().to_owned();
    let old = token().await;
    let run = cli.run(&["keys", "rotate"]).await.expect_code(0);
    let new_kid = run.stdout.split_whitespace().nth(3).expect("new signing key <kid>").to_owned();
    assert_ne!(new_kid, kid(&old));
    let list = cli.run(&["keys", "list"]).await.expect_code(0);
    assert_eq!(list.stdout.lines().count(), 3, "header + two keys:\n{}", list.stdout);
    let jwks: Value = c.get(node.url("/oauth2/jwks")).send().await.unwrap().json().await.unwrap();
    let kids: Vec<&str> =
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, [new_kid.as_str(), kid(&old).as_str()], "published before any node signs with it");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if kid(&token().await) == new_kid {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the node signs with the new key within 60 s");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let res = c.get(node.url("/api/v1/me")).bearer_auth(&old).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "tokens of the retired key stay valid");
}
