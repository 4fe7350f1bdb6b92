//! Sensitive changes (email, deletion) need the current password or a sign-in
//! within the last ten minutes; administrators' changes need the sign-in.

use time::Duration;

use crate::accounts::password::Password;
use crate::audit::{EventKind, Outcome};
use crate::error::AuthError;

use crate::service::{Auth, Authenticated, ClientMeta};

/// How long after signing in a sensitive change needs no password.
pub const REAUTH_WINDOW: Duration = Duration::minutes(10);

impl Auth {
    /// Whether `me` signed in within [`REAUTH_WINDOW`]: what every administrator's
    /// change asks (SPEC §8). For a bearer token, the sign-in is the one that
    /// started its refresh-token family (`authenticated_at` is the family's).
    pub fn check_recent_sign_in(&self, me: &Authenticated) -> Result<(), AuthError> {
        if self.clock.now() - me.session.authenticated_at <= REAUTH_WINDOW {
            Ok(())
        } else {
            Err(AuthError::ReauthRequired)
        }
    }

    /// Checks `password` when one is given (a wrong one is recorded as a failed
    /// `kind` event), else that the session signed in within [`REAUTH_WINDOW`].
    pub(crate) async fn confirm_identity(
        &self,
        me: &Authenticated,
        password: Option<&Password>,
        kind: EventKind,
        client: &ClientMeta,
    ) -> Result<(), AuthError> {
        let Some(password) = password else {
            return self.check_recent_sign_in(me);
        };
        let creds = self.store.find_credentials_by_id(me.user.id).await?.ok_or(AuthError::NotFound)?;
        let ok = password.within_max_length()
            && self.hasher.verify(password, &creds.password_hash).await.map_err(AuthError::internal)?.ok;
        if ok {
            return Ok(());
        }
        self.audit(kind, Outcome::Failure, Some(me.user.id), client, Some("wrong_password")).await;
        Err(AuthError::InvalidCredentials)
    }
}
