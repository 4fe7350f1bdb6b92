//! `GET /auth/verify`: forward-auth for reverse proxies (nginx `auth_request`,
//! Traefik `forwardAuth`, Caddy `forward_auth`). The access rules (SPEC §7,
//! `[[access.rules]]`, else `access.default_policy`) decide from the request the
//! proxy describes (`X-Forwarded-Host`, `X-Forwarded-Uri`, `X-Forwarded-Method`;
//! nginx's `X-Original-URL` stands in for host and URI when they are absent) and
//! from who is asking (the session cookie, or a first-party bearer token):
//!
//! - allowed: 200, with `X-Auth-User-Id`, `X-Auth-User-Email` and
//!   `X-Auth-User-Groups` when signed in (a `public` route passes anonymous
//!   requests with no identity headers);
//! - not signed in where sign-in is needed: 401, or, for a browser, when the proxy
//!   says which URL was asked for and its origin is allowed, a 302 to sign in and
//!   come back;
//! - signed in but not allowed (not in the groups, no second factor), or a `deny`
//!   route: 403 `forbidden`.
//!
//! Membership is read with the session or token family, per request, through the
//! node's hot cache: a removal takes effect within a second on every node.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::access::{AccessRequest, Decision, Who, decide};
use portcullis_core::service::Authenticated;

use crate::error::ApiError;
use crate::extract::MaybeUser;
use crate::paths;
use crate::state::AppState;

// The names made once: a name given as a `&str` is parsed again at every lookup
// (about 400 instructions each, eight of them per request before).
const X_ORIGINAL_URL: HeaderName = HeaderName::from_static("x-original-url");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");
const X_AUTH_USER_ID: HeaderName = HeaderName::from_static("x-auth-user-id");
const X_AUTH_USER_EMAIL: HeaderName = HeaderName::from_static("x-auth-user-email");
const X_AUTH_USER_GROUPS: HeaderName = HeaderName::from_static("x-auth-user-groups");

fn get<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty())
}

/// The URL the client originally asked the proxy for: `X-Original-URL` (nginx), or
/// `X-Forwarded-Proto` + `X-Forwarded-Host` + `X-Forwarded-Uri` (Traefik, Caddy).
fn original_url(headers: &HeaderMap) -> Option<String> {
    if let Some(url) = get(headers, &X_ORIGINAL_URL) {
        return Some(url.to_owned());
    }
    let uri = get(headers, &X_FORWARDED_URI)?;
    let host = get(headers, &X_FORWARDED_HOST).or_else(|| get(headers, &header::HOST))?;
    let proto = get(headers, &X_FORWARDED_PROTO).unwrap_or("https");
    Some(format!("{proto}://{host}{uri}"))
}

/// Host and path-and-query of an absolute `X-Original-URL`.
fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.split_once("://")?.1;
    match rest.find(['/', '?', '#']) {
        Some(i) => Some((&rest[..i], &rest[i..])),
        None => Some((rest, "/")),
    }
}

/// The request the proxy asks about, as the access rules read it.
fn access_request(headers: &HeaderMap) -> AccessRequest<'_> {
    let original = get(headers, &X_ORIGINAL_URL).and_then(split_url);
    AccessRequest {
        host: get(headers, &X_FORWARDED_HOST).or(original.map(|(host, _)| host)),
        uri: get(headers, &X_FORWARDED_URI).or(original.map(|(_, uri)| uri)),
        method: get(headers, &X_FORWARDED_METHOD),
    }
}

/// Takes the request itself last, rather than a `HeaderMap`: that extractor copies
/// every header of every request.
pub(crate) async fn verify(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    req: Request,
) -> Response {
    let headers = req.headers();
    let policy = state.config().access.policy_for(&access_request(headers));
    // An administrator who owes a second factor (security.require_mfa_for_admins)
    // passes nowhere as themselves until they enrol.
    let me = match user {
        Some(me) => match state.auth().check_admin_mfa(&me.user) {
            Ok(()) => Some(me),
            Err(e) => return ApiError::from(e).into_response(),
        },
        None => None,
    };
    let who = me.as_ref().map(|m| Who { groups: &m.user.groups, two_factor: m.session.two_factor });
    match decide(policy, who) {
        Decision::Allow => allowed(me.as_ref()),
        Decision::Forbidden => ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden")
            .detail("the access rules do not let this account reach this address")
            .into_response(),
        Decision::Unauthenticated => sign_in(&state, headers),
    }
}

/// 200, with who is asking when someone is.
fn allowed(me: Option<&Authenticated>) -> Response {
    let mut res = crate::headers::roomy_response([], axum::body::Body::empty());
    let Some(me) = me else { return res };
    let h = res.headers_mut();
    let mut buf = uuid::Uuid::encode_buffer();
    if let Ok(id) = HeaderValue::from_str(me.user.id.as_uuid().hyphenated().encode_lower(&mut buf)) {
        h.insert(X_AUTH_USER_ID, id);
    }
    if let Ok(email) = HeaderValue::from_str(&me.user.email) {
        h.insert(X_AUTH_USER_EMAIL, email);
    }
    // Group names are `[a-z0-9_.-]`: always a valid header value, empty for none.
    if let Ok(groups) = HeaderValue::from_str(&me.user.groups.join(",")) {
        h.insert(X_AUTH_USER_GROUPS, groups);
    }
    res
}

/// 401, or a browser's 302 to sign in and come back.
fn sign_in(state: &AppState, headers: &HeaderMap) -> Response {
    let wants_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    let back = original_url(headers).filter(|url| wants_html && state.config().safe_next(url).is_some());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_original_url_stands_in_for_host_and_uri() {
        let mut h = HeaderMap::new();
        h.insert("x-original-url", HeaderValue::from_static("https://app.example.com:8443/admin/x?y=1"));
        h.insert("x-forwarded-method", HeaderValue::from_static("POST"));
        let req = access_request(&h);
        assert_eq!(
            (req.host, req.uri, req.method),
            (Some("app.example.com:8443"), Some("/admin/x?y=1"), Some("POST"))
        );
        h.insert("x-forwarded-uri", HeaderValue::from_static("/other"));
        assert_eq!(access_request(&h).uri, Some("/other"), "X-Forwarded-Uri wins");
        assert_eq!(split_url("http://h"), Some(("h", "/")));
        assert_eq!(split_url("http://h?q"), Some(("h", "?q")));
        assert_eq!(split_url("no-scheme"), None);
    }
}
