//! Property tests of the web layer's parsers an attacker reaches: the `Cookie`
//! header, `next` and its redirect targets, JSON bodies, OAuth client
//! authentication and form bodies, and `Authorization: Bearer`. (Forwarded headers
//! and the CSRF origin check are private to their modules and tested there, in
//! `extract/client/fuzz.rs` and `extract/csrf/fuzz.rs`.) CI runs a few hundred
//! cases per property; `scripts/fuzz` runs many more (`PROPTEST_CASES`). Failures
//! are saved under `proptest-regressions/` and replayed first on later runs.

mod bodies;
mod cookies;
mod oauth_client;
mod paths;

use proptest::prelude::*;
use proptest::test_runner::Config;

/// `default` cases, or `PROPTEST_CASES` when it is set (the long run of
/// `scripts/fuzz`).
pub(crate) fn config(default: u32) -> Config {
    let env_set = std::env::var_os("PROPTEST_CASES").is_some();
    let base = Config::default();
    Config { cases: if env_set { base.cases } else { default }, ..base }
}

/// Text that looks like what an attacker sends: any Unicode, printable ASCII, or
/// pieces of the syntax at hand glued together (with some junk among them).
pub(crate) fn text(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,80}",
        prop::collection::vec(prop::sample::select(pieces), 0..12).prop_map(|p| p.concat()),
        (prop::collection::vec(prop::sample::select(pieces), 0..8), any::<String>(), any::<usize>())
            .prop_map(|(p, junk, at)| {
                let mut parts: Vec<String> = p.into_iter().map(str::to_owned).collect();
                parts.insert(at % (parts.len() + 1), junk);
                parts.concat()
            }),
    ]
}
