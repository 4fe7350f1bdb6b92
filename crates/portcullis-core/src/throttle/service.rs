//! Applying rate limits to use cases. Limits are checked before any password hash
//! is computed, so a flood cannot make the server hash for it.

use time::Duration;

use crate::accounts::email::Email;
use crate::audit::{EventKind, Outcome};
use crate::error::AuthError;
use crate::throttle::{Limit, Throttle};

use crate::service::{Auth, ClientMeta};

/// The configured limits (`rate_limit.*`).
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub enabled: bool,
    pub login_per_account: Limit,
    pub login_per_ip: Limit,
    pub register_per_ip: Limit,
    /// Second-factor codes, per user (escalating like passwords).
    pub mfa: Limit,
    pub forgot_password_per_ip: Limit,
    /// `/api/v1/tokens` and `/oauth2/token`, per client address.
    pub tokens_per_ip: Limit,
    /// Sign-in links and codes asked for, per address typed (known or not).
    pub email_signin_per_address: Limit,
    /// Sign-in links and codes asked for, per client address.
    pub email_signin_per_ip: Limit,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            login_per_account: Limit::new(5, Duration::minutes(15)),
            login_per_ip: Limit::new(50, Duration::minutes(15)),
            register_per_ip: Limit::new(20, Duration::hours(1)),
            mfa: Limit::new(5, Duration::minutes(5)),
            forgot_password_per_ip: Limit::new(20, Duration::hours(1)),
            tokens_per_ip: Limit::new(60, Duration::minutes(1)),
            email_signin_per_address: Limit::new(3, Duration::minutes(15)),
            email_signin_per_ip: Limit::new(20, Duration::hours(1)),
        }
    }
}

/// Attempts counted for a sign-in that may still succeed.
#[derive(Debug, Default)]
pub(crate) struct LoginHits {
    ip: Option<i64>,
    account_bucket: Option<String>,
}

impl Auth {
    /// Counts one attempt in `bucket`; `Ok(Some(hit))` when counted, `Ok(None)` when
    /// limits are off, `Err(RateLimited)` when refused.
    pub async fn limit(&self, bucket: &str, limit: Limit, escalate: bool) -> Result<Option<i64>, AuthError> {
        if !self.config.rate_limits.enabled {
            return Ok(None);
        }
        match self.store.throttle(bucket, limit, escalate, self.clock.now()).await? {
            Throttle::Allowed { hit } => Ok(Some(hit)),
            Throttle::Denied { retry_after } => {
                let kind = bucket.split(':').take(2).collect::<Vec<_>>().join(":");
                self.observe(|o| o.rate_limited(&kind));
                Err(AuthError::RateLimited { retry_after: u64::try_from(retry_after).unwrap_or(1).max(1) })
            }
        }
    }

    /// Counts a sign-in attempt per client address and per account (escalating).
    pub(crate) async fn throttle_login(
        &self,
        email: &str,
        client: &ClientMeta,
    ) -> Result<LoginHits, AuthError> {
        let limits = self.config.rate_limits;
        let mut hits = LoginHits::default();
        if let Some(ip) = &client.ip {
            match self.limit(&format!("login:ip:{ip}"), limits.login_per_ip, false).await {
                Ok(hit) => hits.ip = hit,
                Err(e) => {
                    self.audit(EventKind::LoginThrottled, Outcome::Failure, None, client, Some("ip")).await;
                    return Err(e);
                }
            }
        }
        let key =
            Email::parse(email).map_or_else(|_| email.trim().to_lowercase(), |e| e.canonical().to_owned());
        let bucket = format!("login:account:{key}");
        if let Err(e) = self.limit(&bucket, limits.login_per_account, true).await {
            if let Some(hit) = hits.ip {
                let _ = self.store.unthrottle(hit).await;
            }
            let user = match Email::parse(email) {
                Ok(email) => self
                    .store
                    .find_credentials_by_email(email.canonical())
                    .await
                    .ok()
                    .flatten()
                    .map(|c| c.user.id),
                Err(_) => None,
            };
            self.audit(EventKind::LoginThrottled, Outcome::Failure, user, client, Some("account")).await;
            return Err(e);
        }
        hits.account_bucket = Some(bucket);
        Ok(hits)
    }

    /// A successful sign-in does not count against the address, and clears the
    /// account's failures and lockout history.
    pub(crate) async fn release_login(&self, hits: LoginHits) {
        if let Some(hit) = hits.ip {
            let _ = self.store.unthrottle(hit).await;
        }
        if let Some(bucket) = hits.account_bucket {
            let _ = self.store.reset_throttle(&bucket).await;
        }
    }
}
