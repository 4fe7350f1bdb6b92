//! `/api/v1/admin/groups`: list, create, delete (the group `admin` always exists).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use portcullis_core::groups::Group;
use serde::{Deserialize, Serialize};

use super::Routes;
use crate::error::ApiError;
use crate::extract::{Administrator, ApiJson};
use crate::paths;
use crate::state::AppState;

pub(super) fn routes() -> Routes {
    Routes::new()
        .get(paths::API_ADMIN_GROUPS, list)
        .post(paths::API_ADMIN_GROUPS, create)
        .delete(paths::API_ADMIN_GROUP, delete)
}

#[derive(Serialize)]
struct GroupResponse {
    name: String,
    description: String,
    members: u64,
}

impl From<Group> for GroupResponse {
    fn from(g: Group) -> Self {
        Self { name: g.name.into_string(), description: g.description, members: g.members }
    }
}

#[derive(Serialize)]
struct GroupList {
    groups: Vec<GroupResponse>,
}

async fn list(State(state): State<AppState>, _: Administrator) -> Result<Json<GroupList>, ApiError> {
    let groups = state.auth().list_groups().await?;
    Ok(Json(GroupList { groups: groups.into_iter().map(GroupResponse::from).collect() }))
}

#[derive(Deserialize)]
struct CreateRequest {
    name: String,
    #[serde(default)]
    description: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    admin: Administrator,
    ApiJson(req): ApiJson<CreateRequest>,
) -> Result<(StatusCode, Json<GroupResponse>), ApiError> {
    let description = req.description.unwrap_or_default();
    let group = state.auth().create_group(&req.name, &description, admin.by).await?;
    Ok((StatusCode::CREATED, Json(GroupResponse::from(group))))
}

async fn delete(
    State(state): State<AppState>,
    admin: Administrator,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.auth().delete_group(&name, admin.by).await?;
    Ok(StatusCode::NO_CONTENT)
}
