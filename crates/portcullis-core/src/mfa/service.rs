//! TOTP multi-factor authentication: enrolment confirmed by a first code, sign-in's
//! second step (TOTP or a single-use recovery code, throttled like passwords, never
//! the same TOTP step twice), recovery-code regeneration, and turning it off.

use time::Duration;

use crate::accounts::password::Password;
use crate::accounts::user::User;
use crate::audit::{EventKind, Outcome};
use crate::error::AuthError;
use crate::mfa;
use crate::service::{Authenticated, LoginOutcome};
use crate::sessions::Session;

use crate::service::{Auth, ClientMeta};

/// How recent a sign-in must be for a sensitive change without the password.
pub const RECENT_SIGN_IN: Duration = crate::service::REAUTH_WINDOW;

/// What an authenticator app needs to enrol.
#[derive(Clone)]
pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment([redacted])")
    }
}

/// How a sensitive change is confirmed.
#[derive(Debug, Default)]
pub struct Confirmation<'a> {
    pub password: Option<&'a Password>,
    pub code: Option<&'a str>,
}

impl Auth {
    /// Whether the session signed in within the last ten minutes.
    pub fn recently_authenticated(&self, session: &Session) -> bool {
        self.clock.now() - session.authenticated_at <= crate::service::REAUTH_WINDOW
    }

    /// A sensitive change needs the current password, or a sign-in within ten
    /// minutes; with MFA on, a current code also counts.
    pub async fn reauthenticate(
        &self,
        me: &Authenticated,
        confirm: &Confirmation<'_>,
        client: &ClientMeta,
    ) -> Result<(), AuthError> {
        if let (None, Some(code)) = (confirm.password, confirm.code) {
            return self.verify_second_factor(&me.user, code, client).await;
        }
        self.confirm_identity(me, confirm.password, EventKind::MfaFailed, client).await
    }

    /// Starts an enrolment: a new secret, shown once, active after `mfa_confirm`.
    pub async fn mfa_begin(&self, user: &User) -> Result<Enrolment, AuthError> {
        if user.mfa_enabled {
            return Err(AuthError::Conflict {
                code: "mfa_already_enabled",
                message: "two-factor authentication is already on",
            });
        }
        let secret = mfa::new_secret();
        self.store.totp_begin(user.id, &self.secret_box.seal(&secret), self.clock.now()).await?;
        let totp = mfa::totp(&secret, "Portcullis", &user.email);
        let uri = mfa::otpauth_uri(&totp);
        Ok(Enrolment { secret: mfa::secret_base32(&secret), qr_svg: mfa::qr_svg(&uri), otpauth_uri: uri })
    }

    /// Confirms the enrolment with a first valid code; returns the ten recovery codes
    /// (shown once, stored hashed).
    pub async fn mfa_confirm(
        &self,
        user: &User,
        code: &str,
        client: &ClientMeta,
    ) -> Result<Vec<String>, AuthError> {
        let record = self.store.totp(user.id).await?;
        let Some(record) = record.filter(|r| !r.confirmed) else {
            return Err(AuthError::Conflict {
                code: "no_pending_enrolment",
                message: "start the enrolment first",
            });
        };
        let secret = self.secret_box.open(&record.sealed_secret).ok_or(AuthError::InvalidCode)?;
        let totp = mfa::totp(&secret, "Portcullis", &user.email);
        let Some(step) = mfa::check(&totp, code, self.clock.unix()) else {
            self.audit(EventKind::MfaFailed, Outcome::Failure, Some(user.id), client, Some("enrolment"))
                .await;
            return Err(AuthError::InvalidCode);
        };
        let codes = mfa::new_recovery_codes();
        let hashes: Vec<[u8; 32]> = codes.iter().map(|c| mfa::recovery_hash(c)).collect();
        let data = serde_json::json!({"method": "totp"});
        let event =
            self.webhook_event(crate::webhooks::EventType::UserMfaEnabled, user.id, &user.email, data);
        self.store.totp_confirm(user.id, step, &hashes, Some(&event)).await?;
        self.webhook_queued();
        self.security_state_changed();
        self.audit(EventKind::MfaEnabled, Outcome::Success, Some(user.id), client, None).await;
        Ok(codes)
    }

    /// Checks a TOTP or recovery code for `user`, throttled per user like passwords.
    pub(crate) async fn verify_second_factor(
        &self,
        user: &User,
        code: &str,
        client: &ClientMeta,
    ) -> Result<(), AuthError> {
        if !user.mfa_enabled {
            return Err(AuthError::InvalidCode);
        }
        let bucket = format!("mfa:user:{}", user.id);
        let hit = self.limit(&bucket, self.config.rate_limits.mfa, true).await?;
        let ok = if mfa::looks_like_recovery_code(code) {
            let spent =
                self.store.use_recovery_code(user.id, &mfa::recovery_hash(code), self.clock.now()).await?;
            if spent {
                self.audit(EventKind::RecoveryCodeUsed, Outcome::Success, Some(user.id), client, None).await;
            }
            spent
        } else {
            let record = self.store.totp(user.id).await?.filter(|r| r.confirmed);
            let secret = record.and_then(|r| self.secret_box.open(&r.sealed_secret));
            match secret
                .and_then(|s| mfa::check(&mfa::totp(&s, "Portcullis", &user.email), code, self.clock.unix()))
            {
                // Atomic: a code (or an older one) already used fails here.
                Some(step) => self.store.totp_use_step(user.id, step).await?,
                None => false,
            }
        };
        if ok {
            if hit.is_some() {
                self.store.reset_throttle(&bucket).await?;
            }
            Ok(())
        } else {
            self.audit(EventKind::MfaFailed, Outcome::Failure, Some(user.id), client, Some("invalid_code"))
                .await;
            Err(AuthError::InvalidCode)
        }
    }

    /// The second step of a sign-in: the half-authenticated session is replaced by a
    /// full one with a new id.
    pub async fn complete_mfa_login(
        &self,
        pending: &Authenticated,
        code: &str,
        client: &ClientMeta,
    ) -> Result<LoginOutcome, AuthError> {
        self.verify_second_factor(&pending.user, code, client).await?;
        self.store.delete_session(pending.token_hash).await?;
        let outcome = self
            .open_session(
                User::clone(&pending.user),
                pending.session.remember,
                client,
                crate::sessions::SignIn::TwoFactor,
                None,
            )
            .await?;
        self.security_state_changed();
        self.audit(EventKind::LoginSucceeded, Outcome::Success, Some(outcome.user.id), client, Some("mfa"))
            .await;
        self.observe(|o| o.login("success"));
        Ok(outcome)
    }

    /// New recovery codes; the old set stops working.
    pub async fn regenerate_recovery_codes(
        &self,
        me: &Authenticated,
        confirm: &Confirmation<'_>,
        client: &ClientMeta,
    ) -> Result<Vec<String>, AuthError> {
        if !me.user.mfa_enabled {
            return Err(AuthError::Conflict {
                code: "mfa_not_enabled",
                message: "two-factor authentication is off",
            });
        }
        self.reauthenticate(me, confirm, client).await?;
        let codes = mfa::new_recovery_codes();
        let hashes: Vec<[u8; 32]> = codes.iter().map(|c| mfa::recovery_hash(c)).collect();
        self.store.replace_recovery_codes(me.user.id, &hashes).await?;
        Ok(codes)
    }

    pub async fn recovery_codes_left(&self, user: &User) -> Result<i64, AuthError> {
        Ok(self.store.recovery_codes_left(user.id).await?)
    }

    /// Turns MFA off; needs the password or a current code (a recent sign-in is not
    /// enough for this one).
    pub async fn mfa_disable(
        &self,
        me: &Authenticated,
        confirm: &Confirmation<'_>,
        client: &ClientMeta,
    ) -> Result<(), AuthError> {
        if !me.user.mfa_enabled {
            return Err(AuthError::Conflict {
                code: "mfa_not_enabled",
                message: "two-factor authentication is off",
            });
        }
        if confirm.password.is_none() && confirm.code.is_none() {
            return Err(AuthError::ReauthRequired);
        }
        self.reauthenticate(me, confirm, client).await?;
        let data = serde_json::json!({"by": "user"});
        let event =
            self.webhook_event(crate::webhooks::EventType::UserMfaDisabled, me.user.id, &me.user.email, data);
        self.store.mfa_disable(me.user.id, Some(&event)).await?;
        self.webhook_queued();
        self.notify(&me.user, &crate::mail::MailMessage::MfaDisabled).await;
        self.security_state_changed();
        self.audit(EventKind::MfaDisabled, Outcome::Success, Some(me.user.id), client, None).await;
        Ok(())
    }

    /// Queues a notice to the user; a failure is logged, the change stands.
    pub(crate) async fn notify(&self, user: &User, message: &crate::mail::MailMessage<'_>) {
        let queued = match self.mail_to(user, message) {
            Ok(mail) => self.store.enqueue_mail(&mail).await.map_err(AuthError::from),
            Err(e) => Err(e),
        };
        match queued {
            Ok(()) => self.mail_queued(),
            Err(e) => tracing::error!(error = %e, user_id = %user.id, "could not queue a notice"),
        }
    }
}
