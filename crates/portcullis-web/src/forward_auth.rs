//! `GET /auth/verify`: forward-auth for reverse proxies (nginx `auth_request`,
//! Traefik `forwardAuth`, Caddy `forward_auth`). 200 with the user in headers when
//! the request's session is valid; otherwise 401, or — for a browser, when the proxy
//! says which URL was asked for and its origin is allowed — a 302 to sign in and
//! come back. Bearer tokens pass only when first-party (from `/api/v1/tokens`).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::extract::MaybeUser;
use crate::paths;
use crate::state::AppState;

/// The URL the client originally asked the proxy for: `X-Original-URL` (nginx), or
/// `X-Forwarded-Proto` + `X-Forwarded-Host` + `X-Forwarded-Uri` (Traefik, Caddy).
fn original_url(headers: &HeaderMap) -> Option<String> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty());
    if let Some(url) = get("x-original-url") {
        return Some(url.to_owned());
    }
    let uri = get("x-forwarded-uri")?;
    let host = get("x-forwarded-host").or_else(|| get("host"))?;
    let proto = get("x-forwarded-proto").unwrap_or("https");
    Some(format!("{proto}://{host}{uri}"))
}

pub(crate) async fn verify(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    headers: HeaderMap,
) -> Response {
    if let Some(me) = user {
        if let Err(e) = state.auth().check_admin_mfa(&me.user) {
            return ApiError::from(e).into_response();
        }
        let mut res = StatusCode::OK.into_response();
        let h = res.headers_mut();
        if let Ok(id) = HeaderValue::from_str(&me.user.id.to_string()) {
            h.insert("x-auth-user-id", id);
        }
        if let Ok(email) = HeaderValue::from_str(&me.user.email) {
            h.insert("x-auth-user-email", email);
        }
        return res;
    }
    let wants_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    let back = original_url(&headers).filter(|url| wants_html && state.config().safe_next(url).is_some());
    match back {
        Some(url) => {
            let login = format!("{}{}", state.config().public_url.origin(), paths::login_with_next(&url));
            match HeaderValue::from_str(&login) {
                Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
                Err(_) => ApiError::unauthenticated().into_response(),
            }
        }
        None => ApiError::unauthenticated().into_response(),
    }
}
