//! The OpenID Connect provider's endpoints: discovery, JWKS,
//! authorization (with its sign-in and consent pages), token, userinfo, revocation,
//! introspection and RP-initiated logout. Token-endpoint errors are RFC 6749 JSON.

mod authorize;
mod logout;
mod token;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portcullis_core::service::ClientAuth;
use portcullis_core::{OAuthError, oauth};

use crate::extract::bearer_token;
use crate::paths;
use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(paths::OIDC_DISCOVERY, get(discovery))
        .route(paths::OAUTH_JWKS, get(jwks))
        .route(paths::OAUTH_USERINFO, get(userinfo).post(userinfo))
        .merge(authorize::router())
        .merge(token::router())
        .merge(logout::router())
}

async fn discovery(State(state): State<AppState>) -> Response {
    let issuer = state.auth().config().tokens.issuer.clone();
    let at = |path: &str| format!("{issuer}{path}");
    let body = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": at(paths::OAUTH_AUTHORIZE),
        "token_endpoint": at(paths::OAUTH_TOKEN),
        "userinfo_endpoint": at(paths::OAUTH_USERINFO),
        "jwks_uri": at(paths::OAUTH_JWKS),
        "revocation_endpoint": at(paths::OAUTH_REVOKE),
        "introspection_endpoint": at(paths::OAUTH_INTROSPECT),
        "end_session_endpoint": at(paths::OAUTH_LOGOUT),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [portcullis_core::keys::jwt::ALG],
        "scopes_supported": oauth::SCOPES,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "email", "email_verified", "groups"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    });
    ([(header::CACHE_CONTROL, "public, max-age=300")], axum::Json(body)).into_response()
}

/// Published keys; short-lived in caches, since a rotation publishes a new one.
async fn jwks(State(state): State<AppState>) -> Response {
    match state.auth().keys().jwks().await {
        Ok(keys) => ([(header::CACHE_CONTROL, "public, max-age=60")], axum::Json(keys)).into_response(),
        Err(e) => crate::error::OAuthErrorResponse::from(e).into_response(),
    }
}

async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let info = match bearer_token(&headers) {
        Some(token) => state.auth().userinfo(token).await,
        None => Ok(None),
    };
    match info {
        Ok(Some(info)) => ([(header::CACHE_CONTROL, "no-store")], axum::Json(info)).into_response(),
        Ok(None) => {
            let mut res = (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({
                    "error": "invalid_token",
                    "error_description": "send a valid access token with the openid scope",
                })),
            )
                .into_response();
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
            res
        }
        Err(e) => crate::error::OAuthErrorResponse::from(e).into_response(),
    }
}

/// The client's credentials: HTTP Basic (`client_secret_basic`, both parts
/// form-urlencoded per RFC 6749 §2.3.1) or `client_id`/`client_secret` in the body;
/// never both.
pub(crate) fn client_auth(
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<ClientAuth, OAuthError> {
    // Read as bytes: Basic credentials with bytes that are not visible ASCII are
    // still Basic credentials (refused below), not an absent header.
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| {
            let v = v.as_bytes();
            v.iter().position(|b| *b == b' ').map(|at| (&v[..at], &v[at + 1..]))
        })
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(b"basic"));
    match (basic, form_id) {
        (Some((_, encoded)), None) => {
            let decoded = STANDARD.decode(encoded.trim_ascii()).map_err(|_| OAuthError::invalid_client())?;
            let text = String::from_utf8(decoded).map_err(|_| OAuthError::invalid_client())?;
            let (id, secret) = text.split_once(':').ok_or_else(OAuthError::invalid_client)?;
            let unescape = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned())
            };
            let id = unescape(id).ok_or_else(OAuthError::invalid_client)?;
            let secret = unescape(secret).ok_or_else(OAuthError::invalid_client)?;
            Ok(ClientAuth { client_id: id, secret: Some(secret) })
        }
        (None, Some(id)) => {
            Ok(ClientAuth { client_id: id.to_owned(), secret: form_secret.map(str::to_owned) })
        }
        (Some(_), Some(_)) => Err(OAuthError::new("invalid_request", "use one client authentication method")),
        (None, None) => Err(OAuthError::invalid_client()),
    }
}

/// A form body (`application/x-www-form-urlencoded`); a malformed one or a repeated
/// parameter is `invalid_request`.
pub(crate) fn parse_form<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, OAuthError> {
    serde_urlencoded::from_bytes(body).map_err(|_| OAuthError::new("invalid_request", "malformed form body"))
}
