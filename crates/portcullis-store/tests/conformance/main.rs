//! The store conformance suite: every store operation, called directly (no HTTP),
//! on SQLite (a temporary file) and PostgreSQL (a fresh database, dropped after).
//! One binary; `conformance!` instantiates each test for both backends.

mod fixtures;

mod admin;
mod cancellation;
mod devices;
mod email_signin;
mod events;
mod groups;
mod identities;
mod import;
mod invitations;
mod mfa;
mod oauth;
mod outbox;
mod passkeys;
mod sessions;
mod throttle;
mod tokens;
mod users;
mod webhooks;

/// Runs each `async fn name(store: &TestStore)` once per backend. Without
/// PostgreSQL the PostgreSQL case is skipped with a printed reason, except under
/// `CI=true`, where it fails.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store = crate::fixtures::TestStore::sqlite().await;
                super::$name(&store).await;
                store.close().await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(store) = crate::fixtures::TestStore::postgres().await else { return };
                super::$name(&store).await;
                store.close().await;
            })*
        }
    };
}
pub(crate) use conformance;
