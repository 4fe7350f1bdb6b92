//! Tokens for API clients: `/api/v1/tokens` (email + password [+ code]) gives a
//! short-lived JWT access token and an opaque refresh token; refreshing spends the
//! refresh token and gives a new pair; presenting a spent one revokes its family.
//! Access tokens are checked against their family on every use, so a logout-all,
//! password change or revocation ends them at once, on every node.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::accounts::password::Password;
use crate::accounts::user::User;
use crate::audit::{EventKind, Outcome};
use crate::error::AuthError;
use crate::keys::jwt::ACCESS_TOKEN_TYP;
use crate::oauth::{NewRefresh, Rotation, TokenFamily};
use crate::sessions::Session;
use crate::token::{SecretToken, TokenHash};

use crate::service::{Auth, Authenticated, ClientMeta, Via};

/// `client_id` of the tokens `/api/v1/tokens` issues (OAuth clients have random ids).
pub const API_CLIENT_ID: &str = "portcullis";

/// Claims of an access token (RFC 9068).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// A user id, or for `client_credentials` the client id.
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// The refresh-token family (absent for `client_credentials`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// With the scope `groups`: the user's groups when the token was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

/// What the token endpoints answer.
#[derive(Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: Option<SecretToken>,
    pub expires_in: i64,
    pub id_token: Option<String>,
    pub scope: String,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// Which access tokens a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerUse {
    /// The account API (`/api/v1`) and forward-auth (`/auth/verify`): tokens from
    /// `/api/v1/tokens` only. A token an OAuth client got for a user is meant for
    /// that client: it neither manages the account nor passes a proxied app as the
    /// user (which would also hand out the email without the `email` scope).
    FirstParty,
    /// Who the user is, for the client the token was issued to
    /// (`/oauth2/userinfo`): any user's access token.
    Identity,
}

impl Auth {
    /// `POST /api/v1/tokens`: the password step of a sign-in (throttled and audited
    /// like the pages), the second factor when the account has one, then a new pair.
    pub async fn issue_api_tokens(
        &self,
        email: &str,
        password: &Password,
        code: Option<&str>,
        client: &ClientMeta,
    ) -> Result<TokenPair, AuthError> {
        self.limit_token_requests(client).await?;
        let crate::sessions::login::PasswordOk { user, rehash } =
            self.verify_login(email, password, client).await?;
        if user.mfa_enabled {
            let code = code.ok_or(AuthError::MfaRequired)?;
            self.verify_second_factor(&user, code, client).await?;
        }
        self.check_admin_mfa(&user)?;
        let now = self.clock.now();
        let family = TokenFamily {
            id: Uuid::new_v4(),
            user_id: user.id,
            client_id: None,
            scope: String::new(),
            auth_time: now,
            two_factor: user.mfa_enabled,
            created_at: now,
        };
        let (refresh, first) = self.new_refresh();
        self.store.create_family(&family, Some(&first), rehash.as_ref()).await?;
        self.audit(EventKind::LoginSucceeded, Outcome::Success, Some(user.id), client, Some("tokens")).await;
        self.observe(|o| o.login("success"));
        let access_token = self.access_token(&user, API_CLIENT_ID, &family)?;
        Ok(self.pair(access_token, Some(refresh), None, String::new()))
    }

    /// `POST /api/v1/tokens/refresh`: spends the refresh token, returns a new pair.
    pub async fn refresh_api_tokens(&self, raw: &str, client: &ClientMeta) -> Result<TokenPair, AuthError> {
        self.limit_token_requests(client).await?;
        let hash = SecretToken::parse(raw).ok_or(AuthError::InvalidRefreshToken)?.hash();
        let (refresh, next) = self.new_refresh();
        match self.rotate(hash, None, &next, client).await? {
            Some((family, user)) => {
                self.check_admin_mfa(&user)?;
                let access_token = self.access_token(&user, API_CLIENT_ID, &family)?;
                Ok(self.pair(access_token, Some(refresh), None, String::new()))
            }
            None => Err(AuthError::InvalidRefreshToken),
        }
    }

    /// Spends a refresh token of `client_id`'s family; a replay revokes the family
    /// (recorded as `refresh_token_reused`).
    pub(crate) async fn rotate(
        &self,
        hash: TokenHash,
        client_id: Option<&str>,
        next: &NewRefresh,
        client: &ClientMeta,
    ) -> Result<Option<(TokenFamily, User)>, AuthError> {
        match self.store.rotate_refresh(hash, client_id, next, self.clock.now()).await? {
            Rotation::Rotated(family, user) => Ok(Some((family, user))),
            Rotation::Reused { user_id, .. } => {
                tracing::warn!(user_id = %user_id, "a spent refresh token was presented again: its family is revoked");
                self.security_state_changed();
                self.audit(EventKind::RefreshTokenReused, Outcome::Failure, Some(user_id), client, None)
                    .await;
                Ok(None)
            }
            Rotation::Invalid => Ok(None),
        }
    }

    /// Resolves an `Authorization: Bearer` access token: valid signature, type,
    /// issuer and audience, unexpired, and its family still live (not revoked by a
    /// logout, password change or reuse) with an enabled user.
    pub async fn authenticate_bearer(
        &self,
        raw: &str,
        purpose: BearerUse,
    ) -> Result<Option<Authenticated>, AuthError> {
        let Some((digest, claims)) = self.verified_access_claims(raw).await else {
            return Ok(None);
        };
        let now = self.clock.now();
        if claims.exp <= now.unix_timestamp() || claims.iat > now.unix_timestamp() + 60 {
            return Ok(None);
        }
        if purpose == BearerUse::FirstParty && claims.client_id != API_CLIENT_ID {
            return Ok(None);
        }
        // Tokens of `client_credentials` name no family and no user.
        let Some(family_id) = claims.sid.as_deref().and_then(|s| Uuid::parse_str(s).ok()) else {
            return Ok(None);
        };
        let Some((family, user)) = self.live_family(family_id).await? else {
            return Ok(None);
        };
        let mut buf = Uuid::encode_buffer();
        if *user.id.as_uuid().hyphenated().encode_lower(&mut buf) != *claims.sub {
            return Ok(None);
        }
        let expires_at = time::OffsetDateTime::from_unix_timestamp(claims.exp).unwrap_or(now);
        let session = Session {
            id: family.id,
            user_id: user.id,
            created_at: family.created_at,
            last_seen_at: now,
            expires_at,
            idle_timeout: expires_at - now,
            remember: false,
            authenticated_at: family.auth_time,
            ip: None,
            user_agent: None,
            mfa_pending: false,
            two_factor: family.two_factor,
        };
        let token_hash = TokenHash::from_bytes(digest);
        let session = Arc::new(session);
        Ok(Some(Authenticated { user, session, token_hash, via: Via::Bearer { family: Some(family.id) } }))
    }

    /// A token family that is still live (not revoked or expired), with its user,
    /// through this node's hot cache.
    pub(crate) async fn live_family(
        &self,
        family_id: Uuid,
    ) -> Result<Option<(Arc<TokenFamily>, Arc<User>)>, AuthError> {
        if let Some(hot) = self.hot.get(&self.hot.families, &family_id) {
            return Ok(Some(hot));
        }
        let generation = self.hot.generation();
        let Some(found) = self.store.find_family(family_id).await? else {
            return Ok(None);
        };
        let found = (Arc::new(found.family), Arc::new(found.user));
        self.hot.families.put(family_id, found.clone(), generation);
        Ok(Some(found))
    }

    /// Revokes a token family (sign-out of a bearer client); true if it existed.
    pub async fn revoke_family(
        &self,
        family: Uuid,
        user: &User,
        client: &ClientMeta,
    ) -> Result<bool, AuthError> {
        let revoked = self.store.revoke_family(family).await?;
        if revoked {
            self.security_state_changed();
            self.audit(EventKind::TokensRevoked, Outcome::Success, Some(user.id), client, None).await;
        }
        Ok(revoked)
    }

    /// The user's signed-in token families, each with its client's name (none for
    /// `/api/v1/tokens`), newest first: "applications with access" on the account page.
    pub async fn list_grants(&self, user: &User) -> Result<Vec<(TokenFamily, Option<String>)>, AuthError> {
        let families = self.store.list_families(user.id).await?;
        self.name_grants(families).await
    }

    /// `families` with their clients' names (none for `/api/v1/tokens`).
    pub async fn name_grants(
        &self,
        families: Vec<TokenFamily>,
    ) -> Result<Vec<(TokenFamily, Option<String>)>, AuthError> {
        // One look-up per client, not per family: an application signed in many
        // times has many families (found by the benchmark: 50 families made the
        // account page 15 times slower).
        let mut names: std::collections::HashMap<String, Option<String>> = std::collections::HashMap::new();
        let mut out = Vec::with_capacity(families.len());
        for family in families {
            let name = match &family.client_id {
                Some(id) => {
                    if let Some(name) = names.get(id) {
                        name.clone()
                    } else {
                        let name = self.store.find_client(id).await?.map(|c| c.name);
                        names.insert(id.clone(), name.clone());
                        name
                    }
                }
                None => None,
            };
            out.push((family, name));
        }
        Ok(out)
    }

    /// Revokes one of the user's own token families.
    pub async fn revoke_grant(
        &self,
        user: &User,
        family: Uuid,
        client: &ClientMeta,
    ) -> Result<(), AuthError> {
        let Some(crate::store::FamilyWithUser { family: found, .. }) = self.store.find_family(family).await?
        else {
            return Err(AuthError::NotFound);
        };
        if found.user_id != user.id {
            return Err(AuthError::NotFound);
        }
        self.revoke_family(family, user, client).await?;
        Ok(())
    }

    /// Deletes expired authorization codes and token families.
    pub async fn purge_oauth(&self) -> Result<u64, AuthError> {
        Ok(self.store.purge_oauth(self.clock.now()).await?)
    }

    pub(crate) async fn limit_token_requests(&self, client: &ClientMeta) -> Result<(), AuthError> {
        if let Some(ip) = &client.ip {
            self.limit(&format!("tokens:ip:{ip}"), self.config.rate_limits.tokens_per_ip, false).await?;
        }
        Ok(())
    }

    pub(crate) fn new_refresh(&self) -> (SecretToken, NewRefresh) {
        let token = SecretToken::generate();
        let now = self.clock.now();
        let new = NewRefresh {
            hash: token.hash(),
            created_at: now,
            expires_at: now + self.config.tokens.refresh_ttl,
        };
        (token, new)
    }

    /// A signed access token for `sub` in `family`.
    pub(crate) fn access_token(
        &self,
        user: &User,
        client_id: &str,
        family: &TokenFamily,
    ) -> Result<String, AuthError> {
        let mut claims = self.access_claims(&user.id.to_string(), client_id, &family.scope, Some(family));
        if crate::oauth::Scope::parse(&family.scope).unwrap_or_default().contains("groups") {
            claims.groups = Some(user.groups.clone());
        }
        self.keys.sign(ACCESS_TOKEN_TYP, &claims)
    }

    pub(crate) fn access_claims(
        &self,
        sub: &str,
        client_id: &str,
        scope: &str,
        family: Option<&TokenFamily>,
    ) -> AccessClaims {
        let now = self.clock.unix();
        let policy = &self.config.tokens;
        AccessClaims {
            iss: policy.issuer.clone(),
            sub: sub.to_owned(),
            aud: policy.api_audience().to_owned(),
            exp: now + policy.access_ttl.whole_seconds(),
            iat: now,
            jti: Uuid::new_v4().to_string(),
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
            sid: family.map(|f| f.id.to_string()),
            auth_time: family.map(|f| f.auth_time.unix_timestamp()),
            groups: None,
        }
    }

    pub(crate) fn pair(
        &self,
        access_token: String,
        refresh_token: Option<SecretToken>,
        id_token: Option<String>,
        scope: String,
    ) -> TokenPair {
        TokenPair {
            access_token,
            refresh_token,
            expires_in: self.config.tokens.access_ttl.whole_seconds(),
            id_token,
            scope,
        }
    }
}
