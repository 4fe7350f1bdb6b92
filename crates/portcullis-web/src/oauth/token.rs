//! `/oauth2/token`, `/oauth2/revoke` and `/oauth2/introspect`: authenticated by the
//! client, form-encoded, answered with RFC 6749 JSON.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use portcullis_core::OAuthError;
use portcullis_core::service::Grant;
use serde::Deserialize;

use super::{client_auth, parse_form};
use crate::error::OAuthErrorResponse;
use crate::extract::ClientInfo;
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(paths::OAUTH_TOKEN, post(token))
        .route(paths::OAUTH_REVOKE, post(revoke))
        .route(paths::OAUTH_INTROSPECT, post(introspect))
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn token(
    State(state): State<AppState>,
    ClientInfo(meta): ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthErrorResponse> {
    let form: TokenForm = parse_form(&body)?;
    let auth = client_auth(&headers, form.client_id.as_deref(), form.client_secret.as_deref())?;
    let missing = |name: &'static str| OAuthError::new("invalid_request", name);
    let grant = match form.grant_type.as_deref() {
        Some("authorization_code") => Grant::AuthorizationCode {
            code: form.code.ok_or_else(|| missing("code is required"))?,
            redirect_uri: form.redirect_uri,
            code_verifier: form.code_verifier,
        },
        Some("refresh_token") => Grant::RefreshToken {
            refresh_token: form.refresh_token.ok_or_else(|| missing("refresh_token is required"))?,
        },
        Some("client_credentials") => Grant::ClientCredentials { scope: form.scope },
        Some(_) => return Err(OAuthError::new("unsupported_grant_type", "unsupported grant_type").into()),
        None => return Err(missing("grant_type is required").into()),
    };
    let pair = state.auth().token(&auth, grant, &meta).await?;
    Ok(crate::api::v1::tokens::token_response(&pair))
}

#[derive(Deserialize)]
struct TokenOnlyForm {
    token: Option<String>,
    #[serde(rename = "token_type_hint")]
    _hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn revoke(
    State(state): State<AppState>,
    ClientInfo(meta): ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthErrorResponse> {
    let form: TokenOnlyForm = parse_form(&body)?;
    let auth = client_auth(&headers, form.client_id.as_deref(), form.client_secret.as_deref())?;
    let token = form.token.ok_or_else(|| OAuthError::new("invalid_request", "token is required"))?;
    state.auth().revoke_token(&auth, &token, &meta).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], "").into_response())
}

async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthErrorResponse> {
    let form: TokenOnlyForm = parse_form(&body)?;
    let auth = client_auth(&headers, form.client_id.as_deref(), form.client_secret.as_deref())?;
    let token = form.token.ok_or_else(|| OAuthError::new("invalid_request", "token is required"))?;
    let answer = state.auth().introspect(&auth, &token).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(answer)).into_response())
}
