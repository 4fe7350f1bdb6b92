//! Operator actions behind the CLI.

use crate::accounts::email::Email;
use crate::accounts::password::Password;
use crate::accounts::user::User;
use crate::audit::{EventKind, Outcome};
use crate::error::AuthError;
use crate::mail::MailMessage;

use crate::service::{Auth, ClientMeta};

impl Auth {
    pub async fn find_user(&self, email: &str) -> Result<User, AuthError> {
        let email = Email::parse(email).map_err(|_| AuthError::NotFound)?;
        let creds = self.store.find_credentials_by_email(email.canonical()).await?;
        creds.map(|c| c.user).ok_or(AuthError::NotFound)
    }

    pub async fn list_users(&self) -> Result<Vec<User>, AuthError> {
        Ok(self.store.list_users().await?)
    }

    /// Disabling also ends every session of the user.
    pub async fn set_disabled(&self, email: &str, disabled: bool) -> Result<User, AuthError> {
        let user = self.find_user(email).await?;
        if !self.store.set_user_disabled(user.id, disabled, self.clock.now()).await? {
            return Err(AuthError::NotFound);
        }
        let kind = if disabled { EventKind::UserDisabled } else { EventKind::UserEnabled };
        self.security_state_changed();
        self.audit(kind, Outcome::Success, Some(user.id), &ClientMeta::operator(), None).await;
        Ok(User { disabled, ..user })
    }

    pub async fn delete_user(&self, email: &str) -> Result<User, AuthError> {
        let user = self.find_user(email).await?;
        if !self.store.delete_user(user.id, None).await? {
            return Err(AuthError::NotFound);
        }
        self.security_state_changed();
        // The user's own events went with the account; the operator's trail keeps one.
        self.audit(
            EventKind::AccountDeleted,
            Outcome::Success,
            None,
            &ClientMeta::operator(),
            Some("by_operator"),
        )
        .await;
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
        self.store.change_password(user.id, &hash, self.clock.now(), None, Some(&notice)).await?;
        self.mail_queued();
        self.audit_operator(EventKind::PasswordReset, user.id).await;
        Ok(user)
    }
}

impl Auth {
    /// Records `kind` for `user` as done by an operator from the command line.
    async fn audit_operator(&self, kind: EventKind, user: crate::accounts::user::UserId) {
        self.security_state_changed();
        self.audit(kind, Outcome::Success, Some(user), &ClientMeta::operator(), Some("by_operator")).await;
    }

    /// Turns a user's MFA off (operators, for a lost device); sessions are ended.
    pub async fn mfa_reset(&self, email: &str) -> Result<User, AuthError> {
        let user = self.find_user(email).await?;
        self.store.mfa_disable(user.id).await?;
        self.store.delete_user_sessions(user.id).await?;
        self.notify(&user, &crate::mail::MailMessage::MfaDisabled).await;
        self.audit_operator(EventKind::MfaDisabled, user.id).await;
        Ok(user)
    }
}
