//! Driving load with wrk: a Lua script per scenario that cycles through prepared
//! requests (one per seeded session or user), the run itself, and the parsing of
//! `wrk --latency` output.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};

/// One prepared request; the load generator cycles through several.
#[derive(Debug, Clone)]
pub struct Variant {
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// What a scenario sends.
#[derive(Debug, Clone)]
pub struct Load {
    pub method: &'static str,
    pub path: String,
    pub variants: Vec<Variant>,
    /// Each variant may be sent once only (an authorization code, a refresh
    /// token): the threads take turns through them instead of each cycling
    /// through all.
    pub single_use: bool,
}

/// How hard and how long.
#[derive(Debug, Clone)]
pub struct Run {
    pub threads: u32,
    pub connections: u32,
    pub duration: Duration,
    /// Requests slower than this count as timeouts (and get no latency sample).
    pub timeout: Duration,
    /// `taskset -c` CPU list for wrk, if pinned.
    pub cpus: Option<String>,
}

/// The figures of one run, as wrk reports them.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    pub non_2xx: u64,
    pub socket_errors: u64,
    pub timeouts: u64,
    pub raw: String,
}

/// A wrk Lua script sending `load` from `threads` threads. Every thread starts at a
/// different variant and then cycles through them all, one per request; for a
/// single-use load, thread `k` sends variants `k`, `k + threads`, … instead, so no
/// variant is sent twice until all have been.
pub fn script(load: &Load, threads: u32) -> String {
    // Lua limits the constants of one function, so the variants are added by one
    // function per chunk: a single table constructor of tens of thousands of
    // variants fails to load, and wrk then sends a bare GET instead.
    let mut s = String::from("local variants = {}\n");
    for chunk in load.variants.chunks(500) {
        s.push_str(";(function()\n  local t = variants\n");
        for v in chunk {
            s.push_str("  t[#t + 1] = { h = {");
            for (name, value) in &v.headers {
                let _ = write!(s, " [{}] = {},", lua_str(name), lua_str(value));
            }
            s.push_str(" }");
            if let Some(body) = &v.body {
                let _ = write!(s, ", b = {}", lua_str(body));
            }
            s.push_str(" }\n");
        }
        s.push_str("end)()\n");
    }
    let _ = write!(
        s,
        r#"local reqs, n, i = {{}}, 0, 0
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  for k, v in ipairs(variants) do
    reqs[k] = wrk.format({method}, {path}, v.h, v.b)
  end
  n = #reqs
  if {single_use} then
    step = {threads}
    i = (id or 1) - step
  else
    step = 1
    i = ((id or 1) * 7919) % n
  end
end
function request()
  i = (i + step - 1) % n + 1
  return reqs[i]
end
"#,
        method = lua_str(load.method),
        path = lua_str(&load.path),
        single_use = load.single_use,
        threads = threads.max(1),
    );
    s
}

fn lua_str(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 2);
    out.push('"');
    for c in raw.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs wrk against `url` with `script`.
pub async fn run(url: &str, script: &Path, run: &Run) -> anyhow::Result<Stats> {
    let secs = run.duration.as_secs().max(1);
    let mut command = crate::server::command(Path::new("wrk"), run.cpus.as_deref());
    command
        .arg(format!("-t{}", run.threads.min(run.connections)))
        .arg(format!("-c{}", run.connections))
        .arg(format!("-d{secs}s"))
        .arg(format!("--timeout={}s", run.timeout.as_secs().max(1)))
        .arg("--latency")
        .arg("-s")
        .arg(script)
        .arg(url);
    let out = command.output().await.context("cannot run wrk")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A script that does not load is only reported on stderr, and wrk goes on
    // sending bare GETs: that is not a measurement.
    if let Some(line) = stderr.lines().find(|l| l.contains(".lua")) {
        bail!("wrk could not run its script: {line}");
    }
    if !out.status.success() {
        bail!("wrk failed ({}):\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    parse(&stdout).with_context(|| format!("cannot read wrk's output:\n{stdout}"))
}

/// Reads `wrk --latency` output.
pub fn parse(out: &str) -> anyhow::Result<Stats> {
    let mut stats = Stats { raw: out.to_owned(), ..Stats::default() };
    let mut in_distribution = false;
    for line in out.lines().map(str::trim) {
        if line.starts_with("Latency Distribution") {
            in_distribution = true;
            continue;
        }
        if in_distribution {
            match line.split_once('%') {
                Some(("50", rest)) => stats.p50_ms = millis(rest.trim())?,
                Some(("99", rest)) => stats.p99_ms = millis(rest.trim())?,
                Some(_) => {}
                None => in_distribution = false,
            }
        }
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            stats.requests_per_sec = rest.trim().parse().context("Requests/sec")?;
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            stats.non_2xx = rest.trim().parse().context("Non-2xx")?;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            for part in rest.split(',') {
                let (what, n) = part.trim().split_once(' ').context("Socket errors")?;
                let n: u64 = n.trim().parse().context("Socket errors")?;
                stats.socket_errors += n;
                if what == "timeout" {
                    stats.timeouts = n;
                }
            }
        } else if let Some((n, _)) = line.split_once(" requests in ") {
            stats.requests = n.trim().parse().context("requests in")?;
        }
    }
    if stats.requests_per_sec == 0.0 && stats.requests > 0 {
        bail!("no Requests/sec line");
    }
    Ok(stats)
}

/// `812.00us`, `1.52ms`, `2.01s`, `1.00m` in milliseconds.
fn millis(value: &str) -> anyhow::Result<f64> {
    let split = value.find(|c: char| c.is_ascii_alphabetic()).context("a latency without unit")?;
    let (n, unit) = value.split_at(split);
    let n: f64 = n.parse().with_context(|| format!("latency {value:?}"))?;
    Ok(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        "h" => n * 3_600_000.0,
        other => bail!("unknown latency unit {other:?}"),
    })
}

/// `GET path` with each session token as the cookie.
pub(crate) fn cookie_load(path: &str, tokens: &[String], accept: &str) -> Load {
    let variants = tokens
        .iter()
        .map(|t| Variant {
            headers: vec![
                ("Cookie".into(), format!("portcullis_session={t}")),
                ("Accept".into(), accept.into()),
            ],
            body: None,
        })
        .collect();
    Load { method: "GET", path: path.into(), variants, single_use: false }
}

/// `POST /api/v1/login` with each seeded email and the seed password, from a
/// browser that keeps its device cookie: each email has its own device id, sent
/// with every sign-in, so the account's first sign-in records the device and the
/// rest are a returning browser's (wrk keeps no cookies; without it every sign-in
/// would be a new device's, with a notice mailed each time).
pub(crate) fn login_load(emails: &[String]) -> Load {
    let variants = emails
        .iter()
        .map(|e| Variant {
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Accept".into(), "application/json".into()),
                ("Cookie".into(), format!("portcullis_device={}", fake_token())),
            ],
            body: Some(serde_json::json!({ "email": e, "password": crate::seed::PASSWORD }).to_string()),
        })
        .collect();
    Load { method: "POST", path: "/api/v1/login".into(), variants, single_use: false }
}

/// A token of the real shape (43 base64url characters) that names no session.
pub(crate) fn fake_token() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Running 10s test @ http://127.0.0.1:4000/api/v1/me
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20ms  512.00us  20.31ms   90.00%
    Req/Sec    27.01k     1.20k   30.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    1.31ms
     90%    1.80ms
     99%    2.52s
  537465 requests in 10.00s, 150.27MB read
  Socket errors: connect 0, read 3, write 0, timeout 12
  Non-2xx or 3xx responses: 7
Requests/sec:  53740.12
Transfer/sec:     15.02MB
";

    #[test]
    fn wrk_latency_output_is_read() {
        let s = parse(SAMPLE).unwrap();
        assert!((s.requests_per_sec - 53_740.12).abs() < 1e-9);
        assert!((s.p50_ms - 0.812).abs() < 1e-9);
        assert!((s.p99_ms - 2520.0).abs() < 1e-9);
        assert_eq!((s.requests, s.non_2xx, s.socket_errors, s.timeouts), (537_465, 7, 15, 12));
    }

    #[test]
    fn scripts_quote_what_they_embed() {
        let load = Load {
            method: "POST",
            path: "/api/v1/login".into(),
            variants: vec![Variant {
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: Some(r#"{"email":"a\b"}"#.into()),
            }],
            single_use: false,
        };
        let s = script(&load, 2);
        assert!(s.contains(r#"b = "{\"email\":\"a\\b\"}""#), "{s}");
        assert!(s.contains(r#"wrk.format("POST", "/api/v1/login", v.h, v.b)"#), "{s}");
    }
}
