//! Creating an account, with its verification mail. When verification is required,
//! an address that is taken answers like a new one and its owner is told instead.

use crate::accounts::email::Email;
use crate::accounts::password::Password;
use crate::accounts::user::{User, UserId};
use crate::audit::{EventKind, Outcome};
use crate::error::{AuthError, FieldError};
use crate::mail::MailMessage;
use crate::store::{NewUser, StoreError};
use crate::token::TokenKind;

use crate::service::{Auth, ClientMeta};
use crate::token::service::MailBucket;

/// What a new account needs.
#[derive(Debug)]
pub struct Registration<'a> {
    pub email: &'a str,
    pub password: &'a Password,
    /// Accounts made by an operator are verified and may be admins.
    pub verified: bool,
    pub admin: bool,
}

/// How a registration ended.
#[derive(Debug)]
pub enum Registered {
    /// A new account; a verification link was mailed unless it was made verified.
    Created(User),
    /// The address was taken and `email.require_verification` is on: its owner was
    /// mailed a notice, and the caller must answer exactly as for a new account.
    AddressInUse,
}

impl Auth {
    /// Validates and stores a new account.
    pub async fn register(
        &self,
        reg: Registration<'_>,
        client: &ClientMeta,
    ) -> Result<Registered, AuthError> {
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
        let id = UserId::new();
        let admin = [crate::groups::GroupName::admin()];
        let new = NewUser {
            id,
            email: email.as_str(),
            email_canonical: email.canonical(),
            password_hash: &hash,
            email_verified: reg.verified,
            groups: if reg.admin { &admin } else { &[] },
            created_at: self.clock.now(),
        };
        let verification = if reg.verified {
            None
        } else {
            let ttl = self.config.email.verification_ttl;
            let (token, row) = self.mint_token(TokenKind::VerifyEmail, id, None, ttl);
            let message = MailMessage::VerifyEmail { token: &token, expires_in: ttl };
            Some((row, self.mail_to_address(&email, Some(id), &message)?))
        };
        let data = serde_json::json!({"via": "registration"});
        let event = self.webhook_event(crate::webhooks::EventType::UserCreated, id, email.as_str(), data);
        match self.store.create_user(new, verification.as_ref().map(|(t, m)| (t, m)), Some(&event)).await {
            Ok(user) => {
                if verification.is_some() {
                    self.mail_queued();
                    // The first link counts against the verification-mail limit.
                    let limit = self.config.email.verification_limit;
                    if let Err(e) = self.count_mail(MailBucket::Verification(user.id), limit).await {
                        tracing::warn!(error = %e, "the first verification mail was not counted");
                    }
                }
                self.audit(EventKind::Register, Outcome::Success, Some(user.id), client, None).await;
                self.webhook_queued();
                Ok(Registered::Created(user))
            }
            Err(StoreError::Conflict(_)) if self.config.email.require_verification && !reg.verified => {
                self.notify_address_in_use(email, client.clone());
                Ok(Registered::AddressInUse)
            }
            Err(StoreError::Conflict(_)) => Err(AuthError::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Tells the owner of `email` that someone tried to use it, in the background so
    /// the answer takes as long as for a new account.
    fn notify_address_in_use(&self, email: Email, client: ClientMeta) {
        let auth = self.clone();
        tokio::spawn(async move {
            let notify = async {
                let Some(owner) = auth.store.find_credentials_by_email(email.canonical()).await? else {
                    return Ok(());
                };
                let limit = auth.config.email.recipient_limit;
                if auth.count_mail(MailBucket::Recipient(email.canonical()), limit).await?.is_some() {
                    tracing::info!(user_id = %owner.user.id, "address-in-use notice not sent: per-recipient limit");
                    return Ok(());
                }
                let notice = auth.mail_to(&owner.user, &MailMessage::AddressInUse)?;
                auth.store.enqueue_mail(&notice).await?;
                auth.mail_queued();
                let detail = Some("email_taken");
                auth.audit(EventKind::Register, Outcome::Failure, Some(owner.user.id), &client, detail).await;
                Ok::<_, AuthError>(())
            };
            if let Err(e) = notify.await {
                tracing::error!(error = %e, "could not mail the address-in-use notice");
            }
        });
    }
}
