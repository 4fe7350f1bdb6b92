//! Ending a session server-side.

use crate::accounts::user::UserId;
use crate::audit::{EventKind, Outcome};
use crate::error::AuthError;
use crate::token::TokenHash;

use crate::service::{Auth, ClientMeta};

impl Auth {
    pub async fn logout(
        &self,
        user: UserId,
        session: TokenHash,
        client: &ClientMeta,
    ) -> Result<(), AuthError> {
        self.store.delete_session(session).await?;
        self.security_state_changed();
        self.audit(EventKind::Logout, Outcome::Success, Some(user), client, None).await;
        Ok(())
    }
}
