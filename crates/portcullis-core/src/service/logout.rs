//! Ending a session server-side.

use crate::error::AuthError;
use crate::token::TokenHash;
use crate::user::UserId;

use super::Auth;

impl Auth {
    pub async fn logout(&self, user: UserId, session: TokenHash) -> Result<(), AuthError> {
        self.store.delete_session(session).await?;
        tracing::info!(target: "portcullis::audit", event = "logout", user_id = %user, "signed out");
        Ok(())
    }
}
