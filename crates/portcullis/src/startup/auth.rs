//! The use cases, built whole from the configuration: the node-shared sealing keys
//! first, then `Auth` with every collaborator.

use std::sync::Arc;

use portcullis_core::accounts::password::HashCost;
use portcullis_core::oauth::TokenPolicy;
use portcullis_core::service::{AuthParts, EmailPolicy, MailLimit, RateLimits, RelyingParty, SealingKeys};
use portcullis_core::throttle::Limit;
use portcullis_core::{Auth, AuthConfig, Clock, PasswordHasher, PasswordPolicy, SessionPolicy, Store};
use portcullis_store::Database;
use portcullis_web::PublicUrl;
use portcullis_web::mail::MailTemplates;

use super::StartupError;
use crate::config::Config;

/// The use cases over `db`, built whole: the node-shared sealing keys are loaded
/// (or created) first; mails carry links to `public_url`; `passkeys` is the relying
/// party when they are on.
pub async fn build_auth(
    config: &Config,
    db: &Database,
    clock: Arc<dyn Clock>,
    public_url: &PublicUrl,
    passkeys: Option<RelyingParty>,
) -> Result<Auth, StartupError> {
    let store = db.store();
    let sealing = SealingKeys {
        totp: shared_secret(store.as_ref(), clock.as_ref(), "mfa_key").await?,
        signing_keys: shared_secret(store.as_ref(), clock.as_ref(), "signing_key_secret").await?,
    };
    let p = &config.password;
    let cost = HashCost {
        memory_kib: p.argon2_memory_kib,
        iterations: p.argon2_iterations,
        parallelism: p.argon2_parallelism,
    };
    let default = HashCost::default();
    if cost.memory_kib < default.memory_kib || cost.iterations < default.iterations {
        tracing::warn!(
            memory_kib = cost.memory_kib,
            iterations = cost.iterations,
            "password.argon2_* is below the OWASP recommendation (19456 KiB, 2 iterations): passwords are easier to crack"
        );
    }
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let hasher = PasswordHasher::new(cost, cpus)
        .map_err(|e| StartupError::Config(format!("password: {e}")))?
        .with_observer(crate::metrics::hash_observer());
    let s = &config.session;
    let to_time = |d: crate::config::Dur| time::Duration::try_from(d.0).unwrap_or(time::Duration::MAX);
    let rl = &config.rate_limit;
    let limit = |r: crate::config::Rate| Limit::new(r.count, to_time(r.window));
    let auth_config = AuthConfig {
        rate_limits: RateLimits {
            enabled: rl.enabled,
            login_per_account: limit(rl.login_per_account),
            login_per_ip: limit(rl.login_per_ip),
            register_per_ip: limit(rl.register_per_ip),
            mfa: limit(rl.mfa_per_session),
            forgot_password_per_ip: limit(rl.forgot_password_per_ip),
            tokens_per_ip: limit(rl.tokens_per_ip),
            email_signin_per_address: limit(rl.email_signin_per_address),
            email_signin_per_ip: limit(rl.email_signin_per_ip),
        },
        password_policy: PasswordPolicy { min_length: p.min_length, min_strength: p.min_strength },
        session_policy: SessionPolicy {
            idle_timeout: to_time(s.idle_timeout),
            absolute_timeout: to_time(s.absolute_timeout),
            remember_me_timeout: to_time(s.remember_me_timeout),
        },
        email: email_policy(config),
        tokens: TokenPolicy {
            issuer: public_url.origin().to_owned(),
            access_ttl: to_time(config.tokens.access_ttl),
            refresh_ttl: to_time(config.tokens.refresh_ttl),
            ..TokenPolicy::default()
        },
        require_mfa_for_admins: config.security.require_mfa_for_admins,
        email_signin: config.auth.email_signin,
        new_device_notice: config.security.new_device_notice,
    };
    let composer = Arc::new(MailTemplates::new(public_url.clone(), config.ui.templates_dir.clone()));
    let parts = AuthParts { store, clock, hasher, config: auth_config, composer, sealing, passkeys };
    let providers =
        crate::config::providers::build(&config.identity_providers).map_err(|e| StartupError::Config(e.0))?;
    Ok(Auth::new(parts)
        .with_observer(Arc::new(crate::metrics::MetricsObserver))
        .with_identity_providers(providers)
        .with_webhook_sender(super::webhook_sender(config)?))
}

/// Token lifetimes and per-account mail limits. Reset links use
/// `rate_limit.forgot_password_per_email`; verification and change links three an
/// hour. `rate_limit.enabled = false` lifts them all.
fn email_policy(config: &Config) -> EmailPolicy {
    let to_time = |d: crate::config::Dur| time::Duration::try_from(d.0).unwrap_or(time::Duration::MAX);
    let e = &config.email;
    let on = config.rate_limit.enabled;
    let per_email = config.rate_limit.forgot_password_per_email;
    let three_an_hour = MailLimit::new(3, time::Duration::hours(1));
    EmailPolicy {
        require_verification: e.require_verification,
        verification_ttl: to_time(e.verification_ttl),
        reset_ttl: to_time(e.reset_ttl),
        change_ttl: to_time(e.change_ttl),
        verification_limit: on.then_some(three_an_hour),
        reset_limit: on.then(|| MailLimit::new(per_email.count, to_time(per_email.window))),
        change_limit: on.then_some(three_an_hour),
        recipient_limit: on.then_some(three_an_hour),
    }
}

/// Loads the token signing keys (creating the first one).
pub async fn load_signing_keys(auth: &Auth) -> Result<(), StartupError> {
    auth.keys()
        .init()
        .await
        .map_err(|e| StartupError::Runtime(format!("database: cannot load token signing keys: {e}")))
}

/// A 256-bit secret shared by every node, generated on first start.
pub(super) async fn shared_secret(
    store: &dyn Store,
    clock: &dyn Clock,
    name: &str,
) -> Result<[u8; 32], StartupError> {
    let mut candidate = [0u8; 32];
    portcullis_core::token::fill_random(&mut candidate);
    let stored = store
        .get_or_create_secret(name, &candidate, clock.now())
        .await
        .map_err(|e| StartupError::Runtime(format!("database: cannot load secrets: {e}")))?;
    stored.try_into().map_err(|_| StartupError::Runtime(format!("database: stored secret {name} is corrupt")))
}
