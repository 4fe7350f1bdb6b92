//! `/api/v1/admin/*` (SPEC §8): users, groups and the security log, for members
//! of `admin` only ([`Administrator`](crate::extract::Administrator): 401, 403
//! `forbidden`, 403 `mfa_enrolment_required`, and for changes 403
//! `reauthentication_required`). Listings are cursor-paged, newest first.

mod events;
mod groups;
mod users;

use serde::Serialize;
use time::OffsetDateTime;

use super::{Routes, UserResponse};
use crate::error::ApiError;

pub(super) fn routes() -> Routes {
    users::routes().merge(groups::routes()).merge(events::routes())
}

/// A user as administrators see it: [`UserResponse`] and the account's state.
/// Never a hash, secret or token.
#[derive(Debug, Serialize)]
pub struct AdminUserResponse {
    #[serde(flatten)]
    pub user: UserResponse,
    pub disabled: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sign_in_at: Option<OffsetDateTime>,
    /// Active browser sessions.
    pub sessions: u64,
    pub passkeys: u64,
    /// Invited, and the invitation not accepted yet.
    pub invited: bool,
    /// The id the user had in the application it was imported from.
    pub external_id: Option<String>,
}

impl From<&portcullis_core::admin::AdminUser> for AdminUserResponse {
    fn from(a: &portcullis_core::admin::AdminUser) -> Self {
        Self {
            user: UserResponse::from(&a.user),
            disabled: a.user.disabled,
            last_sign_in_at: a.last_sign_in_at,
            sessions: a.sessions,
            passkeys: a.passkeys,
            invited: a.invited,
            external_id: a.external_id.clone(),
        }
    }
}

/// A path's user id: a malformed one names no user (404, like an unknown one).
fn user_id(raw: &str) -> Result<portcullis_core::UserId, ApiError> {
    portcullis_core::UserId::parse(raw).ok_or_else(ApiError::not_found)
}
