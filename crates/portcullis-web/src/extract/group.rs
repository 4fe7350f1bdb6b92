//! Requiring a group on a handler or a whole router (SPEC §7), the equivalent of
//! Flask-Security's `@roles_required`. Name the group with a type:
//!
//! ```
//! use axum::{Router, routing::get};
//! use portcullis_web::extract::{InGroup, RequiredGroup};
//!
//! /// Members of `ops`.
//! struct Ops;
//! impl RequiredGroup for Ops {
//!     const NAME: &'static str = "ops";
//! }
//!
//! // On one handler: the extractor.
//! async fn deploy(InGroup(me, ..): InGroup<Ops>) -> String {
//!     format!("deploying as {}", me.user.email)
//! }
//!
//! // On every route of a router: the layer.
//! async fn dashboard() -> &'static str {
//!     "ops dashboard"
//! }
//! let ops: Router = Router::new()
//!     .route("/ops/deploy", get(deploy))
//!     .route("/ops", get(dashboard))
//!     .route_layer(portcullis_web::extract::require_group::<Ops>());
//! ```
//!
//! The answers are those of forward-auth: not signed in is [`CurrentUser`]'s
//! (browsers are sent to sign in, API clients get 401 `unauthenticated`); signed in
//! but not a member is 403: a page for browsers, problem+json `forbidden` for API
//! clients. Membership is read with the session, per request (through the node's
//! hot cache), so a removal takes effect within a second.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::FromExtractorLayer;
use axum::response::{IntoResponse, Response};
use portcullis_core::service::Authenticated;

use super::session::{AuthRejection, CurrentUser};
use crate::error::{ApiError, PageError};
use crate::paths;

/// A group a route requires, named by a type (see the module documentation).
pub trait RequiredGroup: Send + Sync + 'static {
    /// The group's name (`[a-z0-9][a-z0-9_.-]{0,63}`). A group that does not exist
    /// (yet) lets nobody in.
    const NAME: &'static str;
}

/// A signed-in member of the group `G`.
pub struct InGroup<G: RequiredGroup>(pub Authenticated, pub PhantomData<G>);

impl<G: RequiredGroup> std::fmt::Debug for InGroup<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("InGroup").field(&G::NAME).field(&self.0.user.id).finish()
    }
}

/// Why [`InGroup`] refused.
#[derive(Debug)]
pub enum GroupRejection {
    /// Not signed in (or an administrator who must enrol a second factor first).
    SignIn(AuthRejection),
    /// Signed in, not a member: 403.
    Forbidden {
        /// Answer with problem+json rather than a page.
        api: bool,
    },
}

impl IntoResponse for GroupRejection {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn(rejection) => rejection.into_response(),
            Self::Forbidden { api: true } => ApiError::forbidden().into_response(),
            Self::Forbidden { api: false } => PageError::new(
                StatusCode::FORBIDDEN,
                "You are signed in, but your account may not see this page.",
            )
            .into_response(),
        }
    }
}

impl<S: Send + Sync, G: RequiredGroup> FromRequestParts<S> for InGroup<G> {
    type Rejection = GroupRejection;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, GroupRejection> {
        let CurrentUser(me) =
            CurrentUser::from_request_parts(parts, s).await.map_err(GroupRejection::SignIn)?;
        if me.user.in_group(G::NAME) {
            return Ok(Self(me, PhantomData));
        }
        let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        let api = parts.uri.path().starts_with(paths::API_PREFIX)
            || (accept.contains("json") && !accept.contains("text/html"));
        Err(GroupRejection::Forbidden { api })
    }
}

/// A layer that lets only members of `G` reach a router's routes (use it with
/// `Router::route_layer`, so unknown paths still answer 404).
pub fn require_group<G: RequiredGroup>() -> FromExtractorLayer<InGroup<G>, ()> {
    axum::middleware::from_extractor()
}
