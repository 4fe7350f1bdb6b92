//! Rate limiting by sliding window with escalating lockouts (each further lockout of
//! an account doubles the wait, up to 24 h). The decision
//! is a pure function of a bucket's state; the store applies it atomically (one
//! transaction per attempt, serialised per bucket), so parallel attempts cannot get
//! more through than the limit allows.

pub(crate) mod service;
pub mod store;

use time::Duration;

/// `count` attempts per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub count: u32,
    pub window: Duration,
}

impl Limit {
    pub const fn new(count: u32, window: Duration) -> Self {
        Self { count, window }
    }
}

/// The longest lockout escalation reaches.
pub const MAX_LOCKOUT: Duration = Duration::hours(24);

/// A lockout older than this is forgotten: the next one starts again at level 1.
pub const LEVEL_MEMORY: Duration = Duration::hours(24);

/// A bucket as the store sees it inside the transaction (Unix seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BucketState {
    /// Attempts counted within the window ending now.
    pub hits: u32,
    /// When the oldest of those was counted.
    pub oldest_hit: Option<i64>,
    /// How many lockouts in a row this bucket has had.
    pub level: u32,
    pub locked_until: i64,
}

/// What to do with one attempt, and how the bucket changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Count it (insert a hit) and let it through.
    Allow,
    /// Refuse it; when `lock` is set, store it as the bucket's new lockout.
    Deny { retry_after: i64, lock: Option<(u32, i64)> },
}

/// Decides an attempt at `now`. With `escalate`, each further lockout doubles the
/// wait (window, 2 × window, 4 × window, ...) up to [`MAX_LOCKOUT`]; without it, the
/// wait is simply until the window allows again.
pub fn decide(limit: Limit, escalate: bool, state: BucketState, now: i64) -> Decision {
    if state.locked_until > now {
        return Decision::Deny { retry_after: state.locked_until - now, lock: None };
    }
    if state.hits < limit.count {
        return Decision::Allow;
    }
    let window = limit.window.whole_seconds().max(1);
    let until_window_allows = state.oldest_hit.map_or(window, |oldest| (oldest + window - now).max(1));
    if !escalate {
        return Decision::Deny { retry_after: until_window_allows, lock: None };
    }
    let remembered = state.level > 0 && now - state.locked_until < LEVEL_MEMORY.whole_seconds();
    let level = if remembered { state.level + 1 } else { 1 };
    let wait = if level == 1 {
        until_window_allows
    } else {
        let factor = 1_i64.checked_shl(level - 1).unwrap_or(i64::MAX);
        window.saturating_mul(factor).min(MAX_LOCKOUT.whole_seconds())
    };
    Decision::Deny { retry_after: wait, lock: Some((level, now + wait)) }
}

/// The result of asking for a slot in a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// Counted; the id lets a successful attempt un-count itself.
    Allowed { hit: i64 },
    /// Refused for this many seconds.
    Denied { retry_after: i64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_PER_15M: Limit = Limit::new(5, Duration::minutes(15));

    fn state(hits: u32, oldest: i64, level: u32, locked_until: i64) -> BucketState {
        BucketState { hits, oldest_hit: Some(oldest), level, locked_until }
    }

    #[test]
    fn attempts_within_the_limit_are_allowed() {
        assert_eq!(decide(FIVE_PER_15M, true, BucketState::default(), 1000), Decision::Allow);
        assert_eq!(decide(FIVE_PER_15M, true, state(4, 900, 0, 0), 1000), Decision::Allow);
    }

    #[test]
    fn the_first_lockout_lasts_until_the_window_allows_again() {
        let d = decide(FIVE_PER_15M, true, state(5, 400, 0, 0), 1000);
        assert_eq!(d, Decision::Deny { retry_after: 300, lock: Some((1, 1300)) });
    }

    #[test]
    fn each_further_lockout_doubles_the_wait_up_to_24_hours() {
        let now = 100_000;
        let mut waits = Vec::new();
        let mut level = 0;
        let mut locked_until = 0;
        for _ in 0..10 {
            match decide(FIVE_PER_15M, true, state(5, now - 60, level, locked_until.min(now)), now) {
                Decision::Deny { retry_after, lock: Some((l, _)) } => {
                    waits.push(retry_after);
                    level = l;
                    locked_until = now;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(&waits[..5], &[840, 1800, 3600, 7200, 14_400]);
        assert_eq!(*waits.last().unwrap(), 86_400);
    }

    #[test]
    fn a_locked_bucket_refuses_even_below_the_limit() {
        let d = decide(FIVE_PER_15M, true, state(0, 0, 2, 1500), 1000);
        assert_eq!(d, Decision::Deny { retry_after: 500, lock: None });
    }

    #[test]
    fn an_old_lockout_is_forgotten() {
        let now = 200_000;
        let d = decide(FIVE_PER_15M, true, state(5, now - 10, 6, now - 90_000), now);
        assert_eq!(d, Decision::Deny { retry_after: 890, lock: Some((1, now + 890)) });
    }

    #[test]
    fn without_escalation_the_wait_is_the_window() {
        let limit = Limit::new(20, Duration::hours(1));
        assert_eq!(
            decide(limit, false, state(20, 0, 0, 0), 600),
            Decision::Deny { retry_after: 3000, lock: None }
        );
    }
}
