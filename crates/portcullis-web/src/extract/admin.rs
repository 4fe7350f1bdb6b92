//! An administrator (a member of `admin`, SPEC §8), the extractor of every
//! `/api/v1/admin/*` route. Not signed in is 401 `unauthenticated`; signed in but
//! not an administrator 403 `forbidden`; an administrator without a second factor
//! while one is required 403 `mfa_enrolment_required` (all three as [`InGroup`]
//! answers them). A change (any method but GET and HEAD) also needs a sign-in
//! within the last ten minutes, else 403 `reauthentication_required`: decided
//! here, by the method, so no handler can forget it. (Cookie requests from another
//! origin were refused before, by the API's cross-site rule.)

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use portcullis_core::audit::ActedBy;
use portcullis_core::groups::ADMIN;
use portcullis_core::service::Authenticated;

use super::{ClientInfo, InGroup, RequiredGroup, state};
use crate::error::ApiError;

/// The group `admin`.
pub struct Admins;

impl RequiredGroup for Admins {
    const NAME: &'static str = ADMIN;
}

/// A signed-in administrator, and the actor their changes are recorded as.
#[derive(Debug)]
pub struct Administrator {
    pub me: Authenticated,
    /// The administrator, with the request's address and browser.
    pub by: ActedBy,
}

impl<S: Send + Sync> FromRequestParts<S> for Administrator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Response> {
        let InGroup(me, _) =
            InGroup::<Admins>::from_request_parts(parts, s).await.map_err(IntoResponse::into_response)?;
        if !parts.method.is_safe() {
            let state = state(parts).map_err(IntoResponse::into_response)?;
            state.auth().check_recent_sign_in(&me).map_err(|e| ApiError::from(e).into_response())?;
        }
        let Ok(ClientInfo(client)) = ClientInfo::from_request_parts(parts, s).await;
        let by = ActedBy::admin(me.user.id, client);
        Ok(Self { me, by })
    }
}
