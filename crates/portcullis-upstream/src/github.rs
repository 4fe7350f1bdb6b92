//! GitHub (OAuth 2.0, not OpenID Connect): the web flow with `state` and a PKCE
//! challenge, the code exchanged for a token, then `GET /user` (the numeric id is
//! the identity) and `GET /user/emails` (only a verified primary address counts).
//! `base_url` is `https://github.com` (API at `https://api.github.com`) or a
//! GitHub Enterprise Server (API under `BASE/api/v3`).

use async_trait::async_trait;
use portcullis_core::upstream::{
    AuthorizeInput, CallbackInput, IdentityProvider, ProviderSettings, UpstreamError, UpstreamIdentity,
};
use serde::Deserialize;

use crate::Credentials;
use crate::http_client::{self, classify};

/// GitHub.com; anything else is a GitHub Enterprise Server.
pub const GITHUB_COM: &str = "https://github.com";

/// GitHub.
pub struct GithubProvider {
    settings: ProviderSettings,
    base_url: String,
    api_url: String,
    credentials: Credentials,
    http: reqwest::Client,
}

impl std::fmt::Debug for GithubProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubProvider")
            .field("id", &self.settings.id)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GithubUser {
    id: u64,
}

#[derive(Debug, Deserialize)]
struct GithubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

impl GithubProvider {
    pub fn new(settings: ProviderSettings, base_url: &str, credentials: Credentials) -> Result<Self, String> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        url::Url::parse(&base_url).map_err(|e| format!("base_url: {e}"))?;
        let api_url = if base_url == GITHUB_COM {
            "https://api.github.com".to_owned()
        } else {
            format!("{base_url}/api/v3")
        };
        Ok(Self { settings, base_url, api_url, credentials, http: http_client::client()? })
    }

    /// A GET of the REST API with the user's token.
    async fn api<T: serde::de::DeserializeOwned>(&self, path: &str, token: &str) -> Result<T, UpstreamError> {
        let res = self
            .http
            .get(format!("{}{path}", self.api_url))
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let status = res.status();
        if status.is_server_error() {
            return Err(UpstreamError::Unreachable(format!("GET {path} answered {status}")));
        }
        if !status.is_success() {
            return Err(UpstreamError::Refused(format!("GET {path} answered {status}")));
        }
        res.json().await.map_err(|e| UpstreamError::Refused(format!("GET {path}: {e}")))
    }
}

#[async_trait]
impl IdentityProvider for GithubProvider {
    fn settings(&self) -> &ProviderSettings {
        &self.settings
    }

    async fn authorize_url(&self, input: AuthorizeInput<'_>) -> Result<String, UpstreamError> {
        let mut url = url::Url::parse(&format!("{}/login/oauth/authorize", self.base_url))
            .map_err(|e| UpstreamError::Refused(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.credentials.client_id)
            .append_pair("redirect_uri", input.redirect_uri)
            .append_pair("scope", &self.credentials.scopes.join(" "))
            .append_pair("state", input.state)
            .append_pair("code_challenge", input.code_challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("allow_signup", "false");
        Ok(url.into())
    }

    async fn identify(&self, input: CallbackInput<'_>) -> Result<UpstreamIdentity, UpstreamError> {
        let res = self
            .http
            .post(format!("{}/login/oauth/access_token", self.base_url))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[
                ("client_id", self.credentials.client_id.as_str()),
                ("client_secret", self.credentials.client_secret.as_str()),
                ("code", input.code),
                ("redirect_uri", input.redirect_uri),
                ("code_verifier", input.code_verifier),
            ])
            .send()
            .await
            .map_err(|e| classify(&e))?;
        if res.status().is_server_error() {
            return Err(UpstreamError::Unreachable(format!("token endpoint answered {}", res.status())));
        }
        let answer: TokenAnswer =
            res.json().await.map_err(|e| UpstreamError::Refused(format!("token endpoint: {e}")))?;
        let Some(token) = answer.access_token else {
            let why = answer.error_description.or(answer.error).unwrap_or_else(|| "no access token".into());
            return Err(UpstreamError::Refused(format!("token endpoint: {why}")));
        };
        let user: GithubUser = self.api("/user", &token).await?;
        let emails: Vec<GithubEmail> = self.api("/user/emails", &token).await?;
        let primary = emails.into_iter().find(|e| e.primary && e.verified);
        Ok(UpstreamIdentity {
            issuer: self.base_url.clone(),
            subject: user.id.to_string(),
            email_verified: primary.is_some(),
            email: primary.map(|e| e.email),
            // GitHub says nothing of how the user signed in.
            second_factor: false,
        })
    }
}
