//! Running a property against a live application: a runtime of its own, the app
//! built once, each case a blocking call into it.

use std::future::Future;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseResult, TestRunner};
use serde_json::Value;

/// `default` cases, or `PROPTEST_CASES` when it is set (the long run of
/// `scripts/fuzz`).
pub fn config(default: u32) -> Config {
    let env_set = std::env::var_os("PROPTEST_CASES").is_some();
    let base = Config::default();
    Config { cases: if env_set { base.cases } else { default }, ..base }
}

/// Runs `property` on `cases` values of the strategy `inputs` makes for the app
/// `setup` builds. `source` is the calling file (`file!()`), where failures are
/// saved.
pub fn check<A, S, Fut>(
    source: &'static str,
    cases: u32,
    setup: impl Future<Output = A>,
    inputs: impl FnOnce(&A) -> S,
    property: impl Fn(Arc<A>, S::Value) -> Fut,
) where
    S: Strategy,
    Fut: Future<Output = TestCaseResult>,
{
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = Arc::new(rt.block_on(setup));
    let strategy = inputs(&app);
    let mut runner = TestRunner::new(Config { source_file: Some(source), ..config(cases) });
    let result = runner.run(&strategy, |value| rt.block_on(property(Arc::clone(&app), value)));
    drop(app);
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Text that looks like what an attacker sends: any Unicode, printable ASCII, or
/// pieces of the syntax at hand glued together (with some junk among them).
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

/// Text a header value can carry (visible ASCII, spaces and tabs).
pub fn header_text(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    text(pieces).prop_map(|s| s.chars().filter(|c| *c == '\t' || (' '..='~').contains(c)).collect())
}

/// JSON values of any shape, with object keys drawn from `keys`.
pub fn json_value(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[a-zA-Z0-9@._-]{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(keys), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// The origin (`scheme://host[:port]`) a browser gives `url`.
pub fn origin(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}
