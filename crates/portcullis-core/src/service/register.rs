//! Creating an account.

use crate::email::Email;
use crate::error::{AuthError, FieldError};
use crate::event::{EventKind, Outcome};
use crate::password::Password;
use crate::store::{NewUser, StoreError};
use crate::user::{User, UserId};

use super::{Auth, ClientMeta};

/// What a new account needs.
#[derive(Debug)]
pub struct Registration<'a> {
    pub email: &'a str,
    pub password: &'a Password,
    /// Accounts made by an operator are verified and may be admins.
    pub verified: bool,
    pub admin: bool,
}

impl Auth {
    /// Validates and stores a new account.
    pub async fn register(&self, reg: Registration<'_>, client: &ClientMeta) -> Result<User, AuthError> {
        if let Some(ip) = &client.ip {
            self.limit(&format!("register:ip:{ip}"), self.config.rate_limits.register_per_ip, false).await?;
        }
        let mut errors = Vec::new();
        let email = Email::parse(reg.email)
            .map_err(|e| errors.push(FieldError::new("email", "invalid_email", e.to_string())))
            .ok();
        if let Err(e) = self.config.password_policy.check(reg.password, "password", &[reg.email.trim()]) {
            errors.push(e);
        }
        let Some(email) = email.filter(|_| errors.is_empty()) else {
            return Err(AuthError::Validation(errors));
        };
        let hash = self.hasher.hash(reg.password).await.map_err(AuthError::internal)?;
        let new = NewUser {
            id: UserId::new(),
            email: email.as_str(),
            email_canonical: email.canonical(),
            password_hash: &hash,
            email_verified: reg.verified,
            is_admin: reg.admin,
            created_at: self.clock.now(),
        };
        match self.store.create_user(new).await {
            Ok(user) => {
                self.audit(EventKind::Register, Outcome::Success, Some(user.id), client, None).await;
                Ok(user)
            }
            Err(StoreError::Conflict(_)) => Err(AuthError::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }
}
