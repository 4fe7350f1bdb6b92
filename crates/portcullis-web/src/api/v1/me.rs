//! The signed-in user's own account: profile, sessions, password, email, deletion.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::Password;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Routes;
use super::UserResponse;
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientInfo, CurrentUser};
use crate::paths;
use crate::state::AppState;

pub(super) fn routes() -> Routes {
    Routes::new()
        .get(paths::API_ME, me)
        .delete(paths::API_ME, delete_me)
        .post(paths::API_ME_EMAIL, change_email)
        .get(paths::API_ME_SESSIONS, sessions)
        .delete(paths::API_ME_SESSION, revoke_session)
        .post(paths::API_ME_PASSWORD, change_password)
        .get(paths::API_ME_EVENTS, events)
        .get(paths::API_ME_IDENTITIES, identities)
        .delete(paths::API_ME_IDENTITY, unlink_identity)
}

/// An upstream identity linked to the account (SPEC §10).
#[derive(Serialize)]
pub(crate) struct IdentityResponse {
    id: String,
    /// The provider id it was linked through.
    provider: String,
    /// The provider's label (its id when no longer configured).
    name: String,
    /// The address the provider gave when it was linked.
    email: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    linked_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    last_used_at: Option<OffsetDateTime>,
}

impl IdentityResponse {
    pub(crate) fn new(state: &AppState, i: portcullis_core::upstream::LinkedIdentity) -> Self {
        let name = state
            .auth()
            .identity_providers()
            .find(|p| p.id == i.provider)
            .map_or_else(|| i.provider.clone(), |p| p.name.clone());
        Self {
            id: i.id.to_string(),
            provider: i.provider,
            name,
            email: i.email,
            linked_at: i.created_at,
            last_used_at: i.last_used_at,
        }
    }
}

async fn identities(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Vec<IdentityResponse>>, ApiError> {
    let list = state.auth().list_identities(me.user.id).await?;
    Ok(Json(list.into_iter().map(|i| IdentityResponse::new(&state, i)).collect()))
}

async fn unlink_identity(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::not_found())?;
    state.auth().unlink_identity(&me, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The hot path of every single-page application (it asks on each load): the
/// answer is written into one buffer of the right size (axum's `Json` starts at 128
/// bytes and grows, a reallocation and a copy on every answer; BENCHMARKS.md,
/// "Eighth sitting").
async fn me(CurrentUser(me): CurrentUser) -> Response {
    super::json_response(&UserResponse::from(&*me.user), 512)
}

#[derive(Serialize)]
pub(crate) struct SessionResponse {
    id: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    ip: Option<String>,
    user_agent: Option<String>,
    current: bool,
}

async fn sessions(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Vec<SessionResponse>>, ApiError> {
    let list = state.auth().list_sessions(me.user.id).await?;
    Ok(Json(list.into_iter().map(|s| SessionResponse::new(s, me.session.id)).collect()))
}

impl SessionResponse {
    pub(crate) fn new(s: portcullis_core::Session, current: uuid::Uuid) -> Self {
        Self {
            id: s.id.to_string(),
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            // The earlier of the absolute expiry and the idle deadline.
            expires_at: s.expires_at.min(s.last_seen_at + s.idle_timeout),
            current: s.id == current,
            ip: s.ip,
            user_agent: s.user_agent,
        }
    }
}

async fn revoke_session(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::not_found())?;
    state.auth().revoke_session(me.user.id, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub(crate) struct EventResponse {
    id: i64,
    #[serde(rename = "type")]
    kind: String,
    outcome: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    ip: Option<String>,
    user_agent: Option<String>,
    detail: Option<String>,
}

impl From<portcullis_core::Event> for EventResponse {
    fn from(e: portcullis_core::Event) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            outcome: e.outcome,
            created_at: e.created_at,
            ip: e.ip,
            user_agent: e.user_agent,
            detail: e.detail,
        }
    }
}

/// The user's own security events, newest first.
async fn events(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Vec<EventResponse>>, ApiError> {
    let list = state.auth().events_of(me.user.id, portcullis_core::service::MAX_EVENTS).await?;
    Ok(Json(list.into_iter().map(EventResponse::from).collect()))
}

#[derive(Deserialize)]
struct ChangePasswordRequest {
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ClientInfo(client): ClientInfo,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let (current, new) = (Password::new(&req.current_password), Password::new(&req.new_password));
    state.auth().change_password(&me.user, me.token_hash, &current, &new, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A sensitive change: the password, or none within 10 minutes of signing in.
#[derive(Deserialize)]
struct DeleteRequest {
    #[serde(default)]
    password: Option<String>,
}

#[derive(Deserialize)]
struct ChangeEmailRequest {
    new_email: String,
    #[serde(default)]
    password: Option<String>,
}

fn optional_password(raw: Option<&str>) -> Option<Password> {
    raw.filter(|p| !p.is_empty()).map(Password::new)
}

/// Deletes the account with everything stored about it; the cookie goes too.
async fn delete_me(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ClientInfo(client): ClientInfo,
    ApiJson(req): ApiJson<DeleteRequest>,
) -> Result<Response, ApiError> {
    let password = optional_password(req.password.as_deref());
    state.auth().delete_account(&me, password.as_ref(), &client).await?;
    let clear = state.cookies().clear(&state.cookies().session);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// 202: the change happens when the link mailed to the new address is used.
async fn change_email(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ClientInfo(client): ClientInfo,
    ApiJson(req): ApiJson<ChangeEmailRequest>,
) -> Result<Response, ApiError> {
    let password = optional_password(req.password.as_deref());
    state.auth().request_email_change(&me, password.as_ref(), &req.new_email, &client).await?;
    let detail = "we sent a confirmation link to the new address; the change happens when it is followed";
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "detail": detail }))).into_response())
}
