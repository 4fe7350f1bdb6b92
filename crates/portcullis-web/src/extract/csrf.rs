//! CSRF protection for HTML forms. A random value lives in an HttpOnly cookie; the
//! form's `csrf_token` is its HMAC under a server key, together with the session
//! cookie when there is one, so it cannot be made without reading the cookies: an
//! attacker who can plant cookies (plain http, a sibling subdomain) and pairs their
//! own anonymous cookie and token with a victim's session gets a token that does not
//! match. A handler can only read a form through `CsrfForm`, which verifies the token
//! (constant time) and the request's origin first.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponseParts, ResponseParts};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use portcullis_core::SecretToken;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::state;
use crate::cookies;
use crate::error::PageError;
use crate::state::AppState;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The MAC of the CSRF cookie and, when the request has one, the session cookie.
/// Cookie values are base64url, so the NUL separator cannot be forged.
fn token_mac(state: &AppState, cookie_value: &str, session: Option<&str>) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(&state.0.csrf_key).expect("HMAC takes any key length");
    mac.update(b"portcullis-csrf-v2\0");
    mac.update(cookie_value.as_bytes());
    if let Some(session) = session {
        mac.update(b"\0session\0");
        mac.update(session.as_bytes());
    }
    mac
}

fn form_token(state: &AppState, cookie_value: &str, session: Option<&str>) -> String {
    URL_SAFE_NO_PAD.encode(token_mac(state, cookie_value, session).finalize().into_bytes())
}

fn token_matches(state: &AppState, cookie_value: &str, session: Option<&str>, submitted: &str) -> bool {
    let Ok(submitted) = URL_SAFE_NO_PAD.decode(submitted) else { return false };
    token_mac(state, cookie_value, session).verify_slice(&submitted).is_ok()
}

/// The token to put in a form's hidden `csrf_token` field. As a response part it
/// sets the CSRF cookie when the request had none.
#[derive(Debug, Clone)]
pub struct CsrfToken {
    pub token: String,
    new_cookie: Option<axum::http::HeaderValue>,
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = crate::error::ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let state = state(parts)?;
        let name = &state.cookies().csrf;
        let session = cookies::get(&parts.headers, &state.cookies().session);
        if let Some(existing) = cookies::get(&parts.headers, name).and_then(SecretToken::parse) {
            return Ok(Self { token: form_token(&state, existing.expose(), session), new_cookie: None });
        }
        let fresh = SecretToken::generate();
        let header = state.cookies().set(name, fresh.expose(), None);
        Ok(Self { token: form_token(&state, fresh.expose(), session), new_cookie: Some(header) })
    }
}

impl IntoResponseParts for CsrfToken {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        if let Some(cookie) = self.new_cookie {
            res.headers_mut().append(header::SET_COOKIE, cookie);
        }
        Ok(res)
    }
}

/// Refuses requests that a browser marks as coming from another site.
pub(crate) fn same_origin(headers: &HeaderMap, state: &AppState) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    origin_allowed(origin, fetch_site, state.config().public_url.origin())
}

/// Under our own `Referrer-Policy: no-referrer` browsers send `Origin: null`
/// on every same-origin form POST, so `null` passes only when the browser also vouches
/// with `Sec-Fetch-Site: same-origin` (a header page scripts cannot set).
fn origin_allowed(origin: Option<&str>, fetch_site: Option<&str>, public_origin: &str) -> bool {
    let origin_ok = match origin {
        None => true,
        Some("null") => fetch_site == Some("same-origin"),
        Some(o) => o.eq_ignore_ascii_case(public_origin),
    };
    origin_ok && fetch_site != Some("cross-site")
}

#[derive(Deserialize)]
struct TokenField {
    #[serde(default)]
    csrf_token: String,
}

/// A URL-encoded form whose CSRF token and origin were verified.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, s: &S) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        let state = state(&parts).map_err(|_| PageError::internal())?;
        let cookie = cookies::get(&parts.headers, &state.cookies().csrf).map(str::to_owned);
        let session = cookies::get(&parts.headers, &state.cookies().session).map(str::to_owned);
        if !same_origin(&parts.headers, &state) {
            return Err(PageError::csrf());
        }
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(PageError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "This form was sent in an unexpected format.",
            ));
        }
        let _ = &mut parts;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), s)
            .await
            .map_err(|e| PageError::new(e.status(), "The form could not be read; it may be too large."))?;
        let token: TokenField = serde_urlencoded::from_bytes(&bytes).map_err(|_| PageError::csrf())?;
        let valid = cookie
            .as_deref()
            .is_some_and(|c| token_matches(&state, c, session.as_deref(), &token.csrf_token));
        if !valid {
            return Err(PageError::csrf());
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
            PageError::new(StatusCode::BAD_REQUEST, "This form was sent with invalid values.")
        })?;
        Ok(Self(form))
    }
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    const PUBLIC: &str = "http://127.0.0.1:8080";

    #[test]
    fn a_null_origin_passes_only_when_the_browser_says_same_origin() {
        assert!(origin_allowed(Some("null"), Some("same-origin"), PUBLIC));
        assert!(!origin_allowed(Some("null"), Some("cross-site"), PUBLIC));
        assert!(!origin_allowed(Some("null"), Some("same-site"), PUBLIC));
        assert!(!origin_allowed(Some("null"), None, PUBLIC));
    }

    #[test]
    fn other_origins_and_cross_site_requests_are_refused() {
        assert!(origin_allowed(None, None, PUBLIC));
        assert!(origin_allowed(Some("HTTP://127.0.0.1:8080"), Some("same-origin"), PUBLIC));
        assert!(!origin_allowed(Some("https://evil.example"), Some("same-origin"), PUBLIC));
        assert!(!origin_allowed(None, Some("cross-site"), PUBLIC));
    }
}
