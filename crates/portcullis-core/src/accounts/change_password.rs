//! Changing the password of a signed-in user; the user is told by mail.

use crate::accounts::password::Password;
use crate::accounts::user::User;
use crate::audit::{EventKind, Outcome};
use crate::error::{AuthError, FieldError};
use crate::mail::MailMessage;
use crate::token::TokenHash;

use crate::service::{Auth, ClientMeta};

impl Auth {
    /// Needs the current password; revokes every other session and every emailed
    /// link a password change kills; mails a notice.
    pub async fn change_password(
        &self,
        user: &User,
        current_session: TokenHash,
        current: &Password,
        new: &Password,
        client: &ClientMeta,
    ) -> Result<(), AuthError> {
        let creds = self.store.find_credentials_by_id(user.id).await?.ok_or(AuthError::NotFound)?;
        if !current.within_max_length()
            || !self.hasher.verify(current, &creds.password_hash).await.map_err(AuthError::internal)?.ok
        {
            self.audit(
                EventKind::PasswordChanged,
                Outcome::Failure,
                Some(user.id),
                client,
                Some("wrong_password"),
            )
            .await;
            return Err(AuthError::InvalidCredentials);
        }
        self.config
            .password_policy
            .check(new, "new_password", &[&user.email])
            .map_err(|e| AuthError::Validation(vec![e]))?;
        if current.expose() == new.expose() {
            return Err(AuthError::Validation(vec![FieldError::new(
                "new_password",
                "password_unchanged",
                "the new password must differ from the current one",
            )]));
        }
        let hash = self.hasher.hash(new).await.map_err(AuthError::internal)?;
        let notice = self.mail_to(user, &MailMessage::PasswordChanged)?;
        let event = self.webhook_event(
            crate::webhooks::EventType::UserPasswordChanged,
            user.id,
            &user.email,
            serde_json::json!({}),
        );
        self.store
            .change_password(
                user.id,
                &hash,
                self.clock.now(),
                Some(current_session),
                Some(&notice),
                Some(&event),
            )
            .await?;
        self.mail_queued();
        self.webhook_queued();
        self.security_state_changed();
        self.audit(EventKind::PasswordChanged, Outcome::Success, Some(user.id), client, None).await;
        Ok(())
    }
}
