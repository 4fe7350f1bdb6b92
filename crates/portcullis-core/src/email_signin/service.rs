//! The use cases of signing in by email: asking for a link and code (the same
//! answer whatever the address), and signing in with either.

use crate::accounts::email::Email;
use crate::accounts::user::INVITED_PASSWORD_HASH;
use crate::audit::{EventKind, Outcome};
use crate::email_signin::{EMAIL_SIGNIN_TTL, EmailProof, MAX_CODE_ATTEMPTS, NewEmailSignIn, SignInCode};
use crate::error::AuthError;
use crate::mail::MailMessage;
use crate::service::{Auth, ClientMeta};
use crate::sessions::SignIn;
use crate::sessions::login::LoginOutcome;
use crate::token::SecretToken;

impl Auth {
    /// Whether `auth.email_signin` is on.
    pub fn email_signin_enabled(&self) -> bool {
        self.config.email_signin
    }

    fn require_email_signin(&self) -> Result<(), AuthError> {
        if self.config.email_signin { Ok(()) } else { Err(AuthError::NotFound) }
    }

    /// Mails a sign-in link and code when `email` belongs to an enabled account.
    /// Throttled per client address and per address typed (known or not, each in
    /// one atomic step of the store); the work after that happens in the
    /// background, so the answer is the same whatever the address.
    pub async fn request_email_signin(&self, email: &str, client: &ClientMeta) -> Result<(), AuthError> {
        self.require_email_signin()?;
        let limits = self.config.rate_limits;
        if let Some(ip) = &client.ip {
            self.limit(&format!("email_signin:ip:{ip}"), limits.email_signin_per_ip, false).await?;
        }
        let Ok(email) = Email::parse(email) else { return Ok(()) };
        let bucket = format!("email_signin:address:{}", email.canonical());
        self.limit(&bucket, limits.email_signin_per_address, false).await?;
        let (auth, client) = (self.clone(), client.clone());
        tokio::spawn(async move {
            if let Err(e) = auth.send_email_signin(&email, &client).await {
                tracing::error!(error = %e, "could not queue a sign-in mail");
            }
        });
        Ok(())
    }

    async fn send_email_signin(&self, email: &Email, client: &ClientMeta) -> Result<(), AuthError> {
        let Some(creds) = self.store.find_credentials_by_email(email.canonical()).await? else {
            return Ok(());
        };
        // An invited account chooses its password through its invitation first.
        if creds.user.disabled || creds.password_hash == INVITED_PASSWORD_HASH {
            return Ok(());
        }
        let user = creds.user;
        let (token, code) = (SecretToken::generate(), SignInCode::generate());
        let now = self.clock.now();
        let request = NewEmailSignIn {
            user_id: user.id,
            token_hash: token.hash(),
            code_hash: code.hash(user.id),
            created_at: now,
            expires_at: now + EMAIL_SIGNIN_TTL,
        };
        let message = MailMessage::EmailSignIn { token: &token, code: &code, expires_in: EMAIL_SIGNIN_TTL };
        let mail = self.mail_to(&user, &message)?;
        self.store.replace_email_signin(&request, &mail).await?;
        self.mail_queued();
        self.audit(EventKind::EmailSignInRequested, Outcome::Success, Some(user.id), client, None).await;
        Ok(())
    }

    /// Whether `raw` is the token of a sign-in link that still works (the confirm
    /// page asks before anything is spent: mail scanners follow links).
    pub async fn check_email_signin_link(&self, raw: &str) -> Result<(), AuthError> {
        self.require_email_signin()?;
        let token = SecretToken::parse(raw.trim()).ok_or(AuthError::InvalidToken)?;
        match self.store.find_email_signin(token.hash(), self.clock.now()).await? {
            Some(_) => Ok(()),
            None => Err(AuthError::InvalidToken),
        }
    }

    /// Signs in with a mailed link or code: the request is spent and the address
    /// verified. One factor: an account with a second factor gets a
    /// half-authenticated session, as after a password.
    pub async fn email_signin(
        &self,
        proof: EmailProof<'_>,
        remember: bool,
        client: &ClientMeta,
    ) -> Result<LoginOutcome, AuthError> {
        self.require_email_signin()?;
        let now = self.clock.now();
        let user_id = match proof {
            EmailProof::Link(raw) => {
                let token = SecretToken::parse(raw.trim()).ok_or(AuthError::InvalidToken)?;
                let owner =
                    self.store.find_email_signin(token.hash(), now).await?.ok_or(AuthError::InvalidToken)?;
                let owner = self.store.find_credentials_by_id(owner).await?.ok_or(AuthError::InvalidToken)?;
                let event = self.verified_by_email_signin(&owner.user);
                let spent = self.store.spend_email_signin(token.hash(), now, event.as_ref()).await?;
                let user = spent.ok_or(AuthError::InvalidToken)?;
                if event.is_some() {
                    self.webhook_queued();
                }
                user
            }
            EmailProof::Code { email, code } => self.spend_by_code(email, code, client).await?,
        };
        let creds = self.store.find_credentials_by_id(user_id).await?.ok_or(AuthError::InvalidToken)?;
        self.security_state_changed();
        let user = creds.user;
        if user.disabled {
            return Err(AuthError::AccountDisabled);
        }
        if user.mfa_enabled {
            return self.open_session(user, remember, client, SignIn::Pending, None).await;
        }
        let outcome = self.open_session(user, remember, client, SignIn::Password, None).await?;
        self.audit(EventKind::LoginSucceeded, Outcome::Success, Some(outcome.user.id), client, Some("email"))
            .await;
        self.observe(|o| o.login("success"));
        Ok(outcome)
    }

    /// Checks a mailed code, throttled per address like second-factor codes; every
    /// try is counted against the request first, so at most five are ever compared.
    async fn spend_by_code(
        &self,
        email: &str,
        code: &str,
        client: &ClientMeta,
    ) -> Result<crate::accounts::user::UserId, AuthError> {
        let Ok(email) = Email::parse(email) else { return Err(AuthError::InvalidCode) };
        let bucket = format!("email_signin:code:{}", email.canonical());
        let hit = self.limit(&bucket, self.config.rate_limits.mfa, true).await?;
        let Some(creds) = self.store.find_credentials_by_email(email.canonical()).await? else {
            return Err(AuthError::InvalidCode);
        };
        let user = creds.user.id;
        let Some(code) = SignInCode::parse(code) else { return Err(AuthError::InvalidCode) };
        let now = self.clock.now();
        let Some(attempt) = self.store.claim_email_signin_code(user, now, MAX_CODE_ATTEMPTS).await? else {
            return Err(AuthError::InvalidCode);
        };
        // `TokenHash` compares in constant time.
        if code.hash(user) != attempt.code_hash {
            self.audit(
                EventKind::EmailSignInFailed,
                Outcome::Failure,
                Some(user),
                client,
                Some("invalid_code"),
            )
            .await;
            return Err(AuthError::InvalidCode);
        }
        let event = self.verified_by_email_signin(&creds.user);
        let spent = self.store.spend_email_signin(attempt.token_hash, now, event.as_ref()).await?;
        let user = spent.ok_or(AuthError::InvalidCode)?;
        if event.is_some() {
            self.webhook_queued();
        }
        if hit.is_some() {
            self.store.reset_throttle(&bucket).await?;
        }
        Ok(user)
    }

    /// The `user.email_verified` a sign-in by email writes when it verifies the
    /// address (the store writes it only if the address was not verified yet).
    fn verified_by_email_signin(
        &self,
        user: &crate::accounts::user::User,
    ) -> Option<crate::webhooks::WebhookEvent> {
        (!user.email_verified).then(|| {
            let data = serde_json::json!({"via": "email_signin"});
            self.webhook_event(crate::webhooks::EventType::UserEmailVerified, user.id, &user.email, data)
        })
    }

    /// Deletes sign-in requests that expired.
    pub async fn purge_expired_email_signins(&self) -> Result<u64, AuthError> {
        Ok(self.store.purge_email_signins(self.clock.now()).await?)
    }
}
