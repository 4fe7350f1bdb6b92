//! `/api/v1/admin/users`: the listing, one user, and the changes an
//! administrator makes to an account. Each change is audited with the
//! administrator as actor, in the user's own security log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::admin::{UserChanges, UserQuery};
use serde::{Deserialize, Serialize};

use super::{AdminUserResponse, Routes, user_id};
use crate::error::ApiError;
use crate::extract::{Administrator, ApiJson, ApiQuery};
use crate::paths;
use crate::state::AppState;

pub(super) fn routes() -> Routes {
    Routes::new()
        .get(paths::API_ADMIN_USERS, list)
        .get(paths::API_ADMIN_USER, show)
        .patch(paths::API_ADMIN_USER, update)
        .delete(paths::API_ADMIN_USER, delete)
        .post(paths::API_ADMIN_USER_SIGN_OUT, sign_out)
        .delete(paths::API_ADMIN_USER_MFA, reset_mfa)
        .post(paths::API_ADMIN_USER_PASSWORD_RESET, password_reset)
        .put(paths::API_ADMIN_USER_GROUP, add_to_group)
        .delete(paths::API_ADMIN_USER_GROUP, remove_from_group)
}

#[derive(Deserialize)]
struct ListParams {
    q: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

#[derive(Serialize)]
struct UserList {
    users: Vec<AdminUserResponse>,
    /// The `after` of the next page; `null` on the last.
    next: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    _: Administrator,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<UserList>, ApiError> {
    let query = UserQuery::parse(p.q.as_deref(), p.limit.as_deref(), p.after.as_deref())?;
    let page = state.auth().admin_users(&query).await?;
    Ok(Json(UserList { users: page.items.iter().map(AdminUserResponse::from).collect(), next: page.next }))
}

async fn show(
    State(state): State<AppState>,
    _: Administrator,
    Path(id): Path<String>,
) -> Result<Json<AdminUserResponse>, ApiError> {
    let user = state.auth().admin_user(user_id(&id)?).await?;
    Ok(Json(AdminUserResponse::from(&user)))
}

/// What may change; an absent field stays as it is.
#[derive(Deserialize)]
struct UpdateRequest {
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    email_verified: Option<bool>,
}

async fn update(
    State(state): State<AppState>,
    admin: Administrator,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateRequest>,
) -> Result<Json<AdminUserResponse>, ApiError> {
    let changes = UserChanges { disabled: req.disabled, email_verified: req.email_verified };
    let user = state.auth().update_user(user_id(&id)?, changes, &admin.by).await?;
    Ok(Json(AdminUserResponse::from(&user)))
}

async fn delete(
    State(state): State<AppState>,
    admin: Administrator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.auth().delete_user_by_id(user_id(&id)?, &admin.by).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sign_out(
    State(state): State<AppState>,
    admin: Administrator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.auth().sign_out_user(user_id(&id)?, &admin.by).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reset_mfa(
    State(state): State<AppState>,
    admin: Administrator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.auth().reset_user_mfa(user_id(&id)?, &admin.by).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 202: the mail is queued; it leaves with the outbox's next round.
async fn password_reset(
    State(state): State<AppState>,
    admin: Administrator,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.auth().send_password_reset(user_id(&id)?, &admin.by).await?;
    let detail = "a password-reset link was mailed to the user";
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "detail": detail }))).into_response())
}

async fn add_to_group(
    State(state): State<AppState>,
    admin: Administrator,
    Path((id, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.auth().add_user_to_group(user_id(&id)?, &name, &admin.by).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_from_group(
    State(state): State<AppState>,
    admin: Administrator,
    Path((id, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.auth().remove_user_from_group(user_id(&id)?, &name, &admin.by).await?;
    Ok(StatusCode::NO_CONTENT)
}
