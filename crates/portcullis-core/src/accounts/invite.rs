//! Invitations (SPEC §8): an administrator (the CLI, later the admin API) makes an
//! account with no password, in its groups, and mails it a single-use link; the
//! link sets the first password, verifies the address and signs in. Until then the
//! stored hash is [`INVITED_PASSWORD_HASH`]: no password signs in, and "forgot
//! password" sends the invitation again instead of a reset link.

use time::Duration;

use crate::accounts::email::Email;
use crate::accounts::password::Password;
use crate::accounts::user::{INVITED_PASSWORD_HASH, User, UserId};
use crate::audit::{EventKind, Outcome};
use crate::error::{AuthError, FieldError};
use crate::groups::GroupName;
use crate::mail::MailMessage;
use crate::service::{Auth, ClientMeta};
use crate::sessions::SignIn;
use crate::sessions::login::LoginOutcome;
use crate::store::{NewUser, StoreError};
use crate::token::{SecretToken, TokenKind};

/// How long an invitation link works (SPEC §8).
pub const INVITATION_TTL: Duration = Duration::days(7);

impl Auth {
    /// Makes an unverified account for `email` with no password, in `groups`, and
    /// mails it an invitation link, all in one transaction. Every group must exist
    /// (else `Validation` on the field `groups`, and nothing is made); a taken
    /// address is `EmailTaken`. Audited as `invitation_sent` with the actor, and
    /// each membership as `group_member_added`, like any other.
    pub async fn invite_user(
        &self,
        email: &str,
        groups: &[String],
        by: impl Into<crate::audit::ActedBy>,
    ) -> Result<User, AuthError> {
        let by = by.into();
        let actor = by.actor;
        let email = Email::parse(email).map_err(|e| {
            AuthError::Validation(vec![FieldError::new("email", "invalid_email", e.to_string())])
        })?;
        let groups = self.existing_groups(groups).await?;
        let id = UserId::new();
        let (token, row) = self.mint_token(TokenKind::Invite, id, None, INVITATION_TTL);
        let message = MailMessage::Invitation { token: &token, expires_in: INVITATION_TTL };
        let mail = self.mail_to_address(&email, Some(id), &message)?;
        let new = NewUser {
            id,
            email: email.as_str(),
            email_canonical: email.canonical(),
            password_hash: INVITED_PASSWORD_HASH,
            email_verified: false,
            groups: &groups,
            created_at: self.clock.now(),
        };
        let names: Vec<&str> = groups.iter().map(GroupName::as_str).collect();
        let data = serde_json::json!({"via": "invitation", "groups": names});
        let event = self.webhook_event(crate::webhooks::EventType::UserCreated, id, email.as_str(), data);
        let user = match self.store.create_user(new, Some((&row, &mail)), Some(&event)).await {
            Ok(user) => user,
            Err(StoreError::Conflict(_)) => return Err(AuthError::EmailTaken),
            Err(e) => return Err(e.into()),
        };
        self.mail_queued();
        let detail = match groups.as_slice() {
            [] => format!("actor={actor}"),
            names => format!("actor={actor} groups={}", join(names)),
        };
        self.audit_by(&by, EventKind::InvitationSent, Some(user.id), Some(&detail)).await;
        for group in &groups {
            let detail = format!("group={group} actor={actor}");
            self.audit_by(&by, EventKind::GroupMemberAdded, Some(user.id), Some(&detail)).await;
        }
        self.webhook_queued();
        Ok(user)
    }

    /// The groups named, sorted and without repeats, if every one exists.
    async fn existing_groups(&self, names: &[String]) -> Result<Vec<GroupName>, AuthError> {
        let mut found = Vec::with_capacity(names.len());
        for raw in names {
            let unknown = || {
                AuthError::Validation(vec![FieldError::new(
                    "groups",
                    "unknown_group",
                    format!("no group named {raw:?}"),
                )])
            };
            let name = GroupName::parse(raw).ok_or_else(unknown)?;
            if self.store.find_group(&name).await?.is_none() {
                return Err(unknown());
            }
            found.push(name);
        }
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }

    /// The invited user whose link `raw` is, if the link can still be used (for the
    /// page that asks for the password). Unknown, used, expired and replaced links,
    /// and links of accounts disabled or no longer invited, are `InvalidToken`.
    pub async fn check_invitation(&self, raw: &str) -> Result<User, AuthError> {
        self.invitation(raw).await.map(|(_, user)| user)
    }

    async fn invitation(&self, raw: &str) -> Result<(SecretToken, User), AuthError> {
        let (token, stored) = self.usable_token(raw, &[TokenKind::Invite]).await?;
        let creds =
            self.store.find_credentials_by_id(stored.user_id).await?.ok_or(AuthError::InvalidToken)?;
        if creds.password_hash != INVITED_PASSWORD_HASH || creds.user.disabled {
            return Err(AuthError::InvalidToken);
        }
        Ok((token, creds.user))
    }

    /// Accepts an invitation: the link is spent, `password` (the policy of §5)
    /// becomes the account's first one, the address counts as verified, and the
    /// user is signed in with a fresh session. Audited as `invitation_accepted`,
    /// then `login_succeeded` (detail `invitation`).
    pub async fn accept_invitation(
        &self,
        raw: &str,
        password: &Password,
        client: &ClientMeta,
    ) -> Result<LoginOutcome, AuthError> {
        let (token, user) = self.invitation(raw).await?;
        self.config
            .password_policy
            .check(password, "password", &[&user.email])
            .map_err(|e| AuthError::Validation(vec![e]))?;
        let hash = self.hasher.hash(password).await.map_err(AuthError::internal)?;
        let data = serde_json::json!({"via": "invitation"});
        let event =
            self.webhook_event(crate::webhooks::EventType::UserEmailVerified, user.id, &user.email, data);
        if self.store.accept_invitation(token.hash(), &hash, self.clock.now(), Some(&event)).await?.is_none()
        {
            // Spent (or replaced) by a concurrent request between the check and now.
            return Err(AuthError::InvalidToken);
        }
        // Sign-in attempts made while invited may have locked the account; the
        // link proves control of the mailbox, as a reset does.
        if let Ok(email) = Email::parse(&user.email) {
            self.store.reset_throttle(&format!("login:account:{}", email.canonical())).await?;
        }
        self.security_state_changed();
        self.audit(EventKind::InvitationAccepted, Outcome::Success, Some(user.id), client, None).await;
        self.webhook_queued();
        let user = User { email_verified: true, invited: false, ..user };
        let outcome = self.open_session(user, false, client, SignIn::Password, None).await?;
        let detail = Some("invitation");
        self.audit(EventKind::LoginSucceeded, Outcome::Success, Some(outcome.user.id), client, detail).await;
        self.observe(|o| o.login("success"));
        Ok(outcome)
    }

    /// Mails `user` (still invited) a new invitation link, which replaces the older
    /// ones; for "forgot password", whose per-account limit the caller applied.
    pub(crate) async fn send_invitation_again(
        &self,
        user: &User,
        client: &ClientMeta,
    ) -> Result<(), AuthError> {
        let (token, row) = self.mint_token(TokenKind::Invite, user.id, None, INVITATION_TTL);
        let mail =
            self.mail_to(user, &MailMessage::Invitation { token: &token, expires_in: INVITATION_TTL })?;
        self.store.replace_token(&row, &mail).await?;
        self.mail_queued();
        let detail = Some("forgot_password");
        self.audit(EventKind::InvitationSent, Outcome::Success, Some(user.id), client, detail).await;
        Ok(())
    }
}

/// `a,b,c`.
fn join(names: &[GroupName]) -> String {
    names.iter().map(GroupName::as_str).collect::<Vec<_>>().join(",")
}
