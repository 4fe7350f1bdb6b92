//! Throttle buckets: allow, deny, un-count, reset, purge.

use portcullis_core::throttle::{Limit, Throttle};
use time::Duration;

use crate::conformance;
use crate::fixtures::{TestStore, t0};

const LIMIT: Limit = Limit::new(2, Duration::minutes(10));

async fn attempts_beyond_the_limit_are_denied_until_reset(s: &TestStore) {
    let now = t0();
    assert!(matches!(s.throttle("login:ada", LIMIT, false, now).await.unwrap(), Throttle::Allowed { .. }));
    assert!(matches!(s.throttle("login:ada", LIMIT, false, now).await.unwrap(), Throttle::Allowed { .. }));
    let denied = s.throttle("login:ada", LIMIT, false, now).await.unwrap();
    assert!(matches!(denied, Throttle::Denied { retry_after } if retry_after > 0), "{denied:?}");
    assert!(
        matches!(s.throttle("login:bob", LIMIT, false, now).await.unwrap(), Throttle::Allowed { .. }),
        "buckets are separate"
    );
    s.reset_throttle("login:ada").await.unwrap();
    assert!(matches!(s.throttle("login:ada", LIMIT, false, now).await.unwrap(), Throttle::Allowed { .. }));
}

async fn an_uncounted_attempt_frees_its_place(s: &TestStore) {
    let now = t0();
    let Throttle::Allowed { hit } = s.throttle("b", LIMIT, false, now).await.unwrap() else {
        panic!("allowed")
    };
    s.throttle("b", LIMIT, false, now).await.unwrap();
    s.unthrottle(hit).await.unwrap();
    assert!(matches!(s.throttle("b", LIMIT, false, now).await.unwrap(), Throttle::Allowed { .. }));
    assert!(matches!(s.throttle("b", LIMIT, false, now).await.unwrap(), Throttle::Denied { .. }));
}

async fn a_second_lockout_outlasts_its_window_until_purged(s: &TestStore) {
    let deny_twice_more = async |at| {
        for _ in 0..2 {
            assert!(matches!(
                s.throttle("mfa:ada", LIMIT, true, at).await.unwrap(),
                Throttle::Allowed { .. }
            ));
        }
        assert!(matches!(s.throttle("mfa:ada", LIMIT, true, at).await.unwrap(), Throttle::Denied { .. }));
    };
    deny_twice_more(t0()).await;
    // The first lockout ends with the window; the second, remembered, lasts longer.
    let second = t0() + Duration::minutes(10);
    deny_twice_more(second).await;
    let window_passed = second + Duration::minutes(11);
    assert!(matches!(
        s.throttle("mfa:ada", LIMIT, true, window_passed).await.unwrap(),
        Throttle::Denied { .. }
    ));
    assert!(s.purge_throttle(t0() + Duration::days(2)).await.unwrap() >= 2);
    assert!(matches!(
        s.throttle("mfa:ada", LIMIT, true, window_passed).await.unwrap(),
        Throttle::Allowed { .. }
    ));
}

conformance!(
    attempts_beyond_the_limit_are_denied_until_reset,
    an_uncounted_attempt_frees_its_place,
    a_second_lockout_outlasts_its_window_until_purged,
);
