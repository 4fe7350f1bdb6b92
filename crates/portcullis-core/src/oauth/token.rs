//! `/oauth2/token` (authorization code, refresh token, client credentials),
//! userinfo and revocation.

use uuid::Uuid;

use crate::accounts::user::{User, UserId};
use crate::audit::{EventKind, Outcome};
use crate::error::{AuthError, OAuthError};
use crate::keys::jwt::{ACCESS_TOKEN_TYP, ID_TOKEN_TYP};
use crate::oauth::{self, Client, CodeUse, Scope, TokenFamily};
use crate::token::SecretToken;

use super::provider::{ClientAuth, Grant, IdClaims, TokenResponse, UserInfo};
use crate::oauth::bearer::{AccessClaims, BearerUse};
use crate::service::{Auth, ClientMeta};

impl Auth {
    /// `POST /oauth2/token`.
    pub async fn token(
        &self,
        auth: &ClientAuth,
        grant: Grant,
        meta: &ClientMeta,
    ) -> Result<TokenResponse, OAuthError> {
        self.limit_token_requests(meta).await?;
        let client = self.authenticate_client(auth).await?;
        match grant {
            Grant::AuthorizationCode { code, redirect_uri, code_verifier } => {
                self.exchange_code(&client, &code, redirect_uri.as_deref(), code_verifier.as_deref(), meta)
                    .await
            }
            Grant::RefreshToken { refresh_token } => {
                let hash = SecretToken::parse(&refresh_token)
                    .ok_or_else(|| OAuthError::invalid_grant("the refresh token is invalid"))?
                    .hash();
                let (refresh, next) = self.new_refresh();
                let (family, user) = self
                    .rotate(hash, Some(&client.id), &next, meta)
                    .await?
                    .ok_or_else(|| OAuthError::invalid_grant("the refresh token is invalid"))?;
                self.check_admin_mfa(&user)?;
                self.client_tokens(&client, &user, &family, Some(refresh), None)
            }
            Grant::ClientCredentials { scope } => {
                if client.public {
                    return Err(OAuthError::new(
                        "unauthorized_client",
                        "public clients cannot use client_credentials",
                    ));
                }
                let scope = Scope::parse(scope.as_deref().unwrap_or(""))
                    .ok_or_else(|| OAuthError::new("invalid_scope", "unknown scope value"))?
                    .to_string();
                let claims = self.access_claims(&client.id, &client.id, &scope, None);
                let access = self.keys.sign(ACCESS_TOKEN_TYP, &claims)?;
                Ok(self.pair(access, None, None, scope))
            }
        }
    }

    async fn exchange_code(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        meta: &ClientMeta,
    ) -> Result<TokenResponse, OAuthError> {
        let invalid = || OAuthError::invalid_grant("the authorization code is invalid, expired or used");
        let hash = SecretToken::parse(code).ok_or_else(invalid)?.hash();
        let family_id = Uuid::new_v4();
        let now = self.clock.now();
        let code = match self.store.consume_code(hash, family_id, now).await? {
            CodeUse::Fresh(code) => code,
            CodeUse::Replayed { family } => {
                // RFC 6749 §4.1.2: the tokens issued for a replayed code are revoked.
                if let Some(family) = family
                    && self.store.revoke_family(family).await?
                {
                    tracing::warn!(client_id = %client.id, "an authorization code was replayed: its tokens are revoked");
                    self.security_state_changed();
                    self.audit(EventKind::TokensRevoked, Outcome::Failure, None, meta, Some("code_replayed"))
                        .await;
                }
                return Err(invalid());
            }
            CodeUse::Unknown => return Err(invalid()),
        };
        if code.client_id != client.id || code.expires_at <= now {
            return Err(invalid());
        }
        if redirect_uri != Some(code.redirect_uri.as_str()) {
            return Err(OAuthError::invalid_grant("redirect_uri does not match the authorization request"));
        }
        match (&code.code_challenge, verifier) {
            (Some(challenge), Some(verifier)) if oauth::pkce_matches(verifier, challenge) => {}
            (None, None) => {}
            _ => return Err(OAuthError::invalid_grant("PKCE verification failed")),
        }
        let user = self
            .store
            .find_credentials_by_id(code.user_id)
            .await?
            .map(|c| c.user)
            .filter(|u| !u.disabled)
            .ok_or_else(invalid)?;
        self.check_admin_mfa(&user)?;
        let family = TokenFamily {
            id: family_id,
            user_id: user.id,
            client_id: Some(client.id.clone()),
            scope: code.scope.clone(),
            auth_time: code.auth_time,
            two_factor: code.two_factor,
            created_at: now,
        };
        let (refresh, first) = self.new_refresh();
        self.store.create_family(&family, Some(&first), None).await?;
        self.client_tokens(client, &user, &family, Some(refresh), code.nonce)
    }

    fn client_tokens(
        &self,
        client: &Client,
        user: &User,
        family: &TokenFamily,
        refresh: Option<SecretToken>,
        nonce: Option<String>,
    ) -> Result<TokenResponse, OAuthError> {
        let access = self.access_token(user, &client.id, family)?;
        let scope = Scope::parse(&family.scope).unwrap_or_default();
        let id_token = if scope.contains("openid") {
            let now = self.clock.unix();
            let with_email = scope.contains("email");
            let claims = IdClaims {
                iss: self.config.tokens.issuer.clone(),
                sub: user.id.to_string(),
                aud: client.id.clone(),
                exp: now + self.config.tokens.access_ttl.whole_seconds(),
                iat: now,
                auth_time: family.auth_time.unix_timestamp(),
                azp: client.id.clone(),
                nonce,
                email: with_email.then(|| user.email.clone()),
                email_verified: with_email.then_some(user.email_verified),
                groups: scope.contains("groups").then(|| user.groups.clone()),
            };
            Some(self.keys.sign(ID_TOKEN_TYP, &claims)?)
        } else {
            None
        };
        Ok(self.pair(access, refresh, id_token, family.scope.clone()))
    }

    /// `/oauth2/userinfo`: the claims the token's scope allows. `None` when the
    /// token is not a live access token with the `openid` scope.
    pub async fn userinfo(&self, raw: &str) -> Result<Option<UserInfo>, AuthError> {
        let Some(me) = self.authenticate_bearer(raw, BearerUse::Identity).await? else {
            return Ok(None);
        };
        self.check_admin_mfa(&me.user)?;
        let audience = self.config.tokens.api_audience().to_owned();
        let Some(claims) = self.keys.verify::<AccessClaims>(raw, ACCESS_TOKEN_TYP, &audience).await else {
            return Ok(None);
        };
        let scope = Scope::parse(&claims.scope).unwrap_or_default();
        if claims.client_id != crate::oauth::bearer::API_CLIENT_ID && !scope.contains("openid") {
            return Ok(None);
        }
        let email = claims.client_id == crate::oauth::bearer::API_CLIENT_ID || scope.contains("email");
        Ok(Some(UserInfo {
            // Read now (through the hot cache), not as of the token's issue.
            groups: scope.contains("groups").then(|| me.user.groups.clone()),
            sub: me.user.id.to_string(),
            email: email.then(|| me.user.email.clone()),
            email_verified: email.then_some(me.user.email_verified),
        }))
    }

    /// `/oauth2/revoke` (RFC 7009): revokes the family of a refresh or access token
    /// the client owns; unknown tokens are not an error.
    pub async fn revoke_token(
        &self,
        auth: &ClientAuth,
        token: &str,
        meta: &ClientMeta,
    ) -> Result<(), OAuthError> {
        let client = self.authenticate_client(auth).await?;
        let mut family: Option<(Uuid, UserId)> = None;
        if let Some(t) = SecretToken::parse(token)
            && let Some(crate::store::RefreshTokenState { family: f, .. }) =
                self.store.find_refresh_family(t.hash()).await?
            && f.client_id.as_deref() == Some(client.id.as_str())
        {
            family = Some((f.id, f.user_id));
        }
        let audience = self.config.tokens.api_audience().to_owned();
        if family.is_none()
            && let Some(claims) = self.keys.verify::<AccessClaims>(token, ACCESS_TOKEN_TYP, &audience).await
            && claims.client_id == client.id
            && let Some(Ok(id)) = claims.sid.as_deref().map(Uuid::parse_str)
            && let Some(user) = UserId::parse(&claims.sub)
        {
            family = Some((id, user));
        }
        if let Some((id, user)) = family
            && self.store.revoke_family(id).await?
        {
            self.security_state_changed();
            self.audit(EventKind::TokensRevoked, Outcome::Success, Some(user), meta, Some("oauth_revoke"))
                .await;
        }
        Ok(())
    }
}
