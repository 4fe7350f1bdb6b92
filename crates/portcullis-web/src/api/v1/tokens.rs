//! `/api/v1/tokens`: access and refresh tokens for API clients.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use portcullis_core::Password;
use portcullis_core::service::TokenPair;
use serde::{Deserialize, Serialize};

use super::Routes;
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientInfo};
use crate::paths;
use crate::state::AppState;

pub(super) fn routes() -> Routes {
    Routes::new().post(paths::API_TOKENS, issue).post(paths::API_TOKENS_REFRESH, refresh)
}

#[derive(Deserialize)]
struct TokenRequest {
    email: String,
    password: String,
    #[serde(default)]
    code: Option<String>,
}

#[derive(Deserialize)]
struct RefreshRequest {
    refresh_token: String,
}

/// The token response (RFC 6749 §5.1 names).
#[derive(Serialize)]
pub(crate) struct TokenBody<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
}

/// A token pair as JSON, never cached (RFC 6749 §5.1).
pub(crate) fn token_response(pair: &TokenPair) -> Response {
    let body = TokenBody {
        access_token: &pair.access_token,
        token_type: "Bearer",
        expires_in: pair.expires_in,
        refresh_token: pair.refresh_token.as_ref().map(portcullis_core::SecretToken::expose),
        id_token: pair.id_token.as_deref(),
        scope: &pair.scope,
    };
    ([(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Json(body)).into_response()
}

async fn issue(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<Response, ApiError> {
    let password = Password::new(&req.password);
    let pair = state.auth().issue_api_tokens(&req.email, &password, req.code.as_deref(), &client).await?;
    Ok(token_response(&pair))
}

async fn refresh(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Response, ApiError> {
    let pair = state.auth().refresh_api_tokens(&req.refresh_token, &client).await?;
    Ok(token_response(&pair))
}
