//! Emailed tokens: minting them, deciding whether one may be used, limiting how
//! often each kind is mailed, purging old ones.

use time::OffsetDateTime;

use crate::accounts::user::UserId;
use crate::error::AuthError;
use crate::service::MailLimit;
use crate::store::{NewToken, StoredToken};
use crate::token::{SecretToken, TokenKind};

use crate::service::Auth;
use crate::throttle::{Limit, Throttle};

/// What a mail limit counts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum MailBucket<'a> {
    /// Reset links to one account.
    Reset(UserId),
    /// Verification links to one account.
    Verification(UserId),
    /// Requests of one account to change its address (whether or not the new
    /// address is taken: both cost the same, so the limit tells nothing).
    EmailChange(UserId),
    /// Mails to one address that someone other than its owner can cause (the
    /// "address in use" notice, the confirmation of a change to it), by canonical
    /// address.
    Recipient(&'a str),
}

impl MailBucket<'_> {
    fn key(self) -> String {
        match self {
            Self::Reset(user) => format!("mail:reset:{user}"),
            Self::Verification(user) => format!("mail:verification:{user}"),
            Self::EmailChange(user) => format!("mail:change:{user}"),
            Self::Recipient(address) => format!("mail:to:{address}"),
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Self::Reset(_) => "mail:reset",
            Self::Verification(_) => "mail:verification",
            Self::EmailChange(_) => "mail:change",
            Self::Recipient(_) => "mail:to",
        }
    }
}

/// Used or expired tokens are kept this long (for the export), then purged.
const KEEP_SPENT: time::Duration = time::Duration::days(7);

impl StoredToken {
    /// Whether the token may be used for one of `kinds` at `now`: unused, unexpired,
    /// and (unless its kind survives it) not older than the last password change.
    pub fn is_usable(&self, kinds: &[TokenKind], now: OffsetDateTime) -> bool {
        kinds.contains(&self.kind)
            && self.used_at.is_none()
            && now < self.expires_at
            && (!self.kind.dies_with_password_change() || self.created_at >= self.password_changed_at)
    }
}

impl Auth {
    /// A fresh token for `user` and the row that stores its hash.
    pub(crate) fn mint_token(
        &self,
        kind: TokenKind,
        user: UserId,
        new_email: Option<&str>,
        ttl: time::Duration,
    ) -> (SecretToken, NewToken) {
        let token = SecretToken::generate();
        let now = self.clock.now();
        let row = NewToken {
            hash: token.hash(),
            kind,
            user_id: user,
            new_email: new_email.map(str::to_owned),
            created_at: now,
            expires_at: now + ttl,
        };
        (token, row)
    }

    /// The stored token named by `raw`, if it can be used for one of `kinds` now.
    /// Malformed, unknown, used, expired and killed tokens are all `InvalidToken`.
    pub(crate) async fn usable_token(
        &self,
        raw: &str,
        kinds: &[TokenKind],
    ) -> Result<(SecretToken, StoredToken), AuthError> {
        let token = SecretToken::parse(raw.trim()).ok_or(AuthError::InvalidToken)?;
        let stored = self.store.find_token(token.hash()).await?.ok_or(AuthError::InvalidToken)?;
        if !stored.is_usable(kinds, self.clock.now()) {
            return Err(AuthError::InvalidToken);
        }
        Ok((token, stored))
    }

    /// Counts one mail against `limit` in `bucket`, in one atomic step (the store's
    /// throttle serialises each bucket, on every node), so a burst of requests
    /// cannot send more than the limit. `Some(seconds to wait)` when over it; then
    /// nothing is counted and the mail must not be sent. `None` limits (rate limits
    /// switched off) count nothing.
    pub(crate) async fn count_mail(
        &self,
        bucket: MailBucket<'_>,
        limit: Option<MailLimit>,
    ) -> Result<Option<u64>, AuthError> {
        let Some(limit) = limit else { return Ok(None) };
        let key = bucket.key();
        match self
            .store
            .throttle(&key, Limit::new(limit.count, limit.window), false, self.clock.now())
            .await?
        {
            Throttle::Allowed { .. } => Ok(None),
            Throttle::Denied { retry_after } => {
                self.observe(|o| o.rate_limited(bucket.kind()));
                Ok(Some(u64::try_from(retry_after).unwrap_or(1).max(1)))
            }
        }
    }

    /// Deletes tokens that expired more than a week ago.
    pub async fn purge_expired_tokens(&self) -> Result<u64, AuthError> {
        Ok(self.store.purge_tokens(self.clock.now() - KEEP_SPENT).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn token(kind: TokenKind, t0: OffsetDateTime) -> StoredToken {
        StoredToken {
            kind,
            user_id: UserId::new(),
            new_email: None,
            created_at: t0,
            expires_at: t0 + Duration::hours(1),
            used_at: None,
            password_changed_at: t0 - Duration::days(1),
        }
    }

    #[test]
    fn a_token_is_usable_only_for_its_kind_once_and_before_it_expires() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let t = token(TokenKind::ResetPassword, t0);
        assert!(t.is_usable(&[TokenKind::ResetPassword], t0));
        assert!(!t.is_usable(&[TokenKind::VerifyEmail, TokenKind::ChangeEmail], t0));
        assert!(!t.is_usable(&[TokenKind::ResetPassword], t0 + Duration::hours(1)));
        let used = StoredToken { used_at: Some(t0), ..t };
        assert!(!used.is_usable(&[TokenKind::ResetPassword], t0));
    }

    #[test]
    fn a_password_change_kills_every_token_except_an_undo_link() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        for kind in [TokenKind::VerifyEmail, TokenKind::ResetPassword, TokenKind::ChangeEmail] {
            let t = StoredToken { password_changed_at: t0 + Duration::seconds(1), ..token(kind, t0) };
            assert!(!t.is_usable(&[kind], t0 + Duration::seconds(2)), "{kind:?}");
            let same_second = StoredToken { password_changed_at: t0, ..token(kind, t0) };
            assert!(same_second.is_usable(&[kind], t0), "registration mints its token in the same second");
        }
        let undo = StoredToken {
            password_changed_at: t0 + Duration::seconds(1),
            ..token(TokenKind::RevertEmail, t0)
        };
        assert!(undo.is_usable(&[TokenKind::RevertEmail], t0 + Duration::seconds(2)));
    }
}
