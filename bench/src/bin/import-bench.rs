//! `import-bench`: `portcullis user import` of a large file (wall time and peak
//! RSS, from `/usr/bin/time`), and the first-sign-in rate of imported Werkzeug
//! scrypt and pbkdf2 hashes beside Argon2id at the default cost, on SQLite and
//! PostgreSQL. Run it through `scripts/bench-import` (release build first);
//! loopback only. Not part of CI.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use sqlx::Connection as _;

const PASSWORD: &str = "imported password 1";

#[derive(Debug, Parser)]
struct Options {
    /// Lines of the import file (0: no import run, only the sign-ins).
    #[arg(long, default_value_t = 1_000_000)]
    lines: usize,
    /// Users of each hash kind for the sign-in runs (each signs in once).
    #[arg(long, default_value_t = 2_000)]
    login_users: usize,
    /// Length of each sign-in run.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Concurrent sign-ins.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres: String,
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    #[arg(long, default_value = "target/bench-import")]
    out_dir: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = Options::parse();
    std::fs::create_dir_all(&o.out_dir)?;
    let portcullis = o.bin_dir.join("portcullis");
    let (scrypt, pbkdf2, argon) = hashes()?;
    let big = o.out_dir.join("users.csv");
    write_big_file(&big, o.lines, &scrypt)?;
    let small = o.out_dir.join("logins.csv");
    write_login_file(&small, o.login_users, &[("s", &scrypt), ("p", &pbkdf2), ("a", &argon)])?;
    let mut report = String::from(
        "| backend | import of lines | wall time | peak RSS | sign-ins/s Argon2id (default cost) | Werkzeug scrypt:32768:8:1 (first sign-in, with the Argon2id rehash) | Werkzeug pbkdf2:sha256:1000000 (same) |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for backend in &o.backends {
        let url = database(&o, backend, "import").await?;
        run(&portcullis, &url, &["migrate"])?;
        let (seconds, peak_kib) =
            if o.lines == 0 { (0.0, 0) } else { timed_import(&portcullis, &url, &big)? };
        eprintln!(
            "{backend}: imported {} lines in {seconds:.1} s, peak RSS {} MiB",
            o.lines,
            peak_kib / 1024
        );
        let url2 = database(&o, backend, "logins").await?;
        run(&portcullis, &url2, &["migrate"])?;
        run(&portcullis, &url2, &["user", "import", small.to_str().context("path")?])?;
        let rates = sign_in_rates(&o, &portcullis, &url2).await?;
        eprintln!("{backend}: sign-ins/s {rates:?}");
        let _ = writeln!(
            report,
            "| {backend} | {} | {seconds:.1} s | {} MiB | {:.1} | {:.1} | {:.1} |",
            o.lines,
            peak_kib / 1024,
            rates[2],
            rates[0],
            rates[1]
        );
        drop_database(&o, backend, "import").await;
        drop_database(&o, backend, "logins").await;
    }
    println!("{report}");
    std::fs::write(o.out_dir.join("results.md"), report)?;
    Ok(())
}

/// One valid Werkzeug hash for every line: parsing cost is what the import pays
/// per line, whatever the hash.
fn write_big_file(path: &Path, lines: usize, hash: &str) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "external_id,email,password_hash,created_at,groups")?;
    for i in 0..lines {
        let group = if i % 10 == 0 { "staff" } else { "" };
        writeln!(out, "{i},user{i}@example.com,{hash},2023-05-0{} 10:11:12.123456,{group}", 1 + i % 9)?;
    }
    out.flush()?;
    Ok(())
}

fn write_login_file(path: &Path, users: usize, kinds: &[(&str, &str)]) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "email,password_hash")?;
    for (prefix, hash) in kinds {
        for i in 0..users {
            // Quoted: a PHC string has commas.
            writeln!(out, "{prefix}{i}@example.com,\"{hash}\"")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Werkzeug's defaults (scrypt N=32768 r=8 p=1, pbkdf2:sha256 1,000,000), the
/// salt string's bytes as the salt, as Werkzeug 3.1 writes them; and Argon2id at
/// Portcullis' default cost.
fn hashes() -> anyhow::Result<(String, String, String)> {
    use argon2::PasswordHasher as _;
    let salt = "Q1w2E3r4T5y6U7i8";
    let hex = |b: &[u8]| {
        b.iter().fold(String::new(), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
    };
    let mut out = [0u8; 64];
    scrypt::scrypt(PASSWORD.as_bytes(), salt.as_bytes(), &scrypt::Params::new(15, 8, 1)?, &mut out)?;
    let scrypt = format!("scrypt:32768:8:1${salt}${}", hex(&out));
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(PASSWORD.as_bytes(), salt.as_bytes(), 1_000_000, &mut out);
    let pbkdf2 = format!("pbkdf2:sha256:1000000${salt}${}", hex(&out));
    let params = argon2::Params::new(19_456, 2, 1, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(PASSWORD.as_bytes())
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_string();
    Ok((scrypt, pbkdf2, argon))
}

async fn database(o: &Options, backend: &str, what: &str) -> anyhow::Result<String> {
    if backend == "sqlite" {
        let path = std::fs::canonicalize(&o.out_dir)?.join(format!("{what}.db"));
        for suffix in ["", "-wal", "-shm", "-lock"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        return Ok(format!("sqlite://{}", path.display()));
    }
    let mut conn = sqlx::PgConnection::connect(&format!("{}/postgres", o.postgres)).await?;
    let name = format!("pcbench_{what}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&mut conn)
        .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
    conn.close().await?;
    Ok(format!("{}/{name}", o.postgres))
}

async fn drop_database(o: &Options, backend: &str, what: &str) {
    if backend != "postgres" {
        return;
    }
    if let Ok(mut conn) = sqlx::PgConnection::connect(&format!("{}/postgres", o.postgres)).await {
        let sql = format!("DROP DATABASE IF EXISTS pcbench_{what} WITH (FORCE)");
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await;
    }
}

fn command(portcullis: &Path, url: &str) -> Command {
    let mut c = Command::new(portcullis);
    c.env("PORTCULLIS_DATABASE__URL", url).env("PORTCULLIS_DATABASE__STATEMENT_TIMEOUT", "30s");
    c
}

fn run(portcullis: &Path, url: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = command(portcullis, url).args(args).stdin(Stdio::null()).output()?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        bail!("portcullis {args:?}: {}", tail.join(" / "));
    }
    Ok(())
}

/// Wall seconds and peak RSS (KiB) of the import, from GNU time.
fn timed_import(portcullis: &Path, url: &str, file: &Path) -> anyhow::Result<(f64, u64)> {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "TIME %e %M"])
        .arg(portcullis)
        .args(["user", "import"])
        .arg(file)
        .env("PORTCULLIS_DATABASE__URL", url)
        .stdin(Stdio::null())
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("import failed: {stderr}");
    }
    eprint!("{}", String::from_utf8_lossy(&out.stdout));
    let line = stderr.lines().rfind(|l| l.starts_with("TIME ")).context("no GNU time line")?;
    let mut parts = line.split_whitespace().skip(1);
    let seconds: f64 = parts.next().context("time")?.parse()?;
    let peak: u64 = parts.next().context("rss")?.parse()?;
    Ok((seconds, peak))
}

/// Sign-ins per second for the scrypt (`s`), pbkdf2 (`p`) and Argon2id (`a`)
/// users, each user signing in once (so an imported hash is verified, then
/// replaced by Argon2id, every time).
async fn sign_in_rates(o: &Options, portcullis: &Path, url: &str) -> anyhow::Result<[f64; 3]> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut server = tokio::process::Command::from(command(portcullis, url));
    server
        .arg("serve")
        .env("PORTCULLIS_SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("PORTCULLIS_RATE_LIMIT__ENABLED", "false")
        .env("PORTCULLIS_LOG__LEVEL", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = server.spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut rates = [0.0; 3];
    for (slot, prefix) in ["s", "p", "a"].iter().enumerate() {
        rates[slot] = load(o, &client, &base, prefix).await?;
    }
    let _ = child.start_kill();
    let _ = child.wait().await;
    Ok(rates)
}

async fn load(o: &Options, client: &reqwest::Client, base: &str, prefix: &str) -> anyhow::Result<f64> {
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + o.duration;
    let mut tasks = Vec::new();
    for _ in 0..o.concurrency {
        let (client, next, ok) = (client.clone(), Arc::clone(&next), Arc::clone(&ok));
        let (url, prefix, users) = (format!("{base}/api/v1/login"), prefix.to_owned(), o.login_users);
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= users {
                    return;
                }
                let body =
                    serde_json::json!({"email": format!("{prefix}{i}@example.com"), "password": PASSWORD});
                if let Ok(res) = client.post(&url).json(&body).send().await
                    && res.status().is_success()
                {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let done = ok.load(Ordering::Relaxed);
    if done == 0 {
        bail!("no sign-in succeeded for {prefix}");
    }
    #[expect(clippy::cast_precision_loss, reason = "a rate")]
    let rate = done as f64 / started.elapsed().as_secs_f64();
    Ok(rate)
}
