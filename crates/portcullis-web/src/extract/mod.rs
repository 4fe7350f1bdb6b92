//! Request extractors: who is asking (session), from where (client address), with
//! what (JSON bodies, query strings, CSRF-checked forms), as whom (an administrator).

mod admin;
mod client;
mod csrf;
mod group;
mod json;
mod query;
mod session;

pub use admin::{Administrator, Admins};
pub use client::ClientInfo;
pub(crate) use csrf::same_origin as csrf_same_origin;
pub use csrf::{CsrfForm, CsrfToken};
pub use group::{GroupRejection, InGroup, RequiredGroup, require_group};
pub use json::{ApiJson, OptionalJson};
pub use query::ApiQuery;
pub(crate) use session::bearer_token;
pub use session::{AuthRejection, CurrentUser, MaybeUser, PendingUser};

use axum::http::request::Parts;

use crate::state::AppState;

/// The Portcullis state, put on every request by [`crate::layer`].
pub(crate) fn state(parts: &Parts) -> Result<AppState, crate::error::ApiError> {
    parts.extensions.get::<AppState>().cloned().ok_or_else(|| {
        tracing::error!("Portcullis extractor used on a route without portcullis_web::layer(state)");
        crate::error::ApiError::internal()
    })
}
