//! Passkeys: adding one to an account (a sensitive change), passwordless sign-in
//! with a discoverable credential, a passkey instead of a TOTP code at the second
//! step of a password sign-in, renaming and removing. Ceremony state lives in the
//! database under the hash of its challenge (any node may finish it, once).

use uuid::Uuid;
use webauthn_rs::Webauthn;
use webauthn_rs::prelude::{Passkey, PasskeyAuthentication, PasskeyRegistration};
use webauthn_rs_proto::ResidentKeyRequirement;

use crate::accounts::password::Password;
use crate::accounts::user::User;
use crate::audit::{EventKind, Outcome};
use crate::error::{AuthError, FieldError};
use crate::mail::MailMessage;
use crate::passkeys::{
    CEREMONY_LIFETIME, Ceremony, CeremonyKind, CreationChallengeResponse, MAX_NAME_CHARS, PasskeyRecord,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, challenge_hash, challenge_of,
};
use crate::store::StoreError;
use crate::throttle::Limit;
use crate::token::TokenHash;

use crate::service::{Auth, Authenticated, ClientMeta, LoginOutcome};

/// Ceremonies one client address may start per minute (anonymous sign-in starts
/// write a row each; this bounds that).
const STARTS_PER_IP: Limit = Limit::new(60, time::Duration::minutes(1));

/// How a passkey sign-in went in: alone, or as the second step of a password sign-in.
#[derive(Debug)]
pub struct PasskeyLogin {
    pub outcome: LoginOutcome,
    pub second_factor: bool,
}

impl Auth {
    /// Whether passkeys are on (the public URL has a host name).
    pub fn passkeys_enabled(&self) -> bool {
        self.webauthn.is_some()
    }

    fn webauthn(&self) -> Result<&Webauthn, AuthError> {
        self.webauthn.as_ref().map(|rp| rp.0.as_ref()).ok_or(AuthError::PasskeysOff)
    }

    pub async fn list_passkeys(&self, user: &User) -> Result<Vec<PasskeyRecord>, AuthError> {
        Ok(self.store.list_passkeys(user.id).await?)
    }

    /// Starts adding a passkey: a sensitive change (password, or a sign-in within
    /// ten minutes). The options ask for a discoverable credential with user
    /// verification, and exclude the user's existing passkeys.
    pub async fn passkey_register_start(
        &self,
        me: &Authenticated,
        password: Option<&Password>,
        client: &ClientMeta,
    ) -> Result<CreationChallengeResponse, AuthError> {
        let webauthn = self.webauthn()?;
        self.confirm_identity(me, password, EventKind::PasskeyAdded, client).await?;
        let existing = self.store.list_passkeys(me.user.id).await?;
        let exclude = existing.iter().map(|p| p.credential_id.clone()).collect();
        let (mut options, state) = webauthn
            .start_passkey_registration(me.user.id.as_uuid(), &me.user.email, &me.user.email, Some(exclude))
            .map_err(AuthError::internal)?;
        // Discoverable, so that it can sign in without an email.
        if let Some(sel) = options.public_key.authenticator_selection.as_mut() {
            sel.resident_key = Some(ResidentKeyRequirement::Required);
            sel.require_resident_key = true;
        }
        let state = serde_json::to_string(&state).map_err(AuthError::internal)?;
        let (challenge, binding) = (&options.public_key.challenge, Some(me.token_hash));
        self.save_ceremony(challenge, CeremonyKind::Register, Some(me), binding, state).await?;
        Ok(options)
    }

    /// Finishes adding a passkey named `name`; mails a notice.
    pub async fn passkey_register_finish(
        &self,
        me: &Authenticated,
        name: &str,
        credential: &RegisterPublicKeyCredential,
        client: &ClientMeta,
    ) -> Result<PasskeyRecord, AuthError> {
        let webauthn = self.webauthn()?;
        let name = passkey_name(name)?;
        let ceremony = self.take_ceremony(&credential.response.client_data_json).await?;
        if ceremony.kind != CeremonyKind::Register
            || ceremony.user_id != Some(me.user.id)
            || ceremony.session != Some(me.token_hash)
        {
            return Err(AuthError::InvalidPasskey);
        }
        let state: PasskeyRegistration =
            serde_json::from_str(&ceremony.state).map_err(AuthError::internal)?;
        let passkey = match webauthn.finish_passkey_registration(credential, &state) {
            Ok(p) => p,
            Err(e) => {
                tracing::info!(reason = %e, user_id = %me.user.id, "passkey registration refused");
                self.audit(
                    EventKind::PasskeyAdded,
                    Outcome::Failure,
                    Some(me.user.id),
                    client,
                    Some("refused"),
                )
                .await;
                return Err(AuthError::InvalidPasskey);
            }
        };
        let record = PasskeyRecord {
            id: Uuid::new_v4(),
            user_id: me.user.id,
            credential_id: passkey.cred_id().clone(),
            name,
            sign_count: sign_count(&passkey),
            credential: serde_json::to_string(&passkey).map_err(AuthError::internal)?,
            created_at: self.clock.now(),
            last_used_at: None,
        };
        let notice = self.mail_to(&me.user, &MailMessage::PasskeyAdded { name: &record.name })?;
        match self.store.add_passkey(&record, &notice).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(AuthError::Conflict {
                    code: "passkey_exists",
                    message: "this passkey is registered already",
                });
            }
            Err(e) => return Err(e.into()),
        }
        self.mail_queued();
        self.audit(EventKind::PasskeyAdded, Outcome::Success, Some(me.user.id), client, None).await;
        Ok(record)
    }

    /// Starts a passkey sign-in. With a half-authenticated session (`pending`), the
    /// options name that user's passkeys and finishing completes that sign-in;
    /// without, any discoverable credential may answer, and the ceremony is bound
    /// to `browser` (the hash of a secret the caller gave the browser alone), so it
    /// cannot be finished in another browser.
    pub async fn passkey_login_start(
        &self,
        pending: Option<&Authenticated>,
        browser: TokenHash,
        client: &ClientMeta,
    ) -> Result<RequestChallengeResponse, AuthError> {
        let webauthn = self.webauthn()?;
        if let Some(ip) = &client.ip {
            self.limit(&format!("passkey:ip:{ip}"), STARTS_PER_IP, false).await?;
        }
        let (options, kind, state) = if let Some(pending) = pending {
            let passkeys = self.parsed_passkeys(&pending.user).await?;
            if passkeys.is_empty() {
                return Err(AuthError::Conflict {
                    code: "no_passkeys",
                    message: "this account has no passkey",
                });
            }
            let (options, state) =
                webauthn.start_passkey_authentication(&passkeys).map_err(AuthError::internal)?;
            (options, CeremonyKind::SecondFactor, serde_json::to_string(&state))
        } else {
            let (mut options, state) =
                webauthn.start_discoverable_authentication().map_err(AuthError::internal)?;
            // A button press, not the autofill ("conditional") flow webauthn-rs assumes.
            options.mediation = None;
            (options, CeremonyKind::Login, serde_json::to_string(&state))
        };
        let state = state.map_err(AuthError::internal)?;
        let binding = pending.map_or(browser, |p| p.token_hash);
        self.save_ceremony(&options.public_key.challenge, kind, pending, Some(binding), state).await?;
        Ok(options)
    }

    /// Finishes a passkey sign-in and opens a full session (a new id). `pending`
    /// must be the session that started a second-factor ceremony, `browser` the
    /// binding a passwordless one was started with.
    pub async fn passkey_login_finish(
        &self,
        pending: Option<&Authenticated>,
        browser: Option<TokenHash>,
        credential: &PublicKeyCredential,
        remember: bool,
        client: &ClientMeta,
    ) -> Result<PasskeyLogin, AuthError> {
        let webauthn = self.webauthn()?;
        let ceremony = self.take_ceremony(&credential.response.client_data_json).await?;
        let bound_to_pending = pending
            .is_some_and(|p| ceremony.user_id == Some(p.user.id) && ceremony.session == Some(p.token_hash));
        let second_factor = match ceremony.kind {
            CeremonyKind::Login if browser.is_some() && ceremony.session == browser => false,
            CeremonyKind::SecondFactor if bound_to_pending => true,
            CeremonyKind::Login | CeremonyKind::SecondFactor | CeremonyKind::Register => {
                return Err(AuthError::InvalidPasskey);
            }
        };
        let record = self.store.find_passkey_by_credential_id(credential.get_credential_id()).await?;
        let verified = match record {
            Some(record) => self.verify_assertion(webauthn, &ceremony, record, credential).await?,
            None => None,
        };
        let Some((record, user)) = verified else {
            self.passkey_failed(&ceremony, client).await;
            return Err(AuthError::InvalidPasskey);
        };
        self.may_sign_in(&user)?;
        if second_factor && let Some(p) = pending {
            self.store.delete_session(p.token_hash).await?;
        }
        let remember =
            pending.map_or(remember, |p| if second_factor { p.session.remember } else { remember });
        let outcome =
            self.open_session(user, remember, client, crate::sessions::SignIn::TwoFactor, None).await?;
        let detail = if second_factor { "passkey_mfa" } else { "passkey" };
        self.security_state_changed();
        self.audit(EventKind::LoginSucceeded, Outcome::Success, Some(record.user_id), client, Some(detail))
            .await;
        self.observe(|o| o.login("success"));
        Ok(PasskeyLogin { outcome, second_factor })
    }

    /// Checks the assertion against the stored passkey; on success records the use
    /// and returns the passkey with its user. `None` when it does not verify.
    async fn verify_assertion(
        &self,
        webauthn: &Webauthn,
        ceremony: &Ceremony,
        record: PasskeyRecord,
        credential: &PublicKeyCredential,
    ) -> Result<Option<(PasskeyRecord, User)>, AuthError> {
        let mut passkey: Passkey = serde_json::from_str(&record.credential).map_err(AuthError::internal)?;
        // Second factor: the options named the user's passkeys. Passwordless: the
        // authenticator names the user (user handle), who must own the passkey.
        let result = if ceremony.kind == CeremonyKind::SecondFactor {
            if ceremony.user_id != Some(record.user_id) {
                return Ok(None);
            }
            let state: PasskeyAuthentication =
                serde_json::from_str(&ceremony.state).map_err(AuthError::internal)?;
            webauthn.finish_passkey_authentication(credential, &state)
        } else {
            let owner = webauthn.identify_discoverable_authentication(credential).ok().map(|(u, _)| u);
            if owner != Some(record.user_id.as_uuid()) {
                return Ok(None);
            }
            let state = serde_json::from_str(&ceremony.state).map_err(AuthError::internal)?;
            webauthn.finish_discoverable_authentication_v2(credential, state, &passkey)
        };
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(reason = %e, user_id = %record.user_id, "passkey assertion refused");
                return Ok(None);
            }
        };
        passkey.update_credential(&result);
        let json = serde_json::to_string(&passkey).map_err(AuthError::internal)?;
        self.store.passkey_used(record.id, &json, i64::from(result.counter()), self.clock.now()).await?;
        let Some(creds) = self.store.find_credentials_by_id(record.user_id).await? else {
            return Ok(None);
        };
        Ok(Some((record, creds.user)))
    }

    /// Refuses disabled accounts, and unverified ones when verification is required.
    pub(crate) fn may_sign_in(&self, user: &User) -> Result<(), AuthError> {
        if user.disabled {
            return Err(AuthError::AccountDisabled);
        }
        if self.config.email.require_verification && !user.email_verified {
            return Err(AuthError::EmailUnverified);
        }
        Ok(())
    }

    async fn passkey_failed(&self, ceremony: &Ceremony, client: &ClientMeta) {
        let (kind, user) = match ceremony.kind {
            CeremonyKind::SecondFactor => (EventKind::MfaFailed, ceremony.user_id),
            _ => (EventKind::LoginFailed, None),
        };
        self.audit(kind, Outcome::Failure, user, client, Some("passkey")).await;
        self.observe(|o| o.login("failure"));
    }

    /// Renames one of the user's passkeys (not a sensitive change: a label).
    pub async fn rename_passkey(
        &self,
        me: &Authenticated,
        id: Uuid,
        name: &str,
        client: &ClientMeta,
    ) -> Result<(), AuthError> {
        let name = passkey_name(name)?;
        if !self.store.rename_passkey(me.user.id, id, &name).await? {
            return Err(AuthError::NotFound);
        }
        self.audit(EventKind::PasskeyRenamed, Outcome::Success, Some(me.user.id), client, None).await;
        Ok(())
    }

    /// Removes one of the user's passkeys: a sensitive change.
    pub async fn remove_passkey(
        &self,
        me: &Authenticated,
        id: Uuid,
        password: Option<&Password>,
        client: &ClientMeta,
    ) -> Result<(), AuthError> {
        self.confirm_identity(me, password, EventKind::PasskeyRemoved, client).await?;
        if !self.store.delete_passkey(me.user.id, id).await? {
            return Err(AuthError::NotFound);
        }
        self.security_state_changed();
        self.audit(EventKind::PasskeyRemoved, Outcome::Success, Some(me.user.id), client, None).await;
        Ok(())
    }

    async fn parsed_passkeys(&self, user: &User) -> Result<Vec<Passkey>, AuthError> {
        self.store
            .list_passkeys(user.id)
            .await?
            .iter()
            .map(|p| serde_json::from_str(&p.credential).map_err(AuthError::internal))
            .collect()
    }

    async fn save_ceremony(
        &self,
        challenge: &[u8],
        kind: CeremonyKind,
        by: Option<&Authenticated>,
        binding: Option<TokenHash>,
        state: String,
    ) -> Result<(), AuthError> {
        let now = self.clock.now();
        let ceremony = Ceremony {
            challenge_hash: challenge_hash(challenge),
            kind,
            user_id: by.map(|a| a.user.id),
            session: binding,
            state,
            expires_at: now + CEREMONY_LIFETIME,
        };
        Ok(self.store.begin_ceremony(&ceremony, now).await?)
    }

    /// Takes (deletes) the ceremony the response answers; unknown, finished or
    /// expired ones are refused.
    async fn take_ceremony(&self, client_data_json: &[u8]) -> Result<Ceremony, AuthError> {
        let challenge = challenge_of(client_data_json).ok_or(AuthError::InvalidPasskey)?;
        let ceremony = self.store.take_ceremony(&challenge_hash(&challenge)).await?;
        ceremony.filter(|c| c.expires_at > self.clock.now()).ok_or(AuthError::InvalidPasskey)
    }
}

/// A trimmed name of 1 to 64 characters without control characters; empty means
/// "Passkey".
fn passkey_name(raw: &str) -> Result<String, AuthError> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok("Passkey".to_owned());
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(AuthError::Validation(vec![FieldError::new(
            "name",
            "invalid_name",
            format!("a name of at most {MAX_NAME_CHARS} characters, without control characters"),
        )]));
    }
    Ok(name.to_owned())
}

/// The signature counter webauthn-rs stored in the credential.
fn sign_count(passkey: &Passkey) -> i64 {
    serde_json::to_value(passkey).ok().and_then(|v| v["cred"]["counter"].as_i64()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passkey_names_are_trimmed_bounded_and_defaulted() {
        assert_eq!(passkey_name("  Laptop ").unwrap(), "Laptop");
        assert_eq!(passkey_name("").unwrap(), "Passkey");
        assert!(passkey_name(&"x".repeat(65)).is_err());
        assert!(passkey_name("a\nb").is_err());
    }
}
