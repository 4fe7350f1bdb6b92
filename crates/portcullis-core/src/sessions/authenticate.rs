//! Resolving a session cookie, listing and revoking sessions, purging expired ones.

use std::sync::Arc;

use uuid::Uuid;

use crate::accounts::user::{User, UserId};
use crate::audit::{EventKind, Outcome};
use crate::error::AuthError;
use crate::sessions::Session;
use crate::token::{SecretToken, TokenHash};

use crate::service::{Auth, ClientMeta};

/// A request's verified identity. The user and the session are shared with this
/// node's hot cache (read-only snapshots as of the look-up), so resolving a
/// credential from the cache, and cloning the result, copies no string.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: Arc<User>,
    pub session: Arc<Session>,
    pub token_hash: TokenHash,
    /// How the request proved it.
    pub via: Via,
}

/// The credential behind an [`Authenticated`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A session cookie (`token_hash` names the stored session).
    Session,
    /// A bearer access token; `token_hash` is its digest (stored nowhere), `family`
    /// the refresh-token family it came with.
    Bearer { family: Option<Uuid> },
}

impl Auth {
    /// Resolves a cookie value to a live, fully authenticated session, enforcing idle
    /// and absolute expiry. A half-authenticated (MFA pending) session is not one.
    pub async fn authenticate(&self, cookie_value: &str) -> Result<Option<Authenticated>, AuthError> {
        Ok(self.resolve(cookie_value).await?.filter(|a| !a.session.mfa_pending))
    }

    /// A session waiting for its second factor.
    pub async fn authenticate_pending(&self, cookie_value: &str) -> Result<Option<Authenticated>, AuthError> {
        Ok(self.resolve(cookie_value).await?.filter(|a| a.session.mfa_pending))
    }

    async fn resolve(&self, cookie_value: &str) -> Result<Option<Authenticated>, AuthError> {
        let Some(token) = SecretToken::parse(cookie_value) else {
            return Ok(None);
        };
        let token_hash = token.hash();
        let now = self.clock.now();
        let hot = self.hot.get(&self.hot.sessions, token_hash.as_bytes());
        if let Some((session, user)) = hot
            && session.is_active(now)
            && !session.needs_touch(now)
        {
            return Ok(Some(Authenticated { user, session, token_hash, via: Via::Session }));
        }
        let generation = self.hot.generation();
        let Some(crate::store::SessionWithUser { mut session, user }) =
            self.store.find_session(token_hash).await?
        else {
            self.hot.sessions.remove(token_hash.as_bytes());
            return Ok(None);
        };
        if !session.is_active(now) {
            self.hot.sessions.remove(token_hash.as_bytes());
            self.store.delete_session(token_hash).await?;
            return Ok(None);
        }
        if session.needs_touch(now) {
            self.store.touch_session(token_hash, now).await?;
            session.last_seen_at = now;
        }
        let (session, user) = (Arc::new(session), Arc::new(user));
        self.hot.sessions.put(*token_hash.as_bytes(), (Arc::clone(&session), Arc::clone(&user)), generation);
        Ok(Some(Authenticated { user, session, token_hash, via: Via::Session }))
    }

    pub async fn list_sessions(&self, user: UserId) -> Result<Vec<Session>, AuthError> {
        Ok(self.store.list_sessions(user, self.clock.now()).await?)
    }

    /// Revokes one of the user's own sessions.
    pub async fn revoke_session(&self, user: UserId, id: Uuid, client: &ClientMeta) -> Result<(), AuthError> {
        let owner = self.user_by_id(user).await?;
        let data = serde_json::json!({"all": false, "by": "user"});
        let event = self.webhook_event(crate::webhooks::EventType::SessionRevoked, user, &owner.email, data);
        if self.store.delete_session_by_id(user, id, Some(&event)).await? {
            self.webhook_queued();
            self.security_state_changed();
            self.audit(EventKind::SessionRevoked, Outcome::Success, Some(user), client, None).await;
            Ok(())
        } else {
            Err(AuthError::NotFound)
        }
    }

    pub async fn count_active_sessions(&self) -> Result<i64, AuthError> {
        Ok(self.store.count_active_sessions(self.clock.now()).await?)
    }

    pub async fn purge_expired_sessions(&self) -> Result<u64, AuthError> {
        Ok(self.store.purge_expired_sessions(self.clock.now()).await?)
    }

    /// Housekeeping: expired sessions, rate-limit and mail-limit counts older than
    /// any window or lockout memory (a day at least), and events older than
    /// `event_retention`.
    pub async fn purge(&self, event_retention: time::Duration) -> Result<u64, AuthError> {
        let now = self.clock.now();
        let sessions = self.store.purge_expired_sessions(now).await?;
        let throttle = self
            .store
            .purge_throttle(
                now.checked_sub(self.longest_window()).unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
            )
            .await?;
        let events = self
            .store
            .purge_events(now.checked_sub(event_retention).unwrap_or(time::OffsetDateTime::UNIX_EPOCH))
            .await?;
        Ok(sessions + throttle + events)
    }

    /// How long a counted attempt can still matter.
    fn longest_window(&self) -> time::Duration {
        let r = &self.config.rate_limits;
        let e = &self.config.email;
        let rates = [
            r.login_per_account,
            r.login_per_ip,
            r.register_per_ip,
            r.mfa,
            r.forgot_password_per_ip,
            r.tokens_per_ip,
        ]
        .into_iter()
        .map(|l| l.window);
        let mails = [e.verification_limit, e.reset_limit, e.change_limit, e.recipient_limit]
            .into_iter()
            .flatten()
            .map(|l| l.window);
        rates
            .chain(mails)
            .fold(crate::throttle::LEVEL_MEMORY.max(time::Duration::days(1)), time::Duration::max)
    }
}
