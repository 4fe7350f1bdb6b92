//! Token introspection (RFC 7662) for authenticated confidential clients, limited
//! as its §4 asks: a client learns only about the tokens issued to it, unless it was
//! registered as a resource server.

use serde::Serialize;
use uuid::Uuid;

use crate::error::OAuthError;
use crate::token::SecretToken;

use crate::service::{Auth, ClientAuth};

/// `/oauth2/introspect` (RFC 7662).
#[derive(Debug, Clone, Default, Serialize)]
pub struct IntrospectResponse {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// With the scope `groups`: the user's groups now (not as of the token's issue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

impl Auth {
    /// `/oauth2/introspect` (RFC 7662) for an authenticated client.
    /// A client is told about its own tokens only, a resource server about every
    /// token; any other token is `{"active": false}`, exactly like an unknown one.
    pub async fn introspect(&self, auth: &ClientAuth, token: &str) -> Result<IntrospectResponse, OAuthError> {
        let caller = self.authenticate_client(auth).await?;
        if caller.public {
            return Err(OAuthError::invalid_client());
        }
        let now = self.clock.now();
        if let Some((_, claims)) = self.verified_access_claims(token).await {
            if !caller.may_introspect(Some(&claims.client_id)) {
                return Ok(IntrospectResponse::default());
            }
            let mut groups = None;
            let live = claims.exp > now.unix_timestamp()
                && match claims.sid.as_deref().map(Uuid::parse_str) {
                    Some(Ok(family)) => match self.live_family(family).await? {
                        Some((_, user)) => {
                            groups = wants_groups(&claims.scope).then(|| user.groups.clone());
                            true
                        }
                        None => false,
                    },
                    Some(Err(_)) => false,
                    None => self.store.find_client(&claims.sub).await?.is_some(),
                };
            if !live {
                return Ok(IntrospectResponse::default());
            }
            return Ok(IntrospectResponse {
                groups,
                active: true,
                scope: Some(claims.scope.clone()),
                client_id: Some(claims.client_id.clone()),
                sub: Some(claims.sub.clone()),
                token_type: Some("Bearer"),
                exp: Some(claims.exp),
                iat: Some(claims.iat),
                iss: Some(claims.iss.clone()),
                aud: Some(claims.aud.clone()),
            });
        }
        if let Some(t) = SecretToken::parse(token)
            && let Some(crate::store::RefreshTokenState { family, expires_at, spent }) =
                self.store.find_refresh_family(t.hash()).await?
            && !spent
            && expires_at > now
            && caller.may_introspect(family.client_id.as_deref())
        {
            let groups = if wants_groups(&family.scope) {
                self.store.find_credentials_by_id(family.user_id).await?.map(|c| c.user.groups)
            } else {
                None
            };
            return Ok(IntrospectResponse {
                active: true,
                groups,
                scope: Some(family.scope),
                client_id: family.client_id,
                sub: Some(family.user_id.to_string()),
                token_type: Some("refresh_token"),
                exp: Some(expires_at.unix_timestamp()),
                iss: Some(self.config.tokens.issuer.clone()),
                ..IntrospectResponse::default()
            });
        }
        Ok(IntrospectResponse::default())
    }
}

fn wants_groups(scope: &str) -> bool {
    crate::oauth::Scope::parse(scope).unwrap_or_default().contains("groups")
}
