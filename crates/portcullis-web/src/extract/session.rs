//! The signed-in user, the equivalent of Flask-Login's `current_user` and
//! `@login_required`. The session is resolved once per request and cached.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_core::service::{Authenticated, BearerUse};

use super::state;
use crate::error::ApiError;
use crate::{cookies, paths};

/// The signed-in user, if any.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<Authenticated>);

/// Where an `Authorization: Bearer` access token is accepted: the JSON API and
/// forward-auth, both only with first-party tokens (from `/api/v1/tokens`): a token
/// an OAuth client got for a user is meant for that client, and replaying it must
/// not pass as the user elsewhere. Pages only know cookies.
fn bearer_use(path: &str) -> Option<BearerUse> {
    (path.starts_with(paths::API_PREFIX) || path == paths::AUTH_VERIFY).then_some(BearerUse::FirstParty)
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// A signed-in user, required. On pages the client is sent to `/login?next=<this
/// page>`; under `/api/` or when the client asks for JSON it gets 401 `unauthenticated`.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Authenticated);

/// Why `CurrentUser` was refused.
#[derive(Debug)]
pub enum AuthRejection {
    Login {
        next: String,
    },
    /// An administrator without MFA, where `security.require_mfa_for_admins` is on.
    Enrol,
    Api(ApiError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Login { next } if next.is_empty() => Redirect::to(paths::LOGIN).into_response(),
            Self::Enrol => Redirect::to(paths::ACCOUNT_MFA).into_response(),
            Self::Login { next } => Redirect::to(&paths::login_with_next(&next)).into_response(),
            Self::Api(e) => e.into_response(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        if let Some(cached) = parts.extensions.get::<Self>() {
            return Ok(cached.clone());
        }
        let state = state(parts)?;
        let mut found = match cookies::get(&parts.headers, &state.cookies().session) {
            Some(value) => state.auth().authenticate(value).await?,
            None => None,
        };
        if found.is_none()
            && let Some(purpose) = bearer_use(parts.uri.path())
            && let Some(token) = bearer_token(&parts.headers)
        {
            found = state.auth().authenticate_bearer(token, purpose).await?;
        }
        let me = Self(found);
        parts.extensions.insert(me.clone());
        Ok(me)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, AuthRejection> {
        let MaybeUser(found) = MaybeUser::from_request_parts(parts, s).await.map_err(AuthRejection::Api)?;
        let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        let wants_json = accept.contains("json") && !accept.contains("text/html");
        let is_api = parts.uri.path().starts_with(paths::API_PREFIX);
        if let Some(auth) = found {
            let state = state(parts).map_err(AuthRejection::Api)?;
            if !paths::is_mfa_enrolment(parts.uri.path())
                && let Err(e) = state.auth().check_admin_mfa(&auth.user)
            {
                // Administrators must enrol before they can do anything else.
                return Err(if is_api || wants_json {
                    AuthRejection::Api(ApiError::from(e))
                } else {
                    AuthRejection::Enrol
                });
            }
            return Ok(Self(auth));
        }
        if !is_api && !wants_json {
            // A page: send the browser to sign in, and back here afterwards.
            let uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |o| &o.0);
            let here = uri.path_and_query().map_or("/", |pq| pq.as_str());
            let is_get = parts.method == axum::http::Method::GET || parts.method == axum::http::Method::HEAD;
            let next = if is_get && paths::is_local_path(here) { here } else { "" };
            return Err(AuthRejection::Login { next: next.to_owned() });
        }
        Err(AuthRejection::Api(ApiError::unauthenticated()))
    }
}

/// A half-authenticated session (password checked, second factor owed). Only the
/// MFA step accepts it.
#[derive(Debug, Clone)]
pub struct PendingUser(pub Option<Authenticated>);

impl<S: Send + Sync> FromRequestParts<S> for PendingUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let state = state(parts)?;
        let found = match cookies::get(&parts.headers, &state.cookies().session) {
            Some(value) => state.auth().authenticate_pending(value).await?,
            None => None,
        };
        Ok(Self(found))
    }
}
