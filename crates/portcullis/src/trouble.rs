//! One log line when a background loop's dependency (the database, the mail
//! server) stops answering, one when it answers again, and a wait that grows
//! while it stays away — instead of a warning on every round.

use std::fmt::Display;
use std::time::Duration;

use tokio::time::Instant;

/// The first wait after a failure; it doubles up to [`LONGEST_WAIT`].
pub(crate) const FIRST_WAIT: Duration = Duration::from_secs(1);
/// The longest wait between two attempts while failing.
pub(crate) const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// The health of one thing a loop needs, as the loop last found it.
#[derive(Debug)]
pub(crate) struct Trouble {
    what: &'static str,
    since: Option<Instant>,
    failures: u32,
}

impl Trouble {
    pub(crate) fn new(what: &'static str) -> Self {
        Self { what, since: None, failures: 0 }
    }

    /// Records a failure (logged only when it starts a spell of them); returns
    /// how long to wait before trying again.
    pub(crate) fn failed(&mut self, error: &dyn Display) -> Duration {
        if self.since.is_none() {
            self.since = Some(Instant::now());
            tracing::warn!(error = %error, "{}: failing; will keep trying", self.what);
        }
        self.failures = self.failures.saturating_add(1);
        backoff(self.failures)
    }

    /// Records a success, logging the end of a spell of failures.
    pub(crate) fn ok(&mut self) {
        if let Some(since) = self.since.take() {
            tracing::info!(
                failed_for_ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX),
                attempts = self.failures,
                "{}: working again",
                self.what
            );
        }
        self.failures = 0;
    }

    #[cfg(test)]
    pub(crate) fn is_failing(&self) -> bool {
        self.since.is_some()
    }
}

/// 1 s, 2 s, 4 s ... up to 30 s.
pub(crate) fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(5);
    (FIRST_WAIT * 2u32.pow(doublings)).min(LONGEST_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_one_second_up_to_thirty() {
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[tokio::test]
    async fn a_spell_of_failures_ends_with_a_success_and_the_wait_starts_over() {
        let mut t = Trouble::new("test");
        assert_eq!(t.failed(&"down"), Duration::from_secs(1));
        assert_eq!(t.failed(&"down"), Duration::from_secs(2));
        assert!(t.is_failing());
        t.ok();
        assert!(!t.is_failing());
        assert_eq!(t.failed(&"down"), Duration::from_secs(1));
    }
}
