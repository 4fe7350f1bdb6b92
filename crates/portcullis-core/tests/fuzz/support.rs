//! What every property file shares: the case count and input generators.

use proptest::prelude::*;
use proptest::test_runner::Config;

/// `default` cases, or `PROPTEST_CASES` when it is set (the long run of
/// `scripts/fuzz`).
pub fn config(default: u32) -> Config {
    let env_set = std::env::var_os("PROPTEST_CASES").is_some();
    let base = Config::default();
    Config { cases: if env_set { base.cases } else { default }, ..base }
}

/// Text that looks like what an attacker sends: any Unicode, printable ASCII, or
/// pieces of the syntax at hand glued together.
pub fn text(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
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
