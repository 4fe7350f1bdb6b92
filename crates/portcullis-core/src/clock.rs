//! The only place that reads the wall clock; everything else takes a `Clock`.

use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// A source of the current time, injected so tests can move time forward.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;

    /// Seconds since the Unix epoch, the unit every stored timestamp uses.
    fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(clippy::disallowed_methods, reason = "this is the one place that reads the wall clock")]
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that starts at the real time and only moves when told to.
#[derive(Debug)]
pub struct MockClock {
    now: Mutex<OffsetDateTime>,
}

impl MockClock {
    pub fn new() -> Self {
        Self { now: Mutex::new(SystemClock.now()) }
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Default for MockClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MockClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
