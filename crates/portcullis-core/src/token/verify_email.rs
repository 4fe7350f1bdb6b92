//! Verification links: sent at registration, sent again on request ("resend"), each
//! kind of request with its own per-account limit.

use crate::accounts::email::Email;
use crate::accounts::user::User;
use crate::error::AuthError;
use crate::mail::MailMessage;
use crate::token::TokenKind;

use crate::service::Auth;
use crate::token::service::MailBucket;

impl Auth {
    /// Sends a signed-in user a new verification link; `RateLimited` past the
    /// per-account limit. Nothing to do when the address is already verified.
    pub async fn resend_verification(&self, user: &User) -> Result<(), AuthError> {
        if user.email_verified {
            return Ok(());
        }
        let limit = self.config.email.verification_limit;
        if let Some(retry_after) = self.count_mail(MailBucket::Verification(user.id), limit).await? {
            return Err(AuthError::RateLimited { retry_after });
        }
        self.send_verification(user).await
    }

    /// "Resend" from the sign-in page, by address: like forgot-password, the work
    /// happens in the background and the answer never depends on the account.
    pub fn resend_verification_to(&self, email: &str) {
        let Ok(email) = Email::parse(email) else { return };
        let auth = self.clone();
        tokio::spawn(async move {
            let send = async {
                let Some(creds) = auth.store.find_credentials_by_email(email.canonical()).await? else {
                    return Ok(());
                };
                if creds.user.disabled {
                    return Ok(());
                }
                match auth.resend_verification(&creds.user).await {
                    Err(AuthError::RateLimited { .. }) => Ok(()),
                    other => other,
                }
            };
            if let Err(e) = send.await {
                tracing::error!(error = %e, "could not queue a verification mail");
            }
        });
    }

    async fn send_verification(&self, user: &User) -> Result<(), AuthError> {
        let ttl = self.config.email.verification_ttl;
        let (token, row) = self.mint_token(TokenKind::VerifyEmail, user.id, None, ttl);
        let mail = self.mail_to(user, &MailMessage::VerifyEmail { token: &token, expires_in: ttl })?;
        self.store.issue_token(&row, &mail).await?;
        self.mail_queued();
        Ok(())
    }
}
