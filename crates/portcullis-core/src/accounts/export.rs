//! "Download my data": everything Portcullis holds about a user, in one value.

use crate::accounts::user::User;
use crate::audit::Event;
use crate::error::AuthError;
use crate::mail::MailSummary;
use crate::sessions::Session;
use crate::store::StoredToken;

use crate::service::Auth;

/// Most events in an export (far more than any real account has).
const EXPORT_EVENTS: i64 = 100_000;

/// The user's profile, sessions, security events, emailed links (never the secret)
/// and mails (never the body).
#[derive(Debug, Clone)]
pub struct AccountExport {
    /// When the export was made.
    pub exported_at: time::OffsetDateTime,
    pub user: User,
    /// The user's id in the application it was imported from (SPEC §9).
    pub external_id: Option<String>,
    pub sessions: Vec<Session>,
    pub events: Vec<Event>,
    pub tokens: Vec<StoredToken>,
    pub mails: Vec<MailSummary>,
    /// Signed-in token families (API clients and OpenID Connect clients), never a token.
    pub token_families: Vec<crate::oauth::TokenFamily>,
    /// Unused recovery codes (the codes and the TOTP secret are never exported).
    pub recovery_codes_left: i64,
    /// Passkeys (names, counters, dates; the web layer leaves out the key material).
    pub passkeys: Vec<crate::passkeys::PasskeyRecord>,
    /// Upstream identities linked to the account (SPEC §10).
    pub identities: Vec<crate::upstream::LinkedIdentity>,
    /// The outstanding sign-in link and code, if any (issue #21; never a hash).
    pub email_signin: Option<crate::email_signin::EmailSignInSummary>,
    /// Devices the account signed in from (never their ids).
    pub devices: Vec<crate::devices::KnownDevice>,
}

impl Auth {
    pub async fn export_account(&self, user: &User) -> Result<AccountExport, AuthError> {
        Ok(AccountExport {
            exported_at: self.clock.now(),
            user: user.clone(),
            external_id: self
                .store
                .admin_user(user.id, self.clock.now())
                .await?
                .and_then(|shown| shown.external_id),
            sessions: self.store.list_sessions(user.id, self.clock.now()).await?,
            events: self.store.list_events(Some(user.id), EXPORT_EVENTS).await?,
            tokens: self.store.list_tokens(user.id).await?,
            mails: self.store.list_mails(user.id).await?,
            token_families: self.store.list_families(user.id).await?,
            recovery_codes_left: self.store.recovery_codes_left(user.id).await?,
            passkeys: self.store.list_passkeys(user.id).await?,
            identities: self.store.list_identities(user.id).await?,
            email_signin: self.store.email_signin_of(user.id).await?,
            devices: self.store.list_devices(user.id).await?,
        })
    }
}
