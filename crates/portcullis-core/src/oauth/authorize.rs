//! `/oauth2/authorize`: validating a request, deciding the next step (sign in,
//! consent, or a code), and the answer to the client.

use crate::audit::{EventKind, Outcome};
use crate::error::AuthError;
use crate::oauth::{self, AuthCode, AuthorizeReply, ResponseMode, Scope};
use crate::token::SecretToken;

use super::provider::{AuthorizeError, AuthorizeParams, AuthorizeRequest, AuthorizeStep, MAX_PARAM};
use crate::service::{Auth, Authenticated, ClientMeta};

impl Auth {
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
            two_factor: me.session.two_factor,
            created_at: now,
            expires_at: now + self.config.tokens.code_ttl,
        };
        self.store.insert_code(code.hash(), &stored).await?;
        Ok(self.reply(req, &[("code", code.expose())]))
    }
}
