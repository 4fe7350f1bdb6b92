//! Rounds of the ratio scenarios: each run right after its own baseline (hello
//! world, or Argon2id alone before the logins), the round with the median ratio
//! kept (`--rounds`).

use crate::argon::{self, Baseline};
use crate::machine;
use crate::plan::{Ctx, Outcome, Scenario, Target, hello_baseline};

/// A baseline measured right before a ratio scenario.
#[derive(Debug, Clone)]
pub enum Before {
    /// axum hello world (req/s).
    Hello(Outcome),
    /// Argon2id alone (hashes/s), before the logins.
    Argon(Result<Baseline, String>),
}

impl Before {
    /// Requests (or hashes) per second.
    pub fn rate(&self) -> Option<f64> {
        match self {
            Self::Hello(o) => o.rate(),
            Self::Argon(a) => a.as_ref().ok().map(|a| a.hashes_per_sec),
        }
    }

    /// Why it has no figure.
    pub fn failure(&self) -> Option<&str> {
        match self {
            Self::Hello(Outcome::Failed(e)) | Self::Argon(Err(e)) => Some(e),
            _ => None,
        }
    }
}

/// The baseline of `s`, measured now: Argon2id alone before the logins, hello world
/// before the others.
async fn measure_before(ctx: &Ctx, s: Scenario, label: &str) -> Before {
    if matches!(s, Scenario::Login | Scenario::LoginFloor) {
        let duration = ctx.options.duration;
        eprintln!("    Argon2id alone, before {}", s.name());
        let argon = tokio::task::spawn_blocking(move || argon::run(machine::cpus(), duration)).await;
        return Before::Argon(match argon {
            Ok(Ok(a)) => {
                eprintln!("    {:.1} hashes/s ({:.1} ms per hash)", a.hashes_per_sec, a.ms_per_hash);
                Ok(a)
            }
            Ok(Err(e)) => Err(format!("{e:#}")),
            Err(e) => Err(e.to_string()),
        });
    }
    Before::Hello(hello_baseline(ctx, &format!("{label}-hello-before-{}", s.name())).await.into())
}

/// Runs the ratio scenario `s` [`crate::Options::rounds`] times, each right after its own
/// baseline ([`measure_before`]); keeps the round whose ratio is the median (the
/// upper one of an even count), and every round's ratio. `scenario` gets the suffix
/// that keeps each round's raw output apart.
pub(crate) async fn in_rounds(
    ctx: &Ctx,
    t: &mut Target,
    s: Scenario,
    label: &str,
    mut scenario: impl AsyncFnMut(&str) -> Outcome,
) {
    let n = ctx.options.rounds.max(1);
    let mut done = Vec::new();
    for round in 1..=n {
        let suffix = if n > 1 { format!("-round{round}") } else { String::new() };
        let before = measure_before(ctx, s, &format!("{label}{suffix}")).await;
        let outcome = scenario(&suffix).await;
        let ratio = match (outcome.rate(), before.rate()) {
            (Some(ours), Some(base)) if base > 0.0 => Some(ours / base),
            _ => None,
        };
        done.push((before, outcome, ratio));
    }
    let mut ratios: Vec<f64> = done.iter().filter_map(|(_, _, r)| *r).collect();
    ratios.sort_by(f64::total_cmp);
    let pick = median_index(&done.iter().map(|(_, _, r)| *r).collect::<Vec<_>>());
    if n > 1 {
        eprintln!("    {s:?}: ratios {ratios:.2?}");
        t.rounds.push((s, ratios));
    }
    let (before, outcome, _) = done.swap_remove(pick);
    t.before.push((s, before));
    t.scenarios.push((s, outcome));
}

/// The index of the median of the values that are there (the upper one of an even
/// count), or 0 when there are none.
fn median_index(ratios: &[Option<f64>]) -> usize {
    let mut present: Vec<(usize, f64)> =
        ratios.iter().enumerate().filter_map(|(i, r)| r.map(|r| (i, r))).collect();
    present.sort_by(|a, b| a.1.total_cmp(&b.1));
    present.get(present.len() / 2).map_or(0, |(i, _)| *i)
}

#[cfg(test)]
mod tests {
    use super::median_index;

    #[test]
    fn the_median_round_is_picked_by_its_ratio_not_by_its_place() {
        assert_eq!(median_index(&[Some(0.9), Some(0.7), Some(0.8)]), 2);
        assert_eq!(median_index(&[Some(0.7), None, Some(0.9), Some(0.8)]), 3);
        // Even counts take the upper middle; nothing measured keeps the first round.
        assert_eq!(median_index(&[Some(0.6), Some(0.5)]), 0);
        assert_eq!(median_index(&[None, None]), 0);
    }
}
