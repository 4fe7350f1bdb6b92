//! The run: the two baselines, then for each backend and scale a freshly seeded
//! database and the scenarios, each on a freshly started server so that its peak
//! RSS is its own.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::process::Command;

use crate::argon::{self, Baseline};
use crate::database::{Database, postgres_reachable};
use crate::machine::{self, Machine};
use crate::rounds::{Before, in_rounds};
use crate::server::{self, Memory, Server};
use crate::wrk::{self, Load, Run, Stats, Variant};
use crate::{Backend, Options, probe, report, seed};

/// Users and sessions the load generator cycles through, spread over the tables.
pub(crate) const SAMPLE: u64 = 1000;

/// Access tokens fetched for the bearer scenario (each costs one Argon2id hash).
const BEARER_TOKENS: usize = 16;

/// The scenarios run against each seeded database, in this order (logins add
/// sessions, so the pages that list sessions come first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Scenario {
    /// `GET /healthz`: the HTTP stack and middleware without the database.
    Floor,
    Me,
    Bearer,
    /// Forward-auth with the default policy only.
    Verify,
    /// Forward-auth with a bearer token.
    VerifyBearer,
    /// Forward-auth with [`ACCESS_RULES`]: the request matches the last rule.
    VerifyRules,
    /// `POST /oauth2/token`, `grant_type=authorization_code` (confidential client).
    TokenCode,
    /// `POST /oauth2/token`, `grant_type=refresh_token` (confidential client).
    TokenRefresh,
    /// `POST /oauth2/introspect` of an access token, by a resource server.
    Introspect,
    /// The admin user list (SPEC §8), first page of 50.
    AdminFirst,
    /// A page of 50 from the middle of the list (a keyset cursor).
    AdminDeep,
    /// An email-prefix search.
    AdminSearch,
    Account,
    Login,
    /// `POST /api/v1/login` to `login-floor`, a server that only runs the hash (first
    /// scale only): the most a sign-in can reach on these CPUs.
    LoginFloor,
    Flood,
    /// Sign-out on one node, first refusal on another (PostgreSQL).
    Revocation,
}

/// One scenario's figures.
#[derive(Debug, Clone)]
pub struct Measured {
    pub stats: Stats,
    /// Right after start-up.
    pub idle: Memory,
    /// After the run; `peak_kib` is the scenario's peak.
    pub after: Memory,
    /// The server's stderr at `log.level=warn` (empty when all went well).
    pub log: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Measured(Box<Measured>),
    Failed(String),
}

impl From<anyhow::Result<Measured>> for Outcome {
    fn from(r: anyhow::Result<Measured>) -> Self {
        match r {
            Ok(m) => Self::Measured(Box::new(m)),
            Err(e) => Self::Failed(format!("{e:#}")),
        }
    }
}

/// Everything measured on one backend at one scale.
#[derive(Debug, Clone)]
pub struct Target {
    pub backend: Backend,
    pub scale: u64,
    /// Seconds spent seeding, or why the database could not be prepared.
    pub seeding: Result<f64, String>,
    pub scenarios: Vec<(Scenario, Outcome)>,
    /// The baseline measured right before each scenario whose target is a ratio
    /// ([`Scenario::PAIRED`]: hello world; [`Scenario::Login`] and [`Scenario::LoginFloor`]: Argon2id alone), so the
    /// ratio compares two runs taken seconds apart, not the scenario with the run's
    /// first baseline minutes earlier. With several rounds, the median round's.
    pub before: Vec<(Scenario, Before)>,
    /// Every round's ratio (sorted), when a ratio scenario ran more than once.
    pub rounds: Vec<(Scenario, Vec<f64>)>,
    /// Revocation latencies across two nodes, or why there are none.
    pub revocation: Option<Result<crate::revocation::Revocation, String>>,
}

impl Outcome {
    /// Requests per second, when measured.
    pub fn rate(&self) -> Option<f64> {
        match self {
            Self::Measured(m) => Some(m.stats.requests_per_sec),
            Self::Failed(_) => None,
        }
    }
}

impl Target {
    pub(crate) fn new(backend: Backend, scale: u64) -> Self {
        let seeding = Err(String::new());
        Self {
            backend,
            scale,
            seeding,
            scenarios: Vec::new(),
            before: Vec::new(),
            rounds: Vec::new(),
            revocation: None,
        }
    }

    pub fn get(&self, s: Scenario) -> Option<&Outcome> {
        self.scenarios.iter().find(|(k, _)| *k == s).map(|(_, o)| o)
    }

    /// The baseline measured right before `s`.
    pub fn before(&self, s: Scenario) -> Option<&Before> {
        self.before.iter().find(|(k, _)| *k == s).map(|(_, b)| b)
    }

    /// Every round's ratio of `s` (sorted), when it ran more than once.
    pub fn rounds(&self, s: Scenario) -> Option<&[f64]> {
        self.rounds.iter().find(|(k, _)| *k == s).map(|(_, r)| r.as_slice())
    }
}

impl Scenario {
    /// The scenarios whose targets are ratios to hello world.
    pub const PAIRED: [Self; 5] = [Self::Floor, Self::Me, Self::Bearer, Self::Verify, Self::VerifyBearer];

    pub(crate) fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self).map_or_else(String::new, |v| v.get_name().to_owned())
    }
}

/// The whole run.
#[derive(Debug)]
pub struct Results {
    pub machine: Machine,
    /// Load averages when the run ended.
    pub load_at_end: String,
    pub options: Options,
    pub argon: Result<Baseline, String>,
    pub hello: Outcome,
    pub targets: Vec<Target>,
    pub notes: Vec<String>,
}

pub(crate) struct Ctx {
    pub(crate) options: Options,
    portcullis: PathBuf,
    hello: PathBuf,
    login_floor: PathBuf,
    pub(crate) work: PathBuf,
    raw: PathBuf,
}

/// Runs everything, prints and writes the report; `Ok(false)` when a scenario failed.
pub async fn run(options: Options) -> anyhow::Result<bool> {
    let portcullis = options.bin_dir.join("portcullis");
    let hello = options.bin_dir.join("hello-baseline");
    let login_floor = options.bin_dir.join("login-floor");
    for bin in [&portcullis, &hello, &login_floor] {
        if !bin.is_file() {
            bail!("{} is missing: build it first (scripts/bench does)", bin.display());
        }
    }
    if Command::new("wrk").arg("-v").output().await.is_err() {
        bail!("wrk is not installed (apt-get install wrk; scripts/bench does)");
    }
    let raw = options.out_dir.join("raw");
    std::fs::create_dir_all(&raw).with_context(|| format!("cannot create {}", raw.display()))?;
    // Absolute paths: the servers run in the scratch folder.
    let (portcullis, hello, login_floor) =
        (std::path::absolute(&portcullis)?, std::path::absolute(&hello)?, std::path::absolute(&login_floor)?);
    let work = tempfile::Builder::new().prefix("work-").tempdir_in(std::path::absolute(&options.out_dir)?)?;
    let ctx =
        Ctx { options: options.clone(), portcullis, hello, login_floor, work: work.path().to_owned(), raw };
    let mut notes = Vec::new();
    if let Some(limit) = machine::open_files_limit()
        && limit < u64::from(options.flood_connections) + 100
    {
        notes.push(format!(
            "open-files limit {limit} is below {} connections + slack: raise `ulimit -n` (scripts/bench does)",
            options.flood_connections
        ));
    }
    let machine = Machine::describe().await;
    eprintln!("machine: {} CPUs, {}, {}", machine.cpus, machine.cpu_model, machine.memory);

    let hash = tokio::task::spawn_blocking(seed::password_hash).await??;
    eprintln!("==> Argon2id alone: {} threads for {:?}", machine::cpus(), options.duration);
    let duration = options.duration;
    let argon = tokio::task::spawn_blocking(move || argon::run(machine::cpus(), duration))
        .await?
        .map_err(|e| format!("{e:#}"));
    if let Ok(a) = &argon {
        eprintln!("    {:.1} hashes/s ({:.1} ms per hash)", a.hashes_per_sec, a.ms_per_hash);
    }

    eprintln!("==> axum hello world");
    let hello = Outcome::from(hello_baseline(&ctx, "hello").await);

    let mut targets = Vec::new();
    for &backend in &options.backends {
        if backend == Backend::Postgres
            && let Err(e) = postgres_reachable(&options.postgres).await
        {
            notes.push(format!("PostgreSQL skipped: {} is unreachable ({e})", options.postgres));
            continue;
        }
        for (i, &scale) in options.scales.iter().enumerate() {
            targets.push(target(&ctx, backend, scale, &hash, i == 0).await);
        }
    }

    let load_at_end = machine::load_average();
    let results = Results { machine, load_at_end, options, argon, hello, targets, notes };
    let ok = !report::any_failed(&results);
    let table = report::render(&results);
    println!("{table}");
    let path = ctx.options.out_dir.join("results.md");
    std::fs::write(&path, &table).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("written to {} (raw wrk output in {})", path.display(), ctx.raw.display());
    if ctx.options.keep {
        eprintln!("kept: {}", work.keep().display());
    }
    Ok(ok)
}

pub(crate) async fn hello_baseline(ctx: &Ctx, label: &str) -> anyhow::Result<Measured> {
    // The same request shapes as the Portcullis runs (the cookie is ignored), so the
    // load generator does the same work on both sides.
    let cookies: Vec<String> = (0..SAMPLE).map(|_| wrk::fake_token()).collect();
    let load = wrk::cookie_load("/", &cookies, "application/json");
    let command = || server::command(&ctx.hello, ctx.options.server_cpus.as_deref());
    measure(ctx, label, command, &load, 200, &ctx.run(ctx.options.connections)).await
}

/// One backend at one scale: prepare, seed, run the scenarios, clean up.
/// The database-free floor and the login flood run at the first scale only.
async fn target(ctx: &Ctx, backend: Backend, scale: u64, hash: &str, first: bool) -> Target {
    let label = format!("{}-{scale}", backend.name().to_lowercase());
    eprintln!("==> {} with {scale} users and sessions", backend.name());
    let mut t = Target::new(backend, scale);
    let db = match Database::create(ctx, backend, &label).await {
        Ok(db) => db,
        Err(e) => {
            t.seeding = Err(format!("{e:#}"));
            return t;
        }
    };
    let started = Instant::now();
    let sample = match db.seed(scale, hash).await {
        Ok(sample) => sample,
        Err(e) => {
            t.seeding = Err(format!("{e:#}"));
            db.drop(ctx).await;
            return t;
        }
    };
    t.seeding = Ok(started.elapsed().as_secs_f64());
    eprintln!("    seeded in {:.1} s", started.elapsed().as_secs_f64());

    let start = || portcullis_command(ctx, &db.url, "serve");
    let run = ctx.run(ctx.options.connections);
    let wants = |s: Scenario| ctx.wants(s);
    let cookie_scenarios = [
        (Scenario::Floor, "healthz", wrk::cookie_load("/healthz", &sample.tokens, "application/json")),
        (Scenario::Me, "me", wrk::cookie_load("/api/v1/me", &sample.tokens, "application/json")),
        (
            Scenario::Verify,
            "verify",
            verify_load(wrk::cookie_load("/auth/verify", &sample.tokens, "application/json")),
        ),
    ];
    for (scenario, name, load) in &cookie_scenarios {
        if wants(*scenario) && (first || *scenario != Scenario::Floor) {
            let (label, run) = (label.as_str(), &run);
            in_rounds(ctx, &mut t, *scenario, label, async |round: &str| {
                measure(ctx, &format!("{label}-{name}{round}"), start, load, 200, run).await.into()
            })
            .await;
        }
    }
    if wants(Scenario::VerifyRules) {
        let verify = verify_load(wrk::cookie_load("/auth/verify", &sample.tokens, "application/json"));
        let outcome = match write_rules(ctx) {
            Ok(rules) => {
                let with_rules = || {
                    let mut c = portcullis_command(ctx, &db.url, "serve");
                    c.arg("--config").arg(&rules);
                    c
                };
                measure(ctx, &format!("{label}-verify-rules"), with_rules, &verify, 200, &run).await.into()
            }
            Err(e) => Outcome::Failed(format!("{e:#}")),
        };
        t.scenarios.push((Scenario::VerifyRules, outcome));
    }
    for (scenario, name, load) in admin_loads(&sample) {
        if wants(scenario) {
            let outcome = measure(ctx, &format!("{label}-{name}"), start, &load, 200, &run).await;
            t.scenarios.push((scenario, outcome.into()));
        }
    }
    if wants(Scenario::Account) {
        let account = wrk::cookie_load("/account", &sample.tokens, "text/html");
        let outcome = measure(ctx, &format!("{label}-account"), start, &account, 200, &run).await;
        t.scenarios.push((Scenario::Account, outcome.into()));
    }
    let login = wrk::login_load(&sample.emails);
    logins(ctx, &mut t, &label, start, &login, &run, first).await;
    // After the account page and the logins: the code exchanges and the seeded
    // refresh tokens give every sampled user dozens of token families, which the
    // account page lists.
    token_scenarios(ctx, &mut t, backend, &db.url, &sample, &label, &run).await;
    if first && wants(Scenario::Flood) {
        let flood_run = Run {
            connections: ctx.options.flood_connections,
            duration: ctx.options.flood_duration,
            timeout: Duration::from_secs(60),
            ..run
        };
        let outcome = measure(ctx, &format!("{label}-flood"), start, &login, 200, &flood_run).await;
        t.scenarios.push((Scenario::Flood, outcome.into()));
    }
    // Last: it signs the sampled sessions out (from the 2nd on: the 1st is the
    // administrator the admin scenarios use).
    if backend == Backend::Postgres && wants(Scenario::Revocation) {
        t.revocation = Some(revocation(ctx, &label, &db.url, &sample).await);
    }
    db.drop(ctx).await;
    t
}

/// The logins, each round after its own Argon2id run; at the first scale, the
/// same load against `login-floor` (the hash alone), in rounds of its own.
async fn logins(
    ctx: &Ctx,
    t: &mut Target,
    label: &str,
    start: impl Fn() -> Command + Copy,
    login: &Load,
    run: &Run,
    first: bool,
) {
    if ctx.wants(Scenario::Login) {
        in_rounds(ctx, t, Scenario::Login, label, async |round: &str| {
            measure(ctx, &format!("{label}-login{round}"), start, login, 200, run).await.into()
        })
        .await;
    }
    if first && ctx.wants(Scenario::LoginFloor) {
        let floor = || server::command(&ctx.login_floor, ctx.options.server_cpus.as_deref());
        in_rounds(ctx, t, Scenario::LoginFloor, label, async |round: &str| {
            measure(ctx, &format!("{label}-login-floor{round}"), floor, login, 200, run).await.into()
        })
        .await;
    }
}

/// Sign-out on one node, first refusal on another, for the sampled sessions.
async fn revocation(
    ctx: &Ctx,
    label: &str,
    url: &str,
    sample: &seed::Sample,
) -> Result<crate::revocation::Revocation, String> {
    eprintln!("    revocation across two nodes, {} sessions", crate::revocation::ROUNDS);
    let measured = crate::revocation::measure(ctx, label, url, &sample.tokens[1..]).await;
    if let Ok(r) = &measured {
        let l = &r.from_sent;
        eprintln!(
            "    revocation (from sending the logout): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            l.percentile(50),
            l.percentile(99),
            l.max()
        );
    }
    measured.map_err(|e| format!("{e:#}"))
}

/// The scenarios that need access tokens or an OAuth client: `/api/v1/me` and
/// `/auth/verify` with a bearer token, the token endpoint, introspection.
async fn token_scenarios(
    ctx: &Ctx,
    t: &mut Target,
    backend: Backend,
    url: &str,
    sample: &seed::Sample,
    label: &str,
    run: &Run,
) {
    let wants = |s: Scenario| ctx.wants(s);
    let run = run.clone();
    let bearers = [Scenario::Bearer, Scenario::VerifyBearer, Scenario::Introspect];
    let tokens = if bearers.into_iter().any(wants) {
        access_tokens(ctx, url, sample).await.map_err(|e| format!("{e:#}"))
    } else {
        Err(String::new())
    };
    let issuer = || issuer_command(ctx, url);
    for (scenario, name, path) in
        [(Scenario::Bearer, "bearer", None), (Scenario::VerifyBearer, "verify-bearer", Some("/auth/verify"))]
    {
        if !wants(scenario) {
            continue;
        }
        let load = match &tokens {
            Ok(tokens) => match path {
                Some(path) => verify_load(bearer_load(path, tokens)),
                None => bearer_load("/api/v1/me", tokens),
            },
            Err(e) => {
                t.scenarios.push((scenario, Outcome::Failed(e.clone())));
                continue;
            }
        };
        let run = &run;
        in_rounds(ctx, t, scenario, label, async |round: &str| {
            measure(ctx, &format!("{label}-{name}{round}"), issuer, &load, 200, run).await.into()
        })
        .await;
    }
    let oauth_scenarios = [Scenario::TokenCode, Scenario::TokenRefresh, Scenario::Introspect];
    if oauth_scenarios.into_iter().any(wants) {
        let count = crate::oauth::needed((ctx.options.duration + ctx.options.warmup).as_secs());
        match crate::oauth::prepare(ctx, backend, url, count).await {
            Ok(setup) => {
                let loads = [
                    (Scenario::TokenCode, "token-code", Some(setup.code_load())),
                    (Scenario::TokenRefresh, "token-refresh", Some(setup.refresh_load())),
                    (
                        Scenario::Introspect,
                        "introspect",
                        tokens.as_ref().ok().map(|t| setup.introspect_load(t)),
                    ),
                ];
                for (scenario, name, load) in loads {
                    if !wants(scenario) {
                        continue;
                    }
                    let outcome = match load {
                        Some(load) => {
                            measure(ctx, &format!("{label}-{name}"), issuer, &load, 200, &run).await.into()
                        }
                        None => Outcome::Failed(tokens.clone().err().unwrap_or_default()),
                    };
                    t.scenarios.push((scenario, outcome));
                }
            }
            Err(e) => {
                for s in oauth_scenarios.into_iter().filter(|s| wants(*s)) {
                    t.scenarios.push((s, Outcome::Failed(format!("{e:#}"))));
                }
            }
        }
    }
}

/// Forward-auth rules for the `VerifyRules` scenario: nineteen that a request for
/// `https://app.bench.example/admin/settings` does not match (other hosts, wildcard
/// hosts, other paths, other methods), then the `groups` rule it does match, for the
/// group every seeded user is in ([`seed::GROUP`]).
const ACCESS_RULES: &str = r#"[access]
default_policy = "deny"
[[access.rules]]
host = "grafana.bench.example"
policy = "signed_in"
[[access.rules]]
host = "*.internal.bench.example"
policy = "deny"
[[access.rules]]
host = "status.bench.example"
path = "/public/*"
policy = "public"
[[access.rules]]
path = "/healthz"
policy = "public"
[[access.rules]]
path = "/static/*"
policy = "public"
[[access.rules]]
path = "/api/admin/*"
methods = ["POST", "PUT", "DELETE"]
policy = "groups"
groups = ["admin"]
[[access.rules]]
path = "/api/*"
policy = "signed_in"
[[access.rules]]
host = "wiki.bench.example"
path = "/edit/*"
policy = "two_factor"
[[access.rules]]
host = "wiki.bench.example"
policy = "signed_in"
[[access.rules]]
host = "*.ops.bench.example"
policy = "groups"
groups = ["ops", "admin"]
[[access.rules]]
path = "/billing/*"
policy = "groups"
groups = ["finance"]
[[access.rules]]
path = "/reports*"
policy = "groups"
groups = ["finance", "ops"]
[[access.rules]]
path = "/admin/users/*"
policy = "two_factor"
[[access.rules]]
path = "/admin/keys"
policy = "deny"
[[access.rules]]
host = "app.bench.example"
path = "/admin/*"
methods = ["POST", "PUT", "PATCH", "DELETE"]
policy = "groups"
groups = ["admin"]
[[access.rules]]
host = "legacy.bench.example"
policy = "deny"
[[access.rules]]
path = "/.well-known/*"
policy = "public"
[[access.rules]]
path = "/metrics"
policy = "deny"
[[access.rules]]
host = "*.preview.bench.example"
policy = "two_factor"
[[access.rules]]
host = "app.bench.example"
path = "/admin/*"
policy = "groups"
groups = ["ops", "bench"]
"#;

fn write_rules(ctx: &Ctx) -> anyhow::Result<PathBuf> {
    anyhow::ensure!(
        ACCESS_RULES.contains(&format!("\"{}\"]", seed::GROUP)),
        "the last rule names the seeded group"
    );
    let path = std::path::absolute(ctx.work.join("access-rules.toml"))?;
    std::fs::write(&path, ACCESS_RULES).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// The admin listings as user 0 (an administrator) asks for them: the first page,
/// a page after the middle of the id space (every seeded user has the same
/// `created_at`, so the keyset cursor `(created_at, id)` of UUID 8000… lands
/// half-way), and a prefix search that matches 11 users at 1,000,000.
fn admin_loads(sample: &seed::Sample) -> Vec<(Scenario, &'static str, Load)> {
    use base64::Engine as _;
    let middle = format!("{}:80000000-0000-4000-8000-000000000000", sample.created_at);
    let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(middle);
    let admin = &sample.tokens[..1];
    [
        (Scenario::AdminFirst, "admin-first", "/api/v1/admin/users?limit=50".to_owned()),
        (Scenario::AdminDeep, "admin-deep", format!("/api/v1/admin/users?limit=50&after={cursor}")),
        (Scenario::AdminSearch, "admin-search", "/api/v1/admin/users?q=user4242&limit=50".to_owned()),
    ]
    .into_iter()
    .map(|(scenario, name, path)| (scenario, name, wrk::cookie_load(&path, admin, "application/json")))
    .collect()
}

/// `GET /auth/verify` as nginx asks it, with the credentials of `load`.
fn verify_load(mut load: Load) -> Load {
    for v in &mut load.variants {
        v.headers.extend([
            ("X-Forwarded-Host".into(), "app.bench.example".into()),
            ("X-Forwarded-Uri".into(), "/admin/settings?tab=1".into()),
            ("X-Forwarded-Method".into(), "GET".into()),
        ]);
    }
    load
}

/// `GET path` with `Authorization: Bearer`, one variant per access token.
fn bearer_load(path: &str, tokens: &[String]) -> Load {
    let variants = tokens
        .iter()
        .map(|t| Variant {
            headers: vec![
                ("Authorization".into(), format!("Bearer {t}")),
                ("Accept".into(), "application/json".into()),
            ],
            body: None,
        })
        .collect();
    Load { method: "GET", path: path.into(), variants, single_use: false }
}

/// `serve` with a fixed public URL: a token's `iss` is the public URL, which would
/// otherwise name each server's ephemeral port, so a token issued by the server that
/// handed it out would be refused by the one measured.
fn issuer_command(ctx: &Ctx, url: &str) -> Command {
    let mut c = portcullis_command(ctx, url, "serve");
    c.env("PORTCULLIS_SERVER__PUBLIC_URL", "http://127.0.0.1:8080");
    c
}

/// Access tokens from `POST /api/v1/tokens` for the first sampled users.
async fn access_tokens(ctx: &Ctx, url: &str, sample: &seed::Sample) -> anyhow::Result<Vec<String>> {
    let server = Server::start("portcullis", issuer_command(ctx, url)).await?;
    let login = wrk::login_load(&sample.emails);
    let load = Load { path: "/api/v1/tokens".into(), ..login.clone() };
    let mut tokens = Vec::new();
    for variant in login.variants.iter().take(BEARER_TOKENS) {
        let response = probe::send(server.addr, &load, variant).await?;
        if response.status != 200 {
            bail!("POST /api/v1/tokens answered {}: {}", response.status, response.body);
        }
        let json: serde_json::Value = serde_json::from_str(&response.body)
            .with_context(|| format!("POST /api/v1/tokens: not JSON: {}", response.body))?;
        let token = json["access_token"].as_str().context("POST /api/v1/tokens: no access_token")?;
        tokens.push(token.to_owned());
    }
    server.stop().await?;
    Ok(tokens)
}

/// Starts a server, checks the load is answered with `expected`, warms up, measures.
async fn measure(
    ctx: &Ctx,
    label: &str,
    command: impl Fn() -> Command,
    load: &Load,
    expected: u16,
    run: &Run,
) -> anyhow::Result<Measured> {
    let server = Server::start(label, command()).await?;
    let result = drive(ctx, &server, load, expected, run).await;
    let log = server.stop().await?;
    let (stats, idle, after) = result?;
    eprintln!(
        "    {label}: {:.1} req/s, p50 {:.2} ms, p99 {:.2} ms, peak RSS {:.1} MiB{}",
        stats.requests_per_sec,
        stats.p50_ms,
        stats.p99_ms,
        after.peak_kib as f64 / 1024.0,
        if stats.non_2xx + stats.socket_errors > 0 {
            format!(" ({} non-2xx, {} socket errors)", stats.non_2xx, stats.socket_errors)
        } else {
            String::new()
        }
    );
    Ok(Measured { stats, idle, after, log })
}

async fn drive(
    ctx: &Ctx,
    server: &Server,
    load: &Load,
    expected: u16,
    run: &Run,
) -> anyhow::Result<(Stats, Memory, Memory)> {
    let label = server.label();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let idle = server.memory()?;
    let threads = run.threads.min(run.connections);
    let url = format!("http://{}{}", server.addr, load.path);
    let (check, warmup, measured) = split(load, ctx.options.warmup, run.duration);
    probe::expect(server.addr, &check, expected).await.with_context(|| format!("{label}: check"))?;
    if !ctx.options.warmup.is_zero() {
        let script = ctx.work.join(format!("{label}-warmup.lua"));
        std::fs::write(&script, wrk::script(&warmup, threads))?;
        wrk::run(&url, &script, &Run { duration: ctx.options.warmup, ..run.clone() }).await?;
    }
    let script = ctx.work.join(format!("{label}.lua"));
    std::fs::write(&script, wrk::script(&measured, threads))?;
    let stats = wrk::run(&url, &script, run).await?;
    let after = server.memory()?;
    std::fs::write(ctx.raw.join(format!("{label}.txt")), &stats.raw)?;
    Ok((stats, idle, after))
}

/// The requests of the check, the warm-up and the measured run: all of `load`
/// each time, except for a single-use load, whose variants are shared out (the
/// last one for the check, then in proportion to the two runs' lengths).
fn split(load: &Load, warmup: Duration, duration: Duration) -> (Load, Load, Load) {
    if !load.single_use || load.variants.len() < 3 {
        return (load.clone(), load.clone(), load.clone());
    }
    let usable = load.variants.len() - 1;
    let (warm, total) = (warmup.as_millis(), (warmup + duration).as_millis().max(1));
    let w = usize::try_from(u128::try_from(usable).unwrap_or(u128::MAX) * warm / total)
        .unwrap_or(usable)
        .clamp(1, usable - 1);
    let part = |v: &[Variant]| Load { variants: v.to_vec(), ..load.clone() };
    (part(&load.variants[usable..]), part(&load.variants[..w]), part(&load.variants[w..usable]))
}

impl Ctx {
    /// Whether `--only` leaves `scenario` in.
    fn wants(&self, scenario: Scenario) -> bool {
        self.options.only.is_empty() || self.options.only.contains(&scenario)
    }

    fn run(&self, connections: u32) -> Run {
        Run {
            threads: self.options.threads,
            connections,
            duration: self.options.duration,
            timeout: Duration::from_secs(10),
            cpus: self.options.wrk_cpus.clone(),
        }
    }
}

/// `portcullis SUB` on `url`, configured only through its environment.
pub(crate) fn portcullis_command(ctx: &Ctx, url: &str, sub: &str) -> Command {
    let mut c = server::command(&ctx.portcullis, ctx.options.server_cpus.as_deref());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PORTCULLIS_") || key == "RUST_LOG" {
            c.env_remove(key);
        }
    }
    c.arg(sub)
        .current_dir(&ctx.work)
        .env("PORTCULLIS_SERVER__BIND", "127.0.0.1:0")
        .env("PORTCULLIS_DATABASE__URL", url)
        .env("PORTCULLIS_RATE_LIMIT__ENABLED", "false")
        // Warnings only, plus the start-up line that says where it listens.
        .env("PORTCULLIS_LOG__LEVEL", "warn,portcullis::startup=info");
    c
}
