//! The use cases, one file each, as methods of [`Auth`].

mod admin;
mod audit;
mod change_password;
mod login;
mod logout;
mod mfa;
mod register;
mod sessions;
mod throttle;

use std::sync::Arc;

use crate::clock::Clock;
use crate::password::{PasswordHasher, PasswordPolicy};
use crate::session::SessionPolicy;
use crate::store::Store;

pub use audit::MAX_EVENTS;
pub use login::LoginOutcome;
pub use mfa::{Confirmation, Enrolment, RECENT_SIGN_IN};
pub use register::Registration;
pub use sessions::Authenticated;
pub use throttle::RateLimits;

/// Settings of the use cases.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    pub password_policy: PasswordPolicy,
    pub session_policy: SessionPolicy,
    pub rate_limits: RateLimits,
}

/// Hooks for metrics; every method has a no-op default.
pub trait Observer: Send + Sync + 'static {
    /// A sign-in attempt ended: `success`, `failure` or `throttled`.
    fn login(&self, _result: &'static str) {}
    /// A rate limit refused an attempt (`login:ip`, `login:account`, `register:ip`, ...).
    fn rate_limited(&self, _limit: &str) {}
}

/// Who is asking: recorded on sessions.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientMeta {
    /// Actions taken from the command line.
    pub fn operator() -> Self {
        Self { ip: None, user_agent: Some("portcullis-cli".into()) }
    }
}

/// The entry point to every use case.
#[derive(Clone)]
pub struct Auth {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    hasher: PasswordHasher,
    config: AuthConfig,
    observer: Option<Arc<dyn Observer>>,
    secret_box: Option<crate::mfa::SecretBox>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Auth {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        hasher: PasswordHasher,
        config: AuthConfig,
    ) -> Self {
        Self { store, clock, hasher, config, observer: None, secret_box: None }
    }

    /// Reports events to `observer` (metrics).
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    pub(crate) fn observe(&self, f: impl FnOnce(&dyn Observer)) {
        if let Some(o) = &self.observer {
            f(o.as_ref());
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }
}
