//! Property tests of the core parsers an attacker reaches: session and emailed
//! tokens, email addresses, JWT headers and claims, OAuth scopes, PKCE and redirect
//! URIs, and the challenge in WebAuthn's `clientDataJSON`. Each property says what
//! the parser guarantees, not only that it does not panic. CI runs a few hundred
//! cases per property; `scripts/fuzz` runs the same properties with many more
//! (`PROPTEST_CASES`). A failure is saved under `proptest-regressions/` and replayed
//! first on every later run; a fixed bug also gets a named test.

mod email;
mod jwt;
mod oauth;
mod passkey;
mod support;
mod token;
