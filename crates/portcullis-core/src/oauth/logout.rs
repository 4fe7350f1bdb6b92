//! RP-initiated logout: the client named by an `id_token_hint`, and where the
//! user may be sent afterwards.

use serde::Deserialize;

use crate::error::AuthError;
use crate::keys::jwt::ID_TOKEN_TYP;

use super::provider::IdClaims;
use crate::service::Auth;

impl Auth {
    /// The client an `id_token_hint` was issued to (its signature checked; it may
    /// have expired), for RP-initiated logout.
    pub async fn id_token_hint_client(&self, hint: &str) -> Option<String> {
        #[derive(Deserialize)]
        struct Aud {
            aud: String,
        }
        let payload = hint.split('.').nth(1)?;
        let bytes =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).ok()?;
        let unverified: Aud = serde_json::from_slice(&bytes).ok()?;
        let verified: IdClaims = self.keys.verify(hint, ID_TOKEN_TYP, &unverified.aud).await?;
        Some(verified.aud)
    }

    /// Whether `uri` is a redirect URI registered for `client_id` (exactly).
    pub async fn is_registered_redirect(&self, client_id: &str, uri: &str) -> Result<bool, AuthError> {
        Ok(self.store.find_client(client_id).await?.is_some_and(|c| c.allows_redirect(uri)))
    }

    /// Where RP-initiated logout may send the user afterwards: a URI registered
    /// exactly for the client, with `state` appended.
    pub async fn post_logout_redirect(
        &self,
        client_id: &str,
        uri: &str,
        state: Option<&str>,
    ) -> Result<Option<String>, AuthError> {
        let Some(client) = self.store.find_client(client_id).await? else {
            return Ok(None);
        };
        if !client.allows_redirect(uri) {
            return Ok(None);
        }
        let mut url = url::Url::parse(uri).map_err(AuthError::internal)?;
        if let Some(state) = state {
            url.query_pairs_mut().append_pair("state", state);
        }
        Ok(Some(url.into()))
    }
}
