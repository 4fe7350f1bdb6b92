//! Changing the address: a link to the new address confirms it, the old address is
//! then told and can undo it. `use_email_link` also spends verification links, since
//! both arrive at `/verify-email`.

use crate::accounts::email::Email;
use crate::accounts::password::Password;
use crate::audit::{EventKind, Outcome};
use crate::error::{AuthError, FieldError};
use crate::mail::MailMessage;
use crate::store::{NewAddress, StoreError, StoredToken};
use crate::token::{SecretToken, TokenKind};

use crate::service::{Auth, Authenticated, ClientMeta};
use crate::token::service::MailBucket;

/// How long the old address can undo a change.
pub const UNDO_TTL: time::Duration = time::Duration::days(7);

/// What following a link from a mail did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailLinkOutcome {
    /// The address was verified.
    Verified,
    /// The account moved to this address.
    Changed { email: String },
}

fn invalid_new_email(code: &'static str, message: impl Into<String>) -> AuthError {
    AuthError::Validation(vec![FieldError::new("new_email", code, message)])
}

impl Auth {
    /// Mails a confirmation link to `new_email`. Needs the password or a recent
    /// sign-in. When the address already has an account, its owner is told instead
    /// and the answer is the same.
    pub async fn request_email_change(
        &self,
        me: &Authenticated,
        password: Option<&Password>,
        new_email: &str,
        client: &ClientMeta,
    ) -> Result<(), AuthError> {
        self.confirm_identity(me, password, EventKind::EmailChanged, client).await?;
        let new = Email::parse(new_email).map_err(|e| invalid_new_email("invalid_email", e.to_string()))?;
        if new.canonical() == Email::parse(&me.user.email).map_err(AuthError::internal)?.canonical() {
            return Err(invalid_new_email("email_unchanged", "this is already your address"));
        }
        // Counted before anything about the new address is looked at: a taken
        // address costs the same as a free one.
        let limit = self.config.email.change_limit;
        if let Some(retry_after) = self.count_mail(MailBucket::EmailChange(me.user.id), limit).await? {
            return Err(AuthError::RateLimited { retry_after });
        }
        // Either mail goes to an address a stranger chose: capped per recipient,
        // silently, so the answer stays the same.
        let recipient =
            self.count_mail(MailBucket::Recipient(new.canonical()), self.config.email.recipient_limit);
        if recipient.await?.is_some() {
            tracing::info!(user_id = %me.user.id, "email-change mail not sent: per-recipient limit");
            return Ok(());
        }
        if let Some(owner) = self.store.find_credentials_by_email(new.canonical()).await? {
            let notice = self.mail_to(&owner.user, &MailMessage::AddressInUse)?;
            self.store.enqueue_mail(&notice).await?;
            self.mail_queued();
            return Ok(());
        }
        let ttl = self.config.email.change_ttl;
        let (token, row) = self.mint_token(TokenKind::ChangeEmail, me.user.id, Some(new.as_str()), ttl);
        let message = MailMessage::ConfirmEmailChange { token: &token, expires_in: ttl };
        let mail = self.mail_to_address(&new, Some(me.user.id), &message)?;
        self.store.issue_token(&row, &mail).await?;
        self.mail_queued();
        Ok(())
    }

    /// Spends a link from a verification or email-change mail.
    pub async fn use_email_link(
        &self,
        raw: &str,
        client: &ClientMeta,
    ) -> Result<EmailLinkOutcome, AuthError> {
        let kinds = [TokenKind::VerifyEmail, TokenKind::ChangeEmail];
        let (token, stored) = self.usable_token(raw, &kinds).await?;
        if stored.kind == TokenKind::ChangeEmail {
            return self.confirm_email_change(&token, &stored, client).await;
        }
        let owner = self.user_by_id(stored.user_id).await.map_err(|_| AuthError::InvalidToken)?;
        let data = serde_json::json!({"via": "link"});
        let event =
            self.webhook_event(crate::webhooks::EventType::UserEmailVerified, owner.id, &owner.email, data);
        let user = self
            .store
            .verify_email(token.hash(), self.clock.now(), Some(&event))
            .await?
            .ok_or(AuthError::InvalidToken)?;
        self.webhook_queued();
        self.security_state_changed();
        self.audit(EventKind::EmailVerified, Outcome::Success, Some(user), client, None).await;
        Ok(EmailLinkOutcome::Verified)
    }

    async fn confirm_email_change(
        &self,
        token: &SecretToken,
        stored: &StoredToken,
        client: &ClientMeta,
    ) -> Result<EmailLinkOutcome, AuthError> {
        let user =
            self.store.find_credentials_by_id(stored.user_id).await?.ok_or(AuthError::InvalidToken)?.user;
        let new =
            Email::parse(stored.new_email.as_deref().unwrap_or_default()).map_err(AuthError::internal)?;
        let old = Email::parse(&user.email).map_err(AuthError::internal)?;
        let (undo, undo_row) = self.mint_token(TokenKind::RevertEmail, user.id, Some(old.as_str()), UNDO_TTL);
        let message = MailMessage::EmailChanged { new_email: &new, undo: &undo, expires_in: UNDO_TTL };
        let notice = self.mail_to_address(&old, Some(user.id), &message)?;
        let to = NewAddress { email: new.as_str(), email_canonical: new.canonical() };
        let data = serde_json::json!({"previous_email": old.as_str()});
        let event =
            self.webhook_event(crate::webhooks::EventType::UserEmailChanged, user.id, new.as_str(), data);
        match self
            .store
            .change_email(token.hash(), to, self.clock.now(), &undo_row, &notice, Some(&event))
            .await
        {
            Ok(Some(_)) => {}
            Ok(None) => return Err(AuthError::InvalidToken),
            Err(StoreError::Conflict(_)) => return Err(AuthError::EmailTaken),
            Err(e) => return Err(e.into()),
        }
        self.mail_queued();
        self.webhook_queued();
        self.security_state_changed();
        self.audit(EventKind::EmailChanged, Outcome::Success, Some(user.id), client, None).await;
        Ok(EmailLinkOutcome::Changed { email: new.as_str().to_owned() })
    }

    /// The address an undo link would restore, if the link can still be used.
    pub async fn check_undo_token(&self, raw: &str) -> Result<String, AuthError> {
        let (_, stored) = self.usable_token(raw, &[TokenKind::RevertEmail]).await?;
        stored.new_email.ok_or(AuthError::InvalidToken)
    }

    /// Undoes a change of address from the link mailed to the old one: the old
    /// address comes back and every session ends (whoever made the change is out).
    /// Returns the restored address.
    pub async fn undo_email_change(&self, raw: &str, client: &ClientMeta) -> Result<String, AuthError> {
        let (token, stored) = self.usable_token(raw, &[TokenKind::RevertEmail]).await?;
        let old =
            Email::parse(stored.new_email.as_deref().unwrap_or_default()).map_err(AuthError::internal)?;
        let to = NewAddress { email: old.as_str(), email_canonical: old.canonical() };
        let data = serde_json::json!({"undone": true});
        let event = self.webhook_event(
            crate::webhooks::EventType::UserEmailChanged,
            stored.user_id,
            old.as_str(),
            data,
        );
        let user = match self.store.revert_email(token.hash(), to, self.clock.now(), Some(&event)).await {
            Ok(Some(user)) => user,
            Ok(None) => return Err(AuthError::InvalidToken),
            Err(StoreError::Conflict(_)) => return Err(AuthError::EmailTaken),
            Err(e) => return Err(e.into()),
        };
        self.webhook_queued();
        self.security_state_changed();
        self.audit(EventKind::EmailChanged, Outcome::Success, Some(user), client, Some("undone")).await;
        Ok(old.as_str().to_owned())
    }
}
