//! `/api/v1`: problem+json errors, JSON bodies only, cookie requests from other
//! origins refused (`refuses_cross_site`, applied by the hardening layer of
//! [`crate::router`]).

mod admin;
mod auth;
#[cfg(test)]
mod doc_check;
#[cfg(test)]
mod doc_errors;
mod email;
mod export;
mod me;
mod mfa;
mod passkeys;
mod routes;
pub(crate) mod tokens;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse as _, Response};
use serde::Serialize;
use time::OffsetDateTime;

use crate::extract::csrf_same_origin;
use crate::state::AppState;
use routes::Routes;

pub use admin::AdminUserResponse;

/// The routes of `/api/v1`. Their cross-site check ([`refuses_cross_site`]) is made
/// by the hardening layer [`crate::router`] puts on them, not by a layer of their
/// own: axum boxes a router layer's service and future around every route, and
/// that cost every API request a clone and a move of its future (BENCHMARKS.md,
/// "Performance, round two", change 8).
pub(crate) fn router() -> Router<AppState> {
    routes().into_router()
}

/// The prefix of every route of [`router`].
pub(crate) const PREFIX: &str = "/api/v1/";

/// Every operation of `/api/v1`.
fn routes() -> Routes {
    auth::routes()
        .merge(me::routes())
        .merge(admin::routes())
        .merge(mfa::routes())
        .merge(passkeys::routes())
        .merge(email::routes())
        .merge(export::routes())
        .merge(tokens::routes())
}

/// The public view of a user: never a hash, secret or token.
#[derive(Debug, Serialize)]
pub struct UserResponse {
    /// Serialized as the hyphenated lower-case string, made on the stack (a
    /// `String` here cost an allocation and the formatting machinery per `/me`).
    pub id: uuid::Uuid,
    pub email: String,
    pub email_verified: bool,
    /// TOTP is on: a password sign-in needs a second step (a code, a recovery code
    /// or a passkey). Passkeys alone do not set it; see `GET /api/v1/passkeys`.
    pub mfa_enabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The user's groups, sorted by byte order (SPEC §7).
    pub groups: Vec<String>,
}

impl From<&portcullis_core::User> for UserResponse {
    fn from(u: &portcullis_core::User) -> Self {
        Self {
            id: u.id.as_uuid(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            mfa_enabled: u.mfa_enabled,
            created_at: u.created_at,
            groups: u.groups.clone(),
        }
    }
}

/// `value` as an `application/json` response, written into a buffer of
/// `capacity` bytes; a value that cannot be serialized is a 500 problem (logged).
pub(crate) fn json_response<T: Serialize>(value: &T, capacity: usize) -> Response {
    let mut buf = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut buf, value) {
        Ok(()) => crate::headers::roomy_response(
            [(header::CONTENT_TYPE, const { HeaderValue::from_static("application/json") })],
            buf,
        ),
        Err(e) => {
            tracing::error!(error = %e, "a response could not be serialized");
            crate::error::ApiError::internal().into_response()
        }
    }
}

#[derive(Debug, Serialize)]
pub struct UserEnvelope {
    pub user: UserResponse,
}

/// Whether a request to a route of [`router`] must be refused (`ApiError::csrf`):
/// unsafe requests that ride on the browser's cookies must come from our origin.
/// Requests with an `Authorization` header carry their own credential and are exempt.
pub(crate) fn refuses_cross_site(state: &AppState, req: &Request) -> bool {
    let unsafe_method = !req.method().is_safe();
    let has_bearer = req.headers().contains_key(header::AUTHORIZATION);
    unsafe_method && !has_bearer && !csrf_same_origin(req.headers(), state)
}
