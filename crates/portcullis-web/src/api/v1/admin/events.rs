//! `/api/v1/admin/events`: the security log of everyone, by user and kind, newest
//! first, with who made each change (`actor_id`: `cli` or an administrator's id).

use axum::Json;
use axum::extract::State;
use portcullis_core::Event;
use portcullis_core::admin::EventQuery;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Routes;
use crate::error::ApiError;
use crate::extract::{Administrator, ApiQuery};
use crate::paths;
use crate::state::AppState;

pub(super) fn routes() -> Routes {
    Routes::new().get(paths::API_ADMIN_EVENTS, list)
}

#[derive(Deserialize)]
struct ListParams {
    user: Option<String>,
    kind: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

#[derive(Serialize)]
struct AdminEventResponse {
    id: i64,
    kind: String,
    outcome: String,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    user_id: Option<String>,
    actor_id: Option<String>,
    ip: Option<String>,
    detail: Option<String>,
}

impl From<Event> for AdminEventResponse {
    fn from(e: Event) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            outcome: e.outcome,
            at: e.created_at,
            user_id: e.user_id.map(|u| u.to_string()),
            actor_id: e.actor_id,
            ip: e.ip,
            detail: e.detail,
        }
    }
}

#[derive(Serialize)]
struct EventList {
    events: Vec<AdminEventResponse>,
    /// The `after` of the next page; `null` on the last.
    next: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    _: Administrator,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<EventList>, ApiError> {
    let query =
        EventQuery::parse(p.user.as_deref(), p.kind.as_deref(), p.limit.as_deref(), p.after.as_deref())?;
    let page = state.auth().admin_events(&query).await?;
    Ok(Json(EventList {
        events: page.items.into_iter().map(AdminEventResponse::from).collect(),
        next: page.next,
    }))
}
