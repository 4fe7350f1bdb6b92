//! Operator actions behind the CLI, by email. The changes themselves are the
//! admin use cases by id (`admin/users.rs`), recorded with the actor `cli`.

use crate::accounts::email::Email;
use crate::accounts::password::Password;
use crate::accounts::user::User;
use crate::audit::{ActedBy, EventKind};
use crate::error::AuthError;
use crate::mail::MailMessage;

use crate::service::Auth;

impl Auth {
    pub async fn find_user(&self, email: &str) -> Result<User, AuthError> {
        let email = Email::parse(email).map_err(|_| AuthError::NotFound)?;
        let creds = self.store.find_credentials_by_email(email.canonical()).await?;
        creds.map(|c| c.user).ok_or(AuthError::NotFound)
    }

    pub async fn list_users(&self) -> Result<Vec<User>, AuthError> {
        Ok(self.store.list_users().await?)
    }

    /// Disabling also ends every session of the user; disabling the last enabled
    /// administrator is refused (`last_admin`).
    pub async fn set_disabled(&self, email: &str, disabled: bool) -> Result<User, AuthError> {
        let user = self.find_user(email).await?;
        self.set_user_disabled(user.id, disabled, &ActedBy::cli()).await?;
        Ok(User { disabled, ..user })
    }

    /// Deleting the last enabled administrator is refused (`last_admin`).
    pub async fn delete_user(&self, email: &str) -> Result<User, AuthError> {
        let user = self.find_user(email).await?;
        self.delete_user_by_id(user.id, &ActedBy::cli()).await?;
        Ok(user)
    }

    /// Sets a password without knowing the old one; every session is revoked and the
    /// user is told by mail.
    pub async fn set_password(&self, email: &str, password: &Password) -> Result<User, AuthError> {
        let user = self.find_user(email).await?;
        self.config
            .password_policy
            .check(password, "password", &[&user.email])
            .map_err(|e| AuthError::Validation(vec![e]))?;
        let hash = self.hasher.hash(password).await.map_err(AuthError::internal)?;
        let notice = self.mail_to(&user, &MailMessage::PasswordChanged)?;
        let event = self.webhook_event(
            crate::webhooks::EventType::UserPasswordReset,
            user.id,
            &user.email,
            serde_json::json!({"by": "operator"}),
        );
        self.store
            .change_password(user.id, &hash, self.clock.now(), None, Some(&notice), Some(&event))
            .await?;
        self.mail_queued();
        self.webhook_queued();
        self.security_state_changed();
        let by = ActedBy::cli();
        self.audit_by(&by, EventKind::PasswordReset, Some(user.id), Some(by.detail())).await;
        Ok(user)
    }

    /// Turns a user's MFA off (operators, for a lost device); sessions are ended.
    pub async fn mfa_reset(&self, email: &str) -> Result<User, AuthError> {
        let user = self.find_user(email).await?;
        self.reset_user_mfa(user.id, &ActedBy::cli()).await
    }
}
