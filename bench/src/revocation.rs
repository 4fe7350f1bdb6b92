//! Revocation across nodes: two servers on one PostgreSQL database; a session is
//! read on node B (so B's hot cache holds it), signed out on node A, and B is asked
//! again and again until it refuses; B's requests go out back to back on fresh
//! connections from before the logout is sent. Two latencies per sign-out: from
//! sending the logout to A, and from A's answer (the change is committed by then),
//! each to B's first refusal.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::plan::{Ctx, portcullis_command};
use crate::probe;
use crate::server::Server;
use crate::wrk::{self, Load};

/// Sessions signed out per run.
pub(crate) const ROUNDS: usize = 200;

/// Give up on one round after this long (a refusal that never comes).
const GIVE_UP: Duration = Duration::from_secs(5);

/// Latencies of one run, sorted, in milliseconds.
#[derive(Debug, Clone)]
pub struct Latencies(pub Vec<f64>);

/// Both latencies of a run.
#[derive(Debug, Clone)]
pub struct Revocation {
    /// From sending the logout to node A.
    pub from_sent: Latencies,
    /// From node A's answer.
    pub from_answer: Latencies,
}

impl Latencies {
    /// Nearest rank: the smallest value with at least `percent` % of them at or
    /// below it.
    pub fn percentile(&self, percent: u32) -> f64 {
        let n = self.0.len();
        if n == 0 {
            return f64::NAN;
        }
        let rank = (usize::try_from(percent.min(100)).unwrap_or(100) * n).div_ceil(100);
        self.0[rank.clamp(1, n) - 1]
    }

    pub fn max(&self) -> f64 {
        self.0.last().copied().unwrap_or(f64::NAN)
    }
}

/// Signs out `tokens` (each a live session) one by one; see the module docs.
pub(crate) async fn measure(
    ctx: &Ctx,
    label: &str,
    url: &str,
    tokens: &[String],
) -> anyhow::Result<Revocation> {
    let a = Server::start(&format!("{label}-node-a"), portcullis_command(ctx, url, "serve")).await?;
    let b = Server::start(&format!("{label}-node-b"), portcullis_command(ctx, url, "serve")).await?;
    let result = rounds(&a, &b, tokens).await;
    a.stop().await?;
    b.stop().await?;
    let (mut sent, mut answer) = result?;
    sent.sort_by(f64::total_cmp);
    answer.sort_by(f64::total_cmp);
    Ok(Revocation { from_sent: Latencies(sent), from_answer: Latencies(answer) })
}

async fn rounds(a: &Server, b: &Server, tokens: &[String]) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    // Let each node's change feed connect and start its heartbeats.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut from_sent = Vec::with_capacity(ROUNDS);
    let mut from_answer = Vec::with_capacity(ROUNDS);
    for token in tokens.iter().take(ROUNDS) {
        let me = wrk::cookie_load("/api/v1/me", std::slice::from_ref(token), "application/json");
        let logout = Load {
            method: "POST",
            path: "/api/v1/logout".into(),
            variants: me.variants.clone(),
            single_use: true,
        };
        for _ in 0..2 {
            let r = probe::send(b.addr, &me, &me.variants[0]).await?;
            if r.status != 200 {
                bail!("node B: GET /api/v1/me answered {} before the logout", r.status);
            }
        }
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Instant>();
        let poll_addr = b.addr;
        let poll_load = me.clone();
        let poller = tokio::spawn(async move {
            let started = Instant::now();
            while started.elapsed() < GIVE_UP {
                let r = probe::send(poll_addr, &poll_load, &poll_load.variants[0]).await?;
                if r.status == 401 {
                    let _ = done_tx.send(Instant::now());
                    return anyhow::Ok(());
                }
            }
            bail!("node B still accepted the session {} s after the logout", GIVE_UP.as_secs())
        });
        let sent = Instant::now();
        let r = probe::send(a.addr, &logout, &logout.variants[0]).await?;
        let answered = Instant::now();
        if r.status != 204 {
            poller.abort();
            bail!("node A: POST /api/v1/logout answered {}: {}", r.status, r.body);
        }
        poller.await.context("the poller")??;
        let refused = done_rx.await.context("no refusal recorded")?;
        from_sent.push(refused.saturating_duration_since(sent).as_secs_f64() * 1000.0);
        from_answer.push(refused.saturating_duration_since(answered).as_secs_f64() * 1000.0);
    }
    Ok((from_sent, from_answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let l = Latencies((1..=200).map(f64::from).collect());
        assert!((l.percentile(50) - 100.0).abs() < f64::EPSILON);
        assert!((l.percentile(99) - 198.0).abs() < f64::EPSILON);
        assert!((l.max() - 200.0).abs() < f64::EPSILON);
    }
}
