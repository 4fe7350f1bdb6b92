//! Signing in with email and password. Unknown emails cost the same hash as known
//! ones and get the same error.

use crate::accounts::email::Email;
use crate::accounts::password::Password;
use crate::accounts::store::Rehash;
use crate::accounts::user::{INVITED_PASSWORD_HASH, User, has_no_password};
use crate::audit::{EventKind, Outcome};
use crate::error::AuthError;
use crate::sessions::{Session, SignIn};
use crate::store::NewSession;
use crate::token::SecretToken;

use crate::service::{Auth, ClientMeta};

/// A successful sign-in: the new session and the cookie value that names it.
#[derive(Debug)]
pub struct LoginOutcome {
    pub user: User,
    pub token: SecretToken,
    pub session: Session,
}

impl Auth {
    /// Checks the credentials and opens a fresh session (a new id every time).
    pub async fn login(
        &self,
        email: &str,
        password: &Password,
        remember: bool,
        client: &ClientMeta,
    ) -> Result<LoginOutcome, AuthError> {
        let PasswordOk { user, rehash } = self.verify_login(email, password, client).await?;
        if user.mfa_enabled {
            // Half-authenticated until the second factor: the sign-in completes in
            // `complete_mfa_login`, with a new session id.
            return self.open_session(user, remember, client, SignIn::Pending, rehash.as_ref()).await;
        }
        let outcome = self.open_session(user, remember, client, SignIn::Password, rehash.as_ref()).await?;
        self.audit(EventKind::LoginSucceeded, Outcome::Success, Some(outcome.user.id), client, None).await;
        self.observe(|o| o.login("success"));
        Ok(outcome)
    }

    /// The password step of every sign-in (pages, API, tokens): throttled per
    /// account and address, failures audited. The hash to store instead of the
    /// user's, if any, is for the transaction that records the sign-in.
    pub(crate) async fn verify_login(
        &self,
        email: &str,
        password: &Password,
        client: &ClientMeta,
    ) -> Result<PasswordOk, AuthError> {
        let hits = match self.throttle_login(email, client).await {
            Ok(hits) => hits,
            Err(e) => {
                self.observe(|o| o.login("throttled"));
                return Err(e);
            }
        };
        let user = match self.check_password(email, password).await {
            Ok(user) => user,
            Err(Failed { user, reason, error }) => {
                if !matches!(reason, "store" | "hash") {
                    self.audit(EventKind::LoginFailed, Outcome::Failure, user, client, Some(reason)).await;
                    self.observe(|o| o.login("failure"));
                }
                return Err(error);
            }
        };
        self.release_login(hits).await;
        Ok(user)
    }

    /// Verifies email and password; the same error, at the same cost, for every failure
    /// that could reveal whether the account exists.
    async fn check_password(&self, email: &str, password: &Password) -> Result<PasswordOk, Failed> {
        let fail = |user: Option<&User>, reason, error| Failed { user: user.map(|u| u.id), reason, error };
        if !password.within_max_length() {
            return Err(fail(None, "password_too_long", AuthError::InvalidCredentials));
        }
        let creds = match Email::parse(email) {
            Ok(email) => self
                .store
                .find_credentials_by_email(email.canonical())
                .await
                .map_err(|e| fail(None, "store", e.into()))?,
            Err(_) => None,
        };
        let Some(creds) = creds else {
            self.hasher
                .verify_dummy(password)
                .await
                .map_err(|e| fail(None, "hash", AuthError::internal(e)))?;
            return Err(fail(None, "unknown_email", AuthError::InvalidCredentials));
        };
        let user = Some(&creds.user);
        if has_no_password(&creds.password_hash) {
            // No password yet (SPEC §8, §9, §10): the answer of a wrong password, after
            // the same work (a marker is no hash, so verifying it would cost nothing).
            self.hasher
                .verify_dummy(password)
                .await
                .map_err(|e| fail(user, "hash", AuthError::internal(e)))?;
            let reason = if creds.password_hash == INVITED_PASSWORD_HASH { "invited" } else { "no_password" };
            return Err(fail(user, reason, AuthError::InvalidCredentials));
        }
        let verified = self
            .hasher
            .verify(password, &creds.password_hash)
            .await
            .map_err(|e| fail(user, "hash", AuthError::internal(e)))?;
        if !verified.ok {
            return Err(fail(user, "wrong_password", AuthError::InvalidCredentials));
        }
        if creds.user.disabled {
            return Err(fail(user, "account_disabled", AuthError::AccountDisabled));
        }
        if self.config.email.require_verification && !creds.user.email_verified {
            // Only after the right password: the answer reveals nothing to a guesser.
            return Err(fail(user, "email_unverified", AuthError::EmailUnverified));
        }
        let rehash = if verified.needs_rehash {
            let new =
                self.hasher.hash(password).await.map_err(|e| fail(user, "hash", AuthError::internal(e)))?;
            Some(Rehash { user: creds.user.id, old: creds.password_hash, new })
        } else {
            None
        };
        Ok(PasswordOk { user: creds.user, rehash })
    }

    pub(crate) async fn open_session(
        &self,
        user: User,
        remember: bool,
        client: &ClientMeta,
        stage: SignIn,
        rehash: Option<&Rehash>,
    ) -> Result<LoginOutcome, AuthError> {
        let now = self.clock.now();
        let mfa_pending = stage == SignIn::Pending;
        let (idle, absolute) = if mfa_pending {
            (crate::sessions::MFA_PENDING_LIFETIME, crate::sessions::MFA_PENDING_LIFETIME)
        } else {
            self.config.session_policy.lifetimes(remember)
        };
        let token = SecretToken::generate();
        let session = Session {
            id: uuid::Uuid::new_v4(),
            user_id: user.id,
            created_at: now,
            last_seen_at: now,
            expires_at: now + absolute,
            idle_timeout: idle,
            remember,
            authenticated_at: now,
            ip: client.ip.clone(),
            user_agent: client.user_agent.as_deref().map(|ua| truncate(ua, 512)),
            mfa_pending,
            two_factor: stage == SignIn::TwoFactor,
        };
        self.store.create_session(NewSession { token_hash: token.hash(), session: &session, rehash }).await?;
        if rehash.is_some() {
            tracing::info!(user_id = %user.id, "password hash replaced by Argon2id at the configured cost");
        }
        Ok(LoginOutcome { user, token, session })
    }
}

/// A password step that succeeded: the user, and the Argon2id hash that replaces
/// an imported one or one at another cost in the sign-in's transaction.
pub(crate) struct PasswordOk {
    pub(crate) user: User,
    pub(crate) rehash: Option<Rehash>,
}

/// Why a password check failed: the error to answer with, and what to record.
struct Failed {
    user: Option<crate::accounts::user::UserId>,
    reason: &'static str,
    error: AuthError,
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}
