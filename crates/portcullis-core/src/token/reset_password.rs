//! "Forgot password": a single-use link mailed to the address, answered the same
//! whether or not an account exists, and a reset that ends every session.

use crate::accounts::email::Email;
use crate::accounts::password::Password;
use crate::accounts::user::{INVITED_PASSWORD_HASH, User};
use crate::audit::{EventKind, Outcome};
use crate::error::AuthError;
use crate::mail::MailMessage;
use crate::token::TokenKind;

use crate::service::{Auth, ClientMeta};
use crate::token::service::MailBucket;

impl Auth {
    /// Mails a reset link when `email` belongs to an enabled account (at most
    /// `reset_limit` per account), or the invitation again when the account is
    /// still invited. The work happens in the background, so the answer
    /// is the same, in the same time, whatever the address; it cannot fail.
    pub async fn forgot_password(&self, email: &str, client: &ClientMeta) -> Result<(), AuthError> {
        // Per client address, before anything about the account is looked at; the
        // answer does not depend on whether the account exists.
        if let Some(ip) = &client.ip {
            self.limit(&format!("forgot:ip:{ip}"), self.config.rate_limits.forgot_password_per_ip, false)
                .await?;
        }
        let Ok(email) = Email::parse(email) else { return Ok(()) };
        let (auth, client) = (self.clone(), client.clone());
        tokio::spawn(async move {
            if let Err(e) = auth.send_reset_link(&email, &client).await {
                tracing::error!(error = %e, "could not queue a password-reset mail");
            }
        });
        Ok(())
    }

    async fn send_reset_link(&self, email: &Email, client: &ClientMeta) -> Result<(), AuthError> {
        let Some(creds) = self.store.find_credentials_by_email(email.canonical()).await? else {
            return Ok(());
        };
        let user = creds.user;
        if user.disabled {
            return Ok(());
        }
        let limit = self.config.email.reset_limit;
        if self.count_mail(MailBucket::Reset(user.id), limit).await?.is_some() {
            tracing::info!(user_id = %user.id, ip = client.ip.as_deref(), "reset link not sent: per-account limit");
            return Ok(());
        }
        if creds.password_hash == INVITED_PASSWORD_HASH {
            // No password to reset yet (SPEC §8): the invitation again, the older link dead.
            return self.send_invitation_again(&user, client).await;
        }
        self.queue_reset_link(&user).await
    }

    /// Mints a reset link for `user` and queues the mail that carries it.
    pub(crate) async fn queue_reset_link(&self, user: &User) -> Result<(), AuthError> {
        let ttl = self.config.email.reset_ttl;
        let (token, row) = self.mint_token(TokenKind::ResetPassword, user.id, None, ttl);
        let mail = self.mail_to(user, &MailMessage::ResetPassword { token: &token, expires_in: ttl })?;
        self.store.issue_token(&row, &mail).await?;
        self.mail_queued();
        Ok(())
    }

    /// Whether `raw` is a reset link that can still be used.
    pub async fn check_reset_token(&self, raw: &str) -> Result<(), AuthError> {
        self.usable_token(raw, &[TokenKind::ResetPassword]).await.map(|_| ())
    }

    /// Sets a new password through a reset link: the link is spent, every session
    /// revoked, the address counts as verified, and the user is told by mail. Works
    /// for a user locked out by sign-in throttling.
    pub async fn reset_password(
        &self,
        raw: &str,
        password: &Password,
        client: &ClientMeta,
    ) -> Result<User, AuthError> {
        let (token, stored) = self.usable_token(raw, &[TokenKind::ResetPassword]).await?;
        let creds =
            self.store.find_credentials_by_id(stored.user_id).await?.ok_or(AuthError::InvalidToken)?;
        self.config
            .password_policy
            .check(password, "password", &[&creds.user.email])
            .map_err(|e| AuthError::Validation(vec![e]))?;
        if creds.user.disabled {
            return Err(AuthError::InvalidToken);
        }
        let hash = self.hasher.hash(password).await.map_err(AuthError::internal)?;
        let notice = self.mail_to(&creds.user, &MailMessage::PasswordWasReset)?;
        let event = self.webhook_event(
            crate::webhooks::EventType::UserPasswordReset,
            creds.user.id,
            &creds.user.email,
            serde_json::json!({"by": "user"}),
        );
        if self
            .store
            .reset_password(token.hash(), &hash, self.clock.now(), &notice, Some(&event))
            .await?
            .is_none()
        {
            // Spent by a concurrent request between the check and now.
            return Err(AuthError::InvalidToken);
        }
        self.mail_queued();
        self.webhook_queued();
        // Proving control of the mailbox lifts a sign-in lockout on the account.
        if let Ok(email) = Email::parse(&creds.user.email) {
            self.store.reset_throttle(&format!("login:account:{}", email.canonical())).await?;
        }
        self.security_state_changed();
        self.audit(EventKind::PasswordReset, Outcome::Success, Some(creds.user.id), client, None).await;
        Ok(User { email_verified: true, ..creds.user })
    }
}
