//! The OpenID Connect provider: clients, the authorization-code flow with PKCE,
//! consent, the token endpoint's three grants, userinfo, revocation
//! and RP-initiated logout, one file each; this one holds their types and the
//! clients. Protocol errors are RFC 6749 codes ([`OAuthError`]).

use serde::{Deserialize, Serialize};

use crate::audit::{ActedBy, EventKind};
use crate::error::{AuthError, FieldError, OAuthError};
use crate::oauth::{self, AuthorizeReply, Client, ClientFlags, ResponseMode, Scope};
use crate::token::SecretToken;

use crate::oauth::bearer::TokenPair;
use crate::service::Auth;

/// A client just created, with its secret (shown once; none for public clients).
#[derive(Debug)]
pub struct NewClientSecret {
    pub client: Client,
    pub secret: Option<SecretToken>,
}

/// The query of `/oauth2/authorize`, as received.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub response_mode: Option<String>,
    /// Request objects (OpenID Connect Core §6): not supported, refused.
    pub request: Option<String>,
    pub request_uri: Option<String>,
    /// Portcullis' own: a sign-in at or after this Unix time is required (set when
    /// `prompt=login` or `max_age` sent the user to sign in again).
    pub auth_after: Option<i64>,
}

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub client: Client,
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub scope: Scope,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub prompt_consent: bool,
    pub max_age: Option<i64>,
    pub auth_after: Option<i64>,
}

/// A refused authorization request: shown as a page when the client or its
/// redirect URI cannot be trusted, otherwise sent back to the client; a failure of
/// the service itself (the database is down) is that failure, answered like every
/// other (503, logged).
#[derive(Debug)]
pub enum AuthorizeError {
    Page(&'static str),
    ToClient(AuthorizeReply),
    Failed(AuthError),
}

/// What the authorization endpoint does next.
#[derive(Debug)]
pub enum AuthorizeStep {
    /// The user must sign in (again): at or after `auth_after`.
    Login { auth_after: i64 },
    /// Ask the user to allow the client.
    Consent,
    /// Back to the client (with a code, or an error).
    Reply(AuthorizeReply),
}

/// How a client authenticated at the token, introspection or revocation endpoint.
#[derive(Debug, Clone)]
pub struct ClientAuth {
    pub client_id: String,
    pub secret: Option<String>,
}

/// A token request.
#[derive(Debug, Clone)]
pub enum Grant {
    AuthorizationCode { code: String, redirect_uri: Option<String>, code_verifier: Option<String> },
    RefreshToken { refresh_token: String },
    ClientCredentials { scope: Option<String> },
}

/// The token endpoint's success.
pub type TokenResponse = TokenPair;

/// Claims of an ID token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdClaims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    pub(crate) aud: String,
    pub(crate) exp: i64,
    pub(crate) iat: i64,
    pub(crate) auth_time: i64,
    pub(crate) azp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email_verified: Option<bool>,
    /// With the scope `groups`: the user's groups when the token was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) groups: Option<Vec<String>>,
}

/// `/oauth2/userinfo`.
#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

/// Longest `state` and `nonce` accepted (the whole request must still fit in the
/// sign-in page's `next`).
pub(crate) const MAX_PARAM: usize = 512;

impl Auth {
    /// Registers a client, audited with `by` as actor. Confidential clients get a
    /// secret, shown once.
    pub async fn create_client(
        &self,
        name: &str,
        redirect_uris: &[String],
        flags: ClientFlags,
        by: &ActedBy,
    ) -> Result<NewClientSecret, AuthError> {
        let mut errors = Vec::new();
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            errors.push(FieldError::new("name", "invalid", "give the client a name of 1 to 200 characters"));
        }
        if redirect_uris.is_empty() {
            errors.push(FieldError::new("redirect_uri", "required", "give at least one redirect URI"));
        }
        for uri in redirect_uris {
            if let Err(why) = oauth::check_redirect_uri(uri) {
                errors.push(FieldError::new("redirect_uri", "invalid", format!("{uri:?} {why}")));
            }
        }
        if flags.resource_server && flags.public {
            // Introspection needs client authentication, which a public client has not.
            errors.push(FieldError::new(
                "resource_server",
                "invalid",
                "a resource server must be confidential (it authenticates to introspect)",
            ));
        }
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        let ClientFlags { public, first_party, resource_server } = flags;
        let mut id = [0u8; 16];
        crate::token::fill_random(&mut id);
        let secret = (!public).then(SecretToken::generate);
        let client = Client {
            // Lowercase hex: never begins with '-' (a flag to a shell command), never
            // holds ':' (the HTTP Basic separator).
            id: uuid::Uuid::from_bytes(id).simple().to_string(),
            name: name.to_owned(),
            secret_hash: secret.as_ref().map(SecretToken::hash),
            redirect_uris: redirect_uris.to_vec(),
            public,
            first_party,
            resource_server,
            created_at: self.clock.now(),
        };
        self.store.create_client(&client).await?;
        self.audit_by(by, EventKind::ClientCreated, None, Some(&format!("client={}", client.id))).await;
        Ok(NewClientSecret { client, secret })
    }

    pub async fn list_clients(&self) -> Result<Vec<Client>, AuthError> {
        Ok(self.store.list_clients().await?)
    }

    /// Deletes a client and everything issued to it, audited with `by` as actor.
    pub async fn delete_client(&self, id: &str, by: &ActedBy) -> Result<bool, AuthError> {
        let deleted = self.store.delete_client(id).await?;
        if deleted {
            // Its token families went with it.
            self.security_state_changed();
            self.audit_by(by, EventKind::ClientDeleted, None, Some(&format!("client={id}"))).await;
        }
        Ok(deleted)
    }

    /// Authenticates a client at the token, introspection or revocation endpoint:
    /// confidential clients by their secret (compared as SHA-256 digests in constant
    /// time), public ones by id alone.
    pub async fn authenticate_client(&self, auth: &ClientAuth) -> Result<Client, OAuthError> {
        let client = self.store.find_client(&auth.client_id).await?.ok_or_else(OAuthError::invalid_client)?;
        let ok = match (&client.secret_hash, auth.secret.as_deref()) {
            (Some(expected), Some(given)) => SecretToken::parse(given).is_some_and(|t| t.hash() == *expected),
            (None, None) => true,
            _ => false,
        };
        if ok { Ok(client) } else { Err(OAuthError::invalid_client()) }
    }
}
