//! Operator actions behind the CLI.

use crate::email::Email;
use crate::error::AuthError;
use crate::password::Password;
use crate::user::User;

use super::Auth;

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
        let event = if disabled { "user_disabled" } else { "user_enabled" };
        tracing::info!(target: "portcullis::audit", event, user_id = %user.id, "account state changed by an operator");
        Ok(User { disabled, ..user })
    }

    pub async fn delete_user(&self, email: &str) -> Result<User, AuthError> {
        let user = self.find_user(email).await?;
        if !self.store.delete_user(user.id).await? {
            return Err(AuthError::NotFound);
        }
        tracing::info!(target: "portcullis::audit", event = "account_deleted", user_id = %user.id, "account deleted by an operator");
        Ok(user)
    }

    /// Sets a password without knowing the old one; every session is revoked.
    pub async fn set_password(&self, email: &str, password: &Password) -> Result<User, AuthError> {
        let user = self.find_user(email).await?;
        self.config
            .password_policy
            .check(password, "password")
            .map_err(|e| AuthError::Validation(vec![e]))?;
        let hash = self.hasher.hash(password).await.map_err(AuthError::internal)?;
        self.store.change_password(user.id, &hash, self.clock.now(), None).await?;
        tracing::info!(target: "portcullis::audit", event = "password_reset", user_id = %user.id, "password set by an operator");
        Ok(user)
    }
}
