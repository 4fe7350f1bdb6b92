//! Property tests of the origin check in front of every form (see `crate::fuzz`
//! for the case counts): any `Origin` and `Sec-Fetch-Site` pass only when the
//! origin is ours, or `null` vouched for as same-origin by the browser.

use proptest::prelude::*;

use super::origin_allowed;
use crate::fuzz::{config, text};

const PUBLIC: &str = "https://auth.example.com";

const PIECES: &[&str] = &[
    "https://auth.example.com",
    "HTTPS://AUTH.EXAMPLE.COM",
    "http://auth.example.com",
    "https://auth.example.com.",
    "https://auth.example.com:443",
    "https://evil.example",
    "null",
    "NULL",
    " ",
    "/",
    ".evil",
    "\u{130}",
];

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn only_our_origin_or_a_vouched_null_passes(
        origin in proptest::option::of(text(PIECES)),
        fetch_site in proptest::option::of(prop_oneof![
            prop::sample::select(&["same-origin", "same-site", "cross-site", "none", "SAME-ORIGIN", ""][..]).prop_map(str::to_owned),
            "[ -~]{0,12}",
        ]),
    ) {
        let allowed = origin_allowed(origin.as_deref(), fetch_site.as_deref(), PUBLIC);
        if allowed {
            prop_assert_ne!(fetch_site.as_deref(), Some("cross-site"));
            match origin.as_deref() {
                None => {}
                Some("null") => prop_assert_eq!(fetch_site.as_deref(), Some("same-origin")),
                Some(o) => prop_assert!(o.eq_ignore_ascii_case(PUBLIC), "{o:?} passed"),
            }
        }
    }
}
