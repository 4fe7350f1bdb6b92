//! Browser sessions: rows we own, looked up by the SHA-256 of an opaque cookie value,
//! with idle and absolute expiry checked on every use.

pub(crate) mod authenticate;
pub(crate) mod hot;
pub(crate) mod login;
mod logout;
pub mod store;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::accounts::user::UserId;

/// Lifetimes of sessions.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    pub remember_me_timeout: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::hours(2),
            absolute_timeout: Duration::hours(24),
            remember_me_timeout: Duration::days(30),
        }
    }
}

impl SessionPolicy {
    /// (idle timeout, absolute lifetime) for a new session.
    pub fn lifetimes(&self, remember: bool) -> (Duration, Duration) {
        if remember {
            (self.remember_me_timeout, self.remember_me_timeout)
        } else {
            (self.idle_timeout, self.absolute_timeout)
        }
    }

    /// How stale `last_seen_at` may get before it is written again:
    /// min(60 s, idle timeout / 10), never below one second.
    pub fn touch_interval(idle: Duration) -> Duration {
        (idle / 10_i32).min(Duration::seconds(60)).max(Duration::seconds(1))
    }
}

/// A stored session, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Public identifier, safe to show and to use in revocation URLs.
    pub id: Uuid,
    pub user_id: UserId,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub idle_timeout: Duration,
    pub remember: bool,
    pub authenticated_at: OffsetDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Password checked, second factor still owed: reaches nothing but `/login/mfa`.
    pub mfa_pending: bool,
    /// The sign-in used a second factor (a TOTP or recovery code, or a passkey):
    /// what the access policy `two_factor` asks for.
    pub two_factor: bool,
}

/// How far a sign-in has come, for [`Auth::open_session`](crate::Auth).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignIn {
    /// Password only, on an account without MFA.
    Password,
    /// Password checked, second factor owed.
    Pending,
    /// With a second factor (TOTP, recovery code) or a passkey.
    TwoFactor,
}

/// How long a half-authenticated session waits for its second factor.
pub const MFA_PENDING_LIFETIME: Duration = Duration::minutes(5);

impl Session {
    /// Whether the session may still be used at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at && now - self.last_seen_at <= self.idle_timeout
    }

    /// Whether `last_seen_at` should be written at `now`.
    pub fn needs_touch(&self, now: OffsetDateTime) -> bool {
        now - self.last_seen_at >= SessionPolicy::touch_interval(self.idle_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(now: OffsetDateTime, idle: Duration, absolute: Duration) -> Session {
        Session {
            id: Uuid::new_v4(),
            user_id: UserId::new(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + absolute,
            idle_timeout: idle,
            remember: false,
            authenticated_at: now,
            ip: None,
            user_agent: None,
            mfa_pending: false,
            two_factor: false,
        }
    }

    #[test]
    fn idle_and_absolute_expiry_both_end_a_session() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let s = session(t0, Duration::hours(2), Duration::hours(24));
        assert!(s.is_active(t0 + Duration::hours(2)));
        assert!(!s.is_active(t0 + Duration::hours(2) + Duration::seconds(1)));
        let mut busy = s.clone();
        busy.last_seen_at = t0 + Duration::hours(23);
        assert!(busy.is_active(t0 + Duration::hours(23) + Duration::minutes(59)));
        assert!(!busy.is_active(t0 + Duration::hours(24)));
    }

    #[test]
    fn last_seen_is_written_lazily() {
        assert_eq!(SessionPolicy::touch_interval(Duration::hours(2)), Duration::seconds(60));
        assert_eq!(SessionPolicy::touch_interval(Duration::minutes(5)), Duration::seconds(30));
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let s = session(t0, Duration::hours(2), Duration::hours(24));
        assert!(!s.needs_touch(t0 + Duration::seconds(59)));
        assert!(s.needs_touch(t0 + Duration::seconds(60)));
    }
}
