//! The Markdown report: machine and settings, the baselines, Portcullis side by side
//! per backend and scale, the performance targets with their ratios, and notes (errors,
//! skipped scenarios, server warnings).

use std::fmt::Write as _;

use crate::plan::{Measured, Outcome, Results, Scenario, Target};
use crate::rounds::Before;
use crate::{Backend, argon};

/// Whether any scenario failed (the run then exits non-zero).
pub fn any_failed(r: &Results) -> bool {
    matches!(r.hello, Outcome::Failed(_))
        || r.argon.is_err()
        || r.targets
            .iter()
            .any(|t| t.seeding.is_err() || t.scenarios.iter().any(|(_, o)| matches!(o, Outcome::Failed(_))))
}

pub fn render(r: &Results) -> String {
    let mut out = String::new();
    header(&mut out, r);
    baselines(&mut out, r);
    portcullis(&mut out, r);
    revocation(&mut out, r);
    targets(&mut out, r);
    diagnostics(&mut out, r);
    notes(&mut out, r);
    out
}

fn header(out: &mut String, results: &Results) {
    let m = &results.machine;
    let o = &results.options;
    let _ = writeln!(out, "## Benchmark results ({})\n", m.date);
    let _ =
        writeln!(out, "- Machine: {} CPUs ({}), {} RAM, Linux {}", m.cpus, m.cpu_model, m.memory, m.kernel);
    let _ = writeln!(out, "- Tools: {}; {}", m.rustc, m.wrk);
    let _ = writeln!(
        out,
        "- Load average (1/5/15 min) at start: {}; at end: {} (the run itself adds about 2)",
        m.load_at_start, results.load_at_end
    );
    let pin = match (&o.server_cpus, &o.wrk_cpus) {
        (None, None) => "servers and wrk share all CPUs (no pinning)".to_owned(),
        (server, wrk) => format!(
            "servers on CPUs {}, wrk on CPUs {}",
            server.as_deref().unwrap_or("any"),
            wrk.as_deref().unwrap_or("any")
        ),
    };
    let _ = writeln!(
        out,
        "- Load: wrk -t{} -c{}, {} s per run after a {} s warm-up, loopback; {pin}; a fresh server per scenario\n",
        o.threads,
        o.connections,
        o.duration.as_secs(),
        o.warmup.as_secs()
    );
}

fn baselines(out: &mut String, r: &Results) {
    out.push_str(
        "### Baselines\n\n| baseline | throughput | p50 | p99 | peak RSS |\n|---|---:|---:|---:|---:|\n",
    );
    let hello = match &r.hello {
        Outcome::Measured(m) => format!(
            "{} req/s | {} | {} | {}",
            rate(m.stats.requests_per_sec),
            ms(m.stats.p50_ms),
            ms(m.stats.p99_ms),
            mib(m.after.peak_kib)
        ),
        other @ Outcome::Failed(_) => format!("{} | | |", short(other)),
    };
    let _ = writeln!(out, "| axum hello world, `GET /` (JSON) | {hello} |");
    let argon = match &r.argon {
        Ok(a) => format!("{:.1} hashes/s | {:.1} ms per hash | |", a.hashes_per_sec, a.ms_per_hash),
        Err(_) => "failed | | |".to_owned(),
    };
    let threads = r.argon.as_ref().map_or(0, |a| a.threads);
    let _ = writeln!(
        out,
        "| Argon2id m={} t={} p={}, {threads} threads, hashing alone | {argon} |\n",
        argon::MEMORY_KIB,
        argon::ITERATIONS,
        argon::PARALLELISM
    );
}

fn portcullis(out: &mut String, r: &Results) {
    if r.targets.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Portcullis ({} connections unless stated)\n", r.options.connections);
    out.push_str("| scenario | figure |");
    for t in &r.targets {
        let _ = write!(out, " {} {} |", t.backend.name(), scale(t.scale));
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---:|".repeat(r.targets.len()));
    out.push('\n');
    row(out, r, "seeding", "time", |t| match &t.seeding {
        Ok(s) => format!("{s:.1} s"),
        Err(_) => "failed".into(),
    });
    row(out, r, "idle, after start-up", "RSS", |t| idle_max(t).map_or_else(|| "n/a".into(), mib));
    let scenarios = [
        (Scenario::Floor, "`GET /healthz` (no database: HTTP and middleware only)"),
        (Scenario::Me, "`GET /api/v1/me`, cookie"),
        (Scenario::Bearer, "`GET /api/v1/me`, bearer token"),
        (Scenario::Verify, "`GET /auth/verify`, cookie, no access rules"),
        (Scenario::VerifyBearer, "`GET /auth/verify`, bearer token, no access rules"),
        (
            Scenario::VerifyRules,
            "`GET /auth/verify`, cookie, 20 access rules (the last one, `groups`, matches)",
        ),
        (Scenario::TokenCode, "`POST /oauth2/token`, authorization code (confidential client)"),
        (Scenario::TokenRefresh, "`POST /oauth2/token`, refresh token (confidential client)"),
        (Scenario::Introspect, "`POST /oauth2/introspect`, access token (resource server)"),
        (Scenario::AdminFirst, "`GET /api/v1/admin/users`, first page of 50"),
        (Scenario::AdminDeep, "`GET /api/v1/admin/users`, a page of 50 from the middle (keyset)"),
        (Scenario::AdminSearch, "`GET /api/v1/admin/users?q=user4242` (email prefix)"),
        (Scenario::Account, "`GET /account` (HTML), cookie"),
        (Scenario::Login, "`POST /api/v1/login`"),
        (
            Scenario::LoginFloor,
            "`POST /api/v1/login` to `login-floor` (only the hash: no database, no session)",
        ),
    ];
    for (s, name) in scenarios {
        row(out, r, name, "req/s", |t| cell(t.get(s), |m| rate(m.stats.requests_per_sec)));
        row(out, r, "", "p50 / p99", |t| {
            cell(t.get(s), |m| format!("{} / {}", ms(m.stats.p50_ms), ms(m.stats.p99_ms)))
        });
        row(out, r, "", "peak RSS", |t| cell(t.get(s), |m| mib(m.after.peak_kib)));
    }
    let flood = format!(
        "{} concurrent logins, {} s",
        r.options.flood_connections,
        r.options.flood_duration.as_secs()
    );
    row(out, r, &flood, "peak RSS", |t| cell(t.get(Scenario::Flood), |m| mib(m.after.peak_kib)));
    row(out, r, "", "answered (timeouts)", |t| {
        cell(t.get(Scenario::Flood), |m| {
            let answered = m.stats.requests.saturating_sub(m.stats.non_2xx);
            format!("{answered} ({})", m.stats.timeouts)
        })
    });
    out.push('\n');
}

fn row(out: &mut String, r: &Results, name: &str, figure: &str, value: impl Fn(&Target) -> String) {
    let _ = write!(out, "| {name} | {figure} |");
    for t in &r.targets {
        let _ = write!(out, " {} |", value(t));
    }
    out.push('\n');
}

fn targets(out: &mut String, r: &Results) {
    out.push_str(
        "### Performance targets\n\nRatios to hello world divide the scenario's rate by hello world's, measured \
         on the same CPUs right before it (in brackets: the two rates, req/s).\n\n\
         | target | measured | verdict |\n|---|---|---|\n",
    );
    let hello = measured(Some(&r.hello)).map(|m| m.stats.requests_per_sec);
    let hashes = r.argon.as_ref().ok().map(|a| a.hashes_per_sec);
    for backend in backends(r) {
        let ts: Vec<&Target> = r.targets.iter().filter(|t| t.backend == backend).collect();
        let name = backend.name();
        let healthz = ratios(&ts, Scenario::Floor, hello);
        verdict(out, &format!("{name}: `/healthz` req/s ≥ 0.85 × hello world"), &healthz, |x| x >= 0.85);
        let me = ratios(&ts, Scenario::Me, hello);
        verdict(out, &format!("{name}: `/api/v1/me` (cookie) req/s ≥ 0.7 × hello world"), &me, |x| {
            x >= 0.7
        });
        let p99 = p99s(&ts, Scenario::Me);
        verdict_ms(out, &format!("{name}: `/api/v1/me` (cookie) p99 < 5 ms at 64 connections"), &p99, 5.0);
        let bearer = ratios(&ts, Scenario::Bearer, hello);
        verdict(out, &format!("{name}: `/api/v1/me` (bearer) req/s ≥ 0.5 × hello world"), &bearer, |x| {
            x >= 0.5
        });
        for (s, what) in [(Scenario::Verify, "cookie"), (Scenario::VerifyBearer, "bearer")] {
            let v = ratios(&ts, s, hello);
            verdict(out, &format!("{name}: `/auth/verify` ({what}) req/s ≥ 0.6 × hello world"), &v, |x| {
                x >= 0.6
            });
        }
        if backend == Backend::Sqlite {
            let account: Vec<(String, f64)> = ts
                .iter()
                .filter_map(|t| {
                    measured(t.get(Scenario::Account)).map(|m| (scale(t.scale), m.stats.requests_per_sec))
                })
                .collect();
            let text =
                account.iter().map(|(s, v)| format!("{s}: {}", rate(*v))).collect::<Vec<_>>().join(", ");
            let ok = !account.is_empty() && account.iter().all(|(_, v)| *v >= 10_000.0);
            let _ = writeln!(
                out,
                "| {name}: `/account` ≥ 10,000 req/s | {text} | {} |",
                met(ok, account.is_empty())
            );
            let p99 = p99s(&ts, Scenario::Account);
            verdict_ms(out, &format!("{name}: `/account` p99 < 20 ms"), &p99, 20.0);
        }
        let login = ratios(&ts, Scenario::Login, hashes);
        verdict(out, &format!("{name}: logins/s ≥ 0.9 × Argon2id alone"), &login, |x| x >= 0.9);
        floor_row(out, name, &ratios(&ts, Scenario::LoginFloor, hashes));
        if backend == Backend::Postgres {
            let rev: Vec<(String, f64)> = ts
                .iter()
                .filter_map(|t| match &t.revocation {
                    Some(Ok(r)) => Some((scale(t.scale), r.from_sent.percentile(99))),
                    _ => None,
                })
                .collect();
            verdict_ms(out, &format!("{name}: revocation across two nodes, p99 < 100 ms"), &rev, 100.0);
        }
        scale_row(out, &ts, name);
        let flood: Vec<(String, f64)> = ts
            .iter()
            .filter_map(|t| {
                measured(t.get(Scenario::Flood)).map(|m| (scale(t.scale), m.after.peak_kib as f64 / 1024.0))
            })
            .collect();
        let text = flood.iter().map(|(s, v)| format!("{s}: {v:.1} MiB")).collect::<Vec<_>>().join(", ");
        let ok = !flood.is_empty() && flood.iter().all(|(_, v)| *v < 200.0);
        let label = format!("{name}: {} concurrent logins keep RSS < 200 MiB", r.options.flood_connections);
        let _ = writeln!(out, "| {label} | {text} | {} |", met(ok, flood.is_empty()));
        let idle: Vec<(String, f64)> =
            ts.iter().filter_map(|t| idle_max(t).map(|k| (scale(t.scale), k as f64 / 1024.0))).collect();
        let text = idle.iter().map(|(s, v)| format!("{s}: {v:.1} MiB")).collect::<Vec<_>>().join(", ");
        let ok = !idle.is_empty() && idle.iter().all(|(_, v)| *v < 30.0);
        let _ = writeln!(out, "| {name}: idle RSS < 30 MiB | {text} | {} |", met(ok, idle.is_empty()));
    }
    out.push('\n');
}

fn p99s(ts: &[&Target], s: Scenario) -> Vec<(String, f64)> {
    ts.iter().filter_map(|t| measured(t.get(s)).map(|m| (scale(t.scale), m.stats.p99_ms))).collect()
}

fn verdict_ms(out: &mut String, label: &str, values: &[(String, f64)], below: f64) {
    let text = values.iter().map(|(s, v)| format!("{s}: {}", ms(*v))).collect::<Vec<_>>().join(", ");
    let ok = !values.is_empty() && values.iter().all(|(_, v)| *v < below);
    let _ = writeln!(out, "| {label} | {text} | {} |", met(ok, values.is_empty()));
}

/// Sign-out on one node to the first refusal on another, per PostgreSQL target.
fn revocation(out: &mut String, r: &Results) {
    let rows: Vec<&Target> = r.targets.iter().filter(|t| t.revocation.is_some()).collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### Revocation across two nodes ({} sign-outs on node A, each timed to node B's first refusal)\n",
        crate::revocation::ROUNDS
    );
    out.push_str(
        "| database | from sending the logout: p50 / p99 / max | from node A's answer: p50 / p99 / max |\n\
         |---|---:|---:|\n",
    );
    let cell = |l: &crate::revocation::Latencies| {
        format!("{} / {} / {}", ms(l.percentile(50)), ms(l.percentile(99)), ms(l.max()))
    };
    for t in rows {
        let cells = match &t.revocation {
            Some(Ok(r)) => format!("{} | {}", cell(&r.from_sent), cell(&r.from_answer)),
            _ => "failed (see notes) | ".to_owned(),
        };
        let _ = writeln!(out, "| {} {} | {cells} |", t.backend.name(), scale(t.scale));
    }
    out.push('\n');
}

/// Largest against smallest scale: no more than 20% slower (req/s) for sessions and logins.
fn scale_row(out: &mut String, ts: &[&Target], name: &str) {
    let (Some(small), Some(large)) = (ts.iter().min_by_key(|t| t.scale), ts.iter().max_by_key(|t| t.scale))
    else {
        return;
    };
    if small.scale == large.scale {
        return;
    }
    let mut parts = Vec::new();
    let mut ok = true;
    for (s, what) in [(Scenario::Me, "session check"), (Scenario::Login, "login")] {
        let (Some(a), Some(b)) = (measured(small.get(s)), measured(large.get(s))) else {
            ok = false;
            parts.push(format!("{what}: n/a"));
            continue;
        };
        let ratio = b.stats.requests_per_sec / a.stats.requests_per_sec;
        ok &= ratio >= 0.8;
        parts.push(format!("{what} {ratio:.2}× ({:+.0}%)", (ratio - 1.0) * 100.0));
    }
    let _ = writeln!(
        out,
        "| {name}: {} vs {} users/sessions, req/s ≥ 0.8× | {} | {} |",
        scale(large.scale),
        scale(small.scale),
        parts.join(", "),
        met(ok, false)
    );
}

/// `s`'s rate over its baseline's, per scale: the baseline measured right before `s`
/// (`Target::before`), else the run's first one (`first`). Each value names the two
/// rates it divides and, when `s` ran in several rounds, every round's ratio.
fn ratios(ts: &[&Target], s: Scenario, first: Option<f64>) -> Vec<(String, f64)> {
    ts.iter()
        .filter_map(|t| {
            let ours = measured(t.get(s))?.stats.requests_per_sec;
            let paired = t.before(s).and_then(Before::rate);
            let base = paired.or(first).filter(|b| *b > 0.0)?;
            let mut text = format!("{} ({} / {})", scale(t.scale), rate(ours), rate(base));
            if let Some(all) = t.rounds(s).filter(|r| r.len() > 1) {
                let all = all.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", ");
                let _ = write!(text, ", median of {all}");
            }
            Some((text, ours / base))
        })
        .collect()
}

/// What a server that only hashes reaches against Argon2id alone: no target, the
/// reference the logins' ratio is read against.
fn floor_row(out: &mut String, name: &str, values: &[(String, f64)]) {
    if values.is_empty() {
        return;
    }
    let text = values.iter().map(|(s, v)| format!("{s}: {v:.2}")).collect::<Vec<_>>().join(", ");
    let _ = writeln!(
        out,
        "| {name}: the floor — `login-floor` (the hash alone behind HTTP) logins/s ÷ Argon2id alone | {text} | no target: the most a sign-in reaches here |"
    );
}

fn verdict(out: &mut String, label: &str, values: &[(String, f64)], ok: impl Fn(f64) -> bool) {
    let text = values.iter().map(|(s, v)| format!("{s}: {v:.2}")).collect::<Vec<_>>().join(", ");
    let good = !values.is_empty() && values.iter().all(|(_, v)| ok(*v));
    let _ = writeln!(out, "| {label} | {text} | {} |", met(good, values.is_empty()));
}

fn met(ok: bool, missing: bool) -> &'static str {
    match (ok, missing) {
        (_, true) => "not measured",
        (true, false) => "met",
        (false, false) => "**missed**",
    }
}

/// Splits the request-rate gap: the HTTP stack alone against hello world, the
/// session check against the HTTP stack alone.
fn diagnostics(out: &mut String, r: &Results) {
    let hello = measured(Some(&r.hello)).map(|m| m.stats.requests_per_sec);
    let mut lines = Vec::new();
    for t in &r.targets {
        let (Some(floor), Some(me)) = (measured(t.get(Scenario::Floor)), measured(t.get(Scenario::Me)))
        else {
            continue;
        };
        let floor_rate = floor.stats.requests_per_sec;
        let hello = t.before(Scenario::Floor).and_then(Before::rate).or(hello);
        let vs_hello = hello.map_or_else(String::new, |h| format!("{:.2} × hello world; ", floor_rate / h));
        lines.push(format!(
            "- {} {}: `GET /healthz` (no database) reaches {vs_hello}`GET /api/v1/me` reaches {:.2} × `/healthz`",
            t.backend.name(),
            scale(t.scale),
            me.stats.requests_per_sec / floor_rate
        ));
    }
    if !lines.is_empty() {
        out.push_str("### Where the request rate goes\n\n");
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
        out.push('\n');
    }
}

fn notes(out: &mut String, r: &Results) {
    let mut notes: Vec<String> = r.notes.clone();
    if let Outcome::Failed(e) = &r.hello {
        notes.push(format!("hello world failed: {e}"));
    }
    if let Err(e) = &r.argon {
        notes.push(format!("Argon2id baseline failed: {e}"));
    }
    for t in &r.targets {
        let label = format!("{} {}", t.backend.name(), scale(t.scale));
        if let Err(e) = &t.seeding {
            notes.push(format!("{label}: database not prepared: {e}"));
        }
        if let Some(Err(e)) = &t.revocation {
            notes.push(format!("{label} revocation: failed: {e}"));
        }
        for (s, b) in &t.before {
            if let Some(e) = b.failure() {
                notes.push(format!("{label}: the baseline before {s:?}: failed: {e}"));
            }
        }
        for (s, o) in &t.scenarios {
            match o {
                Outcome::Failed(e) => notes.push(format!("{label} {s:?}: failed: {e}")),
                Outcome::Measured(m) => {
                    if m.stats.non_2xx + m.stats.socket_errors > 0 && *s != Scenario::Flood {
                        notes.push(format!(
                            "{label} {s:?}: {} non-2xx responses, {} socket errors",
                            m.stats.non_2xx, m.stats.socket_errors
                        ));
                    }
                    if !m.log.is_empty() {
                        notes.push(format!("{label} {s:?}: server said: {}", m.log.join(" / ")));
                    }
                }
            }
        }
    }
    if !notes.is_empty() {
        out.push_str("### Notes\n\n");
        for n in notes {
            let _ = writeln!(out, "- {n}");
        }
    }
}

fn backends(r: &Results) -> Vec<Backend> {
    let mut b: Vec<Backend> = r.targets.iter().map(|t| t.backend).collect();
    b.dedup();
    b
}

fn measured(o: Option<&Outcome>) -> Option<&Measured> {
    match o {
        Some(Outcome::Measured(m)) => Some(m),
        _ => None,
    }
}

fn idle_max(t: &Target) -> Option<u64> {
    t.scenarios.iter().filter_map(|(_, o)| measured(Some(o))).map(|m| m.idle.rss_kib).max()
}

fn cell(o: Option<&Outcome>, f: impl Fn(&Measured) -> String) -> String {
    match o {
        Some(Outcome::Measured(m)) => f(m),
        Some(other) => short(other).to_owned(),
        None => "—".to_owned(),
    }
}

fn short(o: &Outcome) -> &'static str {
    match o {
        Outcome::Measured(_) => "",
        Outcome::Failed(_) => "failed (see notes)",
    }
}

fn scale(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1000 && n % 1000 == 0 => format!("{}k", n / 1000),
        n => n.to_string(),
    }
}

fn rate(v: f64) -> String {
    if v < 1000.0 {
        return format!("{v:.1}");
    }
    let digits = format!("{v:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(v: f64) -> String {
    if v >= 1000.0 { format!("{:.2} s", v / 1000.0) } else { format!("{v:.2} ms") }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate_of(rps: f64) -> Outcome {
        let stats = crate::wrk::Stats { requests_per_sec: rps, ..crate::wrk::Stats::default() };
        Outcome::Measured(Box::new(Measured {
            stats,
            idle: crate::server::Memory::default(),
            after: crate::server::Memory::default(),
            log: Vec::new(),
        }))
    }

    #[test]
    fn a_ratio_divides_by_the_hello_world_measured_right_before_it_else_the_first() {
        let mut paired = Target::new(Backend::Sqlite, 1000);
        paired.scenarios.push((Scenario::Me, rate_of(70_000.0)));
        paired.before.push((Scenario::Me, Before::Hello(rate_of(100_000.0))));
        let mut unpaired = Target::new(Backend::Sqlite, 1_000_000);
        unpaired.scenarios.push((Scenario::Me, rate_of(60_000.0)));
        let got = ratios(&[&paired, &unpaired], Scenario::Me, Some(120_000.0));
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "1k (70,000 / 100,000)");
        assert!((got[0].1 - 0.7).abs() < 1e-9, "{got:?}");
        assert_eq!(got[1].0, "1M (60,000 / 120,000)");
        assert!((got[1].1 - 0.5).abs() < 1e-9, "{got:?}");
        // A hello world paired with another scenario is not used for this one.
        assert!(ratios(&[&paired], Scenario::Bearer, Some(1.0)).is_empty());
    }

    #[test]
    fn logins_divide_by_the_argon2id_run_right_before_them_and_rounds_are_listed() {
        let mut t = Target::new(Backend::Postgres, 1000);
        t.scenarios.push((Scenario::Login, rate_of(90.0)));
        let argon = argon::Baseline { threads: 2, hashes_per_sec: 100.0, ms_per_hash: 20.0 };
        t.before.push((Scenario::Login, Before::Argon(Ok(argon))));
        t.rounds.push((Scenario::Login, vec![0.85, 0.9, 0.95]));
        let got = ratios(&[&t], Scenario::Login, Some(50.0));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "1k (90.0 / 100.0), median of 0.85, 0.90, 0.95");
        assert!((got[0].1 - 0.9).abs() < 1e-9, "{got:?}");
        // The floor server's rounds have their own Argon2id run, not the logins'.
        t.scenarios.push((Scenario::LoginFloor, rate_of(95.0)));
        let floor = argon::Baseline { threads: 2, hashes_per_sec: 105.0, ms_per_hash: 19.0 };
        t.before.push((Scenario::LoginFloor, Before::Argon(Ok(floor))));
        let got = ratios(&[&t], Scenario::LoginFloor, Some(50.0));
        assert_eq!(got[0].0, "1k (95.0 / 105.0)");
        let mut out = String::new();
        floor_row(&mut out, "PostgreSQL", &got);
        assert!(out.contains("PostgreSQL: the floor") && out.contains("1k (95.0 / 105.0): 0.90"), "{out}");
        floor_row(&mut out, "SQLite", &[]);
        assert!(!out.contains("SQLite"), "no row without a measurement: {out}");
        // A failed baseline falls back to the run's first one.
        t.before[0].1 = Before::Argon(Err("no".into()));
        let got = ratios(&[&t], Scenario::Login, Some(50.0));
        assert!((got[0].1 - 1.8).abs() < 1e-9, "{got:?}");
    }
}
