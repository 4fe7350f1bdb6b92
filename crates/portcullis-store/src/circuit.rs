//! Failing fast while the database is away. Every store operation runs through
//! `Circuit::run`: it gets a deadline (a database that went silent answers
//! nothing, so waiting for it would pile requests up), and after a few failures in
//! a row the circuit opens: operations are refused at once, without touching the
//! pool, while one probe at a time (at most one a second) finds out whether the
//! database is back. "A few failures in a row" means three, with nothing answered
//! for a second: an overloaded database that still answers most operations (lock
//! waits, a full pool) sheds the ones that wait too long, but is not declared away. An outage is logged when it starts, once a minute while it
//! lasts, and when it ends — never once per request.

use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use portcullis_core::StoreError;

use crate::error::{Error, R};

/// Failures in a row (with no success between) that open the circuit...
pub const OPEN_AFTER: u32 = 3;
/// ...when nothing has succeeded for this long either.
pub const QUIET_FOR: Duration = Duration::from_secs(1);
/// While open, how often one operation is let through to probe the database.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);
/// While open, how often the outage is summed up in the log.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(60);

/// What a refused operation says (and what a 503's cause names in debug logs).
pub const REFUSED: &str = "database unavailable (circuit open: refused without trying)";

#[derive(Debug)]
pub(crate) struct Circuit {
    deadline: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures: u32,
    /// When an operation last succeeded (none yet: since start).
    answered_at: Option<Instant>,
    outage: Option<Outage>,
}

#[derive(Debug)]
struct Outage {
    since: Instant,
    /// When the next probe may go.
    probe_at: Instant,
    /// A probe is on its way (only one at a time).
    probing: bool,
    refused: u64,
    summed_up: Instant,
    /// Refused since the last summary.
    refused_since_summary: u64,
}

/// Whether an operation may go, and whether it is the probe.
enum Pass {
    Go { probe: bool },
    Refuse,
}

impl Circuit {
    pub(crate) fn new(deadline: Duration) -> Self {
        Self { deadline, state: Mutex::new(State::default()) }
    }

    /// Runs the body of a store operation: refused at once while the circuit is
    /// open (unless it is the probe), bounded by the deadline, and counted. Inside,
    /// `?` works on sqlx results; on the way out the crate's `Error` becomes a core
    /// `StoreError`, here and nowhere else.
    pub(crate) async fn run<T>(&self, work: impl Future<Output = Result<T, Error>>) -> R<T> {
        let probe = match self.pass(Instant::now()) {
            Pass::Go { probe } => probe,
            Pass::Refuse => return Err(StoreError::Unavailable(REFUSED.into())),
        };
        let result = match tokio::time::timeout(self.deadline, work).await {
            Ok(done) => done.map_err(StoreError::from),
            Err(_) => Err(StoreError::Unavailable(format!(
                "the database did not answer within {} ms",
                self.deadline.as_millis()
            ))),
        };
        match &result {
            Err(StoreError::Unavailable(cause)) => self.failed(probe, cause, Instant::now()),
            _ => self.answered(Instant::now()),
        }
        result
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn pass(&self, now: Instant) -> Pass {
        let mut state = self.state();
        let Some(outage) = state.outage.as_mut() else { return Pass::Go { probe: false } };
        if !outage.probing && now >= outage.probe_at {
            outage.probing = true;
            return Pass::Go { probe: true };
        }
        outage.refused += 1;
        outage.refused_since_summary += 1;
        if now.duration_since(outage.summed_up) >= SUMMARY_EVERY {
            tracing::warn!(
                down_for_s = now.duration_since(outage.since).as_secs(),
                refused = outage.refused_since_summary,
                "database still unavailable; refusing operations at once"
            );
            outage.summed_up = now;
            outage.refused_since_summary = 0;
        }
        Pass::Refuse
    }

    /// The database answered (success, or an error that is not about reaching it).
    fn answered(&self, now: Instant) {
        let mut state = self.state();
        state.failures = 0;
        state.answered_at = Some(now);
        if let Some(outage) = state.outage.take() {
            tracing::warn!(
                down_for_ms = u64::try_from(now.duration_since(outage.since).as_millis()).unwrap_or(u64::MAX),
                refused = outage.refused,
                "database available again; outage over"
            );
        }
    }

    fn failed(&self, probe: bool, cause: &str, now: Instant) {
        let mut state = self.state();
        state.failures = state.failures.saturating_add(1);
        if let Some(outage) = state.outage.as_mut() {
            if probe {
                outage.probing = false;
                outage.probe_at = now + PROBE_EVERY;
            }
            return;
        }
        let quiet = state.answered_at.is_none_or(|at| now.duration_since(at) >= QUIET_FOR);
        if state.failures >= OPEN_AFTER && quiet {
            tracing::error!(
                error = %cause,
                failures = state.failures,
                "database unavailable; refusing operations at once until a probe gets through"
            );
            state.outage = Some(Outage {
                since: now,
                probe_at: now + PROBE_EVERY,
                probing: false,
                refused: 0,
                summed_up: now,
                refused_since_summary: 0,
            });
        } else if state.failures == 1 {
            // The first of a spell; the rest wait for the circuit's verdict.
            tracing::warn!(error = %cause, "database operation failed");
        } else {
            tracing::debug!(error = %cause, failures = state.failures, "database operation failed");
        }
    }

    /// Whether operations are being refused (for tests and metrics).
    pub(crate) fn is_open(&self) -> bool {
        self.state().outage.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable() -> Error {
        Error::Sqlx(sqlx::Error::PoolTimedOut)
    }

    #[tokio::test]
    async fn opens_after_failures_in_a_row_refuses_at_once_and_closes_when_a_probe_succeeds() {
        let c = Circuit::new(Duration::from_secs(1));
        for _ in 0..OPEN_AFTER - 1 {
            assert!(c.run(async { Err::<(), _>(unavailable()) }).await.is_err());
        }
        assert!(!c.is_open(), "fewer failures than OPEN_AFTER leave it closed");
        assert!(c.run(async { Err::<(), _>(unavailable()) }).await.is_err());
        assert!(c.is_open());

        // Refused without running the body.
        let ran = std::sync::atomic::AtomicBool::new(false);
        let refused = c
            .run(async {
                ran.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            })
            .await;
        assert!(matches!(refused, Err(StoreError::Unavailable(ref m)) if m == REFUSED));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));

        // After PROBE_EVERY one operation goes through; its success closes the circuit.
        c.state.lock().unwrap().outage.as_mut().unwrap().probe_at = Instant::now();
        assert!(c.run(async { Ok(()) }).await.is_ok());
        assert!(!c.is_open());
        assert!(c.run(async { Ok(()) }).await.is_ok());
    }

    #[tokio::test]
    async fn one_probe_at_a_time_and_a_failed_probe_keeps_it_open() {
        let c = Circuit::new(Duration::from_secs(1));
        for _ in 0..OPEN_AFTER {
            let _ = c.run(async { Err::<(), _>(unavailable()) }).await;
        }
        let now = Instant::now();
        c.state.lock().unwrap().outage.as_mut().unwrap().probe_at = now;
        assert!(matches!(c.pass(now), Pass::Go { probe: true }));
        assert!(matches!(c.pass(now), Pass::Refuse), "a second caller while the probe is out");
        c.failed(true, "still down", now);
        assert!(c.is_open());
        assert!(matches!(c.pass(now), Pass::Refuse), "the next probe waits PROBE_EVERY");
        assert!(matches!(c.pass(now + PROBE_EVERY), Pass::Go { probe: true }));
    }

    #[tokio::test]
    async fn a_silent_database_is_given_up_on_at_the_deadline() {
        let c = Circuit::new(Duration::from_millis(50));
        let started = Instant::now();
        let r = c.run(std::future::pending::<Result<(), Error>>()).await;
        assert!(matches!(r, Err(StoreError::Unavailable(_))));
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn failures_while_the_database_still_answers_others_do_not_open_it() {
        let c = Circuit::new(Duration::from_secs(1));
        let t0 = Instant::now();
        c.answered(t0);
        for i in 0..10 {
            c.failed(false, "pool timed out", t0 + Duration::from_millis(50 * i));
        }
        assert!(!c.is_open(), "answered 500 ms ago: overloaded, not away");
        c.failed(false, "pool timed out", t0 + QUIET_FOR);
        assert!(c.is_open(), "nothing answered for QUIET_FOR, and failures in a row");
    }

    #[tokio::test]
    async fn errors_that_are_not_about_reaching_the_database_do_not_count() {
        let c = Circuit::new(Duration::from_secs(1));
        for _ in 0..OPEN_AFTER * 2 {
            let _ = c.run(async { Err::<(), _>(Error::Conflict("email")) }).await;
        }
        assert!(!c.is_open());
    }
}
