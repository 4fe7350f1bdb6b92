//! Property tests of what an attacker reaches in a running Portcullis, and of the
//! configuration's value syntax. `config` checks the `COUNT/WINDOW` rates and the
//! `trusted_proxies` list; the others drive the real application (SQLite, one
//! instance per property) over HTTP with generated cookies, bearer tokens, `next`
//! values, forwarded headers, JSON and form bodies, WebAuthn credentials and OAuth
//! requests, and check what must hold whatever they are: no 5xx, no identity from
//! a token that is not exactly ours, no redirect off our origin or the allowed
//! ones. CI runs a few dozen cases per property; `scripts/fuzz` many more
//! (`PROPTEST_CASES`). Failures are saved under `proptest-regressions/`.

mod bodies;
mod config;
mod oauth;
mod redirects;
mod sessions;
mod support;
