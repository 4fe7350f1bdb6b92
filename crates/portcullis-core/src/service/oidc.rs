//! The OpenID Connect provider: clients, the authorization-code flow with PKCE,
//! consent, the token endpoint's three grants, userinfo, revocation
//! and RP-initiated logout. Protocol errors are RFC 6749 codes ([`OAuthError`]).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AuthError, FieldError, OAuthError};
use crate::event::{EventKind, Outcome};
use crate::jwt::{ACCESS_TOKEN_TYP, ID_TOKEN_TYP};
use crate::oauth::{
    self, AuthCode, AuthorizeReply, Client, ClientFlags, CodeUse, ResponseMode, Scope, TokenFamily,
};
use crate::token::SecretToken;
use crate::user::{User, UserId};

use super::bearer::{AccessClaims, BearerUse, TokenPair};
use super::{Auth, Authenticated, ClientMeta};

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
struct IdClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    iat: i64,
    auth_time: i64,
    azp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
}

/// `/oauth2/userinfo`.
#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

/// Longest `state` and `nonce` accepted (the whole request must still fit in the
/// sign-in page's `next`).
const MAX_PARAM: usize = 512;

impl Auth {
    /// Registers a client. Confidential clients get a secret, shown once.
    pub async fn create_client(
        &self,
        name: &str,
        redirect_uris: &[String],
        flags: ClientFlags,
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
        Ok(NewClientSecret { client, secret })
    }

    pub async fn list_clients(&self) -> Result<Vec<Client>, AuthError> {
        Ok(self.store.list_clients().await?)
    }

    /// Deletes a client and everything issued to it.
    pub async fn delete_client(&self, id: &str) -> Result<bool, AuthError> {
        let deleted = self.store.delete_client(id).await?;
        if deleted {
            // Its token families went with it.
            self.security_state_changed();
        }
        Ok(deleted)
    }

    /// Validates `/oauth2/authorize`'s parameters. An unknown client or a redirect
    /// URI that is not registered exactly is a page; anything else goes back to the
    /// client's redirect URI as an error.
    pub async fn authorize_request(&self, p: &AuthorizeParams) -> Result<AuthorizeRequest, AuthorizeError> {
        let client_id = p.client_id.as_deref().ok_or(AuthorizeError::Page("The request names no client."))?;
        let client =
            self.store.find_client(client_id).await.map_err(|e| AuthorizeError::Failed(e.into()))?.ok_or(
                AuthorizeError::Page("The application asking you to sign in is not registered here."),
            )?;
        let redirect_uri = p
            .redirect_uri
            .clone()
            .filter(|uri| client.allows_redirect(uri))
            .ok_or(AuthorizeError::Page("The application's return address is not registered for it."))?;
        let state = p.state.clone().filter(|s| s.len() <= MAX_PARAM);
        // An unsupported response mode is answered in the default one.
        let response_mode = ResponseMode::parse(p.response_mode.as_deref());
        let fail = |error: &'static str, description: &str| {
            AuthorizeError::ToClient(AuthorizeReply::new(
                &redirect_uri,
                response_mode.unwrap_or_default(),
                &[("error", error), ("error_description", description)],
                state.as_deref(),
                &self.config.tokens.issuer,
            ))
        };
        let Some(response_mode) = response_mode else {
            return Err(fail("invalid_request", "response_mode must be query or form_post"));
        };
        if p.state.as_ref().is_some_and(|s| s.len() > MAX_PARAM) {
            return Err(fail("invalid_request", "state is too long"));
        }
        // Refused rather than ignored: the client would otherwise believe that the
        // signed parameters inside were honoured. Empty values count as absent.
        if p.request.as_deref().is_some_and(|r| !r.is_empty()) {
            return Err(fail("request_not_supported", "request objects are not supported"));
        }
        if p.request_uri.as_deref().is_some_and(|r| !r.is_empty()) {
            return Err(fail("request_uri_not_supported", "request_uri is not supported"));
        }
        if p.response_type.as_deref() != Some("code") {
            return Err(fail("unsupported_response_type", "only response_type=code is supported"));
        }
        let scope = Scope::parse(p.scope.as_deref().unwrap_or(""))
            .ok_or_else(|| fail("invalid_scope", "unknown scope value"))?;
        if scope.is_empty() {
            return Err(fail("invalid_scope", "scope is required (e.g. openid email)"));
        }
        let code_challenge = match (p.code_challenge.as_deref(), p.code_challenge_method.as_deref()) {
            (None, None) if client.public => {
                return Err(fail("invalid_request", "public clients must use PKCE (code_challenge, S256)"));
            }
            (None, None) => None,
            (Some(c), Some("S256")) if oauth::valid_code_challenge(c) => Some(c.to_owned()),
            (Some(_), Some("S256")) => return Err(fail("invalid_request", "code_challenge is malformed")),
            _ => return Err(fail("invalid_request", "code_challenge_method must be S256")),
        };
        let nonce = p.nonce.clone();
        if nonce.as_ref().is_some_and(|n| n.len() > MAX_PARAM) {
            return Err(fail("invalid_request", "nonce is too long"));
        }
        let prompts: Vec<&str> =
            p.prompt.as_deref().unwrap_or("").split(' ').filter(|s| !s.is_empty()).collect();
        if prompts.iter().any(|v| !matches!(*v, "none" | "login" | "consent" | "select_account")) {
            return Err(fail("invalid_request", "unknown prompt value"));
        }
        let prompt_none = prompts.contains(&"none");
        if prompt_none && prompts.len() > 1 {
            return Err(fail("invalid_request", "prompt=none cannot be combined"));
        }
        let max_age = match p.max_age.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(
                raw.parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| fail("invalid_request", "max_age"))?,
            ),
        };
        Ok(AuthorizeRequest {
            client,
            redirect_uri,
            response_mode,
            scope,
            state,
            nonce,
            code_challenge,
            prompt_none,
            prompt_login: prompts.contains(&"login"),
            prompt_consent: prompts.contains(&"consent"),
            max_age,
            auth_after: p.auth_after,
        })
    }

    /// Decides what the authorization endpoint does for `me` (the signed-in user, if
    /// any): ask for a sign-in, ask for consent, or send a code back.
    pub async fn authorize_step(
        &self,
        req: &AuthorizeRequest,
        me: Option<&Authenticated>,
    ) -> Result<AuthorizeStep, AuthError> {
        let now = self.clock.now();
        let fresh_enough = |me: &Authenticated| {
            let at = me.session.authenticated_at.unix_timestamp();
            // A marker in the future (forged) could never be met: it counts as now.
            let after_ok = req.auth_after.is_none_or(|after| at >= after.min(now.unix_timestamp()));
            let age_ok = req.max_age.is_none_or(|max| now.unix_timestamp() - at <= max);
            after_ok && age_ok && (!req.prompt_login || req.auth_after.is_some())
        };
        let Some(me) = me.filter(|me| fresh_enough(me)) else {
            if req.prompt_none {
                return Ok(AuthorizeStep::Reply(self.authorize_error(req, "login_required")));
            }
            return Ok(AuthorizeStep::Login { auth_after: now.unix_timestamp() });
        };
        self.check_admin_mfa(&me.user)?;
        let granted = if req.client.first_party {
            true
        } else {
            let stored = self.store.find_consent(me.user.id, &req.client.id).await?;
            !req.prompt_consent
                && stored.and_then(|s| Scope::parse(&s)).is_some_and(|granted| req.scope.within(&granted))
        };
        if !granted {
            if req.prompt_none {
                return Ok(AuthorizeStep::Reply(self.authorize_error(req, "consent_required")));
            }
            return Ok(AuthorizeStep::Consent);
        }
        Ok(AuthorizeStep::Reply(self.issue_code(req, me).await?))
    }

    /// The user's answer on the consent page: a code (recording the consent), or
    /// `access_denied`.
    pub async fn authorize_consent(
        &self,
        req: &AuthorizeRequest,
        me: &Authenticated,
        allow: bool,
        client: &ClientMeta,
    ) -> Result<AuthorizeReply, AuthError> {
        if !allow {
            return Ok(self.authorize_error(req, "access_denied"));
        }
        let scope = req.scope.to_string();
        self.store.grant_consent(me.user.id, &req.client.id, &scope, self.clock.now()).await?;
        self.audit(EventKind::ConsentGranted, Outcome::Success, Some(me.user.id), client, None).await;
        self.issue_code(req, me).await
    }

    fn authorize_error(&self, req: &AuthorizeRequest, error: &str) -> AuthorizeReply {
        self.reply(req, &[("error", error)])
    }

    fn reply(&self, req: &AuthorizeRequest, result: &[(&'static str, &str)]) -> AuthorizeReply {
        AuthorizeReply::new(
            &req.redirect_uri,
            req.response_mode,
            result,
            req.state.as_deref(),
            &self.config.tokens.issuer,
        )
    }

    async fn issue_code(
        &self,
        req: &AuthorizeRequest,
        me: &Authenticated,
    ) -> Result<AuthorizeReply, AuthError> {
        self.check_admin_mfa(&me.user)?;
        let code = SecretToken::generate();
        let now = self.clock.now();
        let stored = AuthCode {
            client_id: req.client.id.clone(),
            user_id: me.user.id,
            redirect_uri: req.redirect_uri.clone(),
            scope: req.scope.to_string(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            auth_time: me.session.authenticated_at,
            created_at: now,
            expires_at: now + self.config.tokens.code_ttl,
        };
        self.store.insert_code(code.hash(), &stored).await?;
        Ok(self.reply(req, &[("code", code.expose())]))
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
                let access = self.sign_jwt(ACCESS_TOKEN_TYP, &claims)?;
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
            created_at: now,
        };
        let (refresh, first) = self.new_refresh();
        self.store.create_family(&family, Some(&first)).await?;
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
        let access = self.access_token(&user.id.to_string(), &client.id, family)?;
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
            };
            Some(self.sign_jwt(ID_TOKEN_TYP, &claims)?)
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
        let Some(claims) = self.verify_jwt::<AccessClaims>(raw, ACCESS_TOKEN_TYP, &audience).await else {
            return Ok(None);
        };
        let scope = Scope::parse(&claims.scope).unwrap_or_default();
        if claims.client_id != super::bearer::API_CLIENT_ID && !scope.contains("openid") {
            return Ok(None);
        }
        let email = claims.client_id == super::bearer::API_CLIENT_ID || scope.contains("email");
        Ok(Some(UserInfo {
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
            && let Some(claims) = self.verify_jwt::<AccessClaims>(token, ACCESS_TOKEN_TYP, &audience).await
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
        let verified: IdClaims = self.verify_jwt(hint, ID_TOKEN_TYP, &unverified.aud).await?;
        Some(verified.aud)
    }

    /// Where RP-initiated logout may send the user afterwards: a URI registered
    /// exactly for the client, with `state` appended.
    /// Whether `uri` is a redirect URI registered for `client_id` (exactly).
    pub async fn is_registered_redirect(&self, client_id: &str, uri: &str) -> Result<bool, AuthError> {
        Ok(self.store.find_client(client_id).await?.is_some_and(|c| c.allows_redirect(uri)))
    }

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
