//! `/admin/events`: the security log of every account, newest first, filtered by
//! user and kind, paged by key (the event id), like `GET /api/v1/admin/events`.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portcullis_core::admin::EventQuery;
use portcullis_core::audit::EventKind;
use serde::Deserialize;

use super::{Admin, validation_text};
use crate::error::PageError;
use crate::pages::Chrome;
use crate::pages::context::{AdminEventRow, AdminEventsPage, machine_time};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(paths::ADMIN_EVENTS, get(list))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Filters {
    user: String,
    kind: String,
    after: String,
}

fn some(raw: &str) -> Option<&str> {
    Some(raw.trim()).filter(|v| !v.is_empty())
}

async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    chrome: Chrome,
    Query(f): Query<Filters>,
) -> Response {
    let query = match EventQuery::parse(some(&f.user), some(&f.kind), None, some(&f.after)) {
        Ok(query) => query,
        Err(e) => {
            let message = validation_text(&e).unwrap_or_else(|| "Those filters cannot be read.".into());
            return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, message).into_response();
        }
    };
    let page = match state.auth().admin_events(&query).await {
        Ok(page) => page,
        Err(e) => return PageError::from(e).into_response(),
    };
    let next_url = page.next.as_ref().map(|next| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [("user", f.user.trim()), ("kind", f.kind.trim())] {
            if !value.is_empty() {
                url.append_pair(key, value);
            }
        }
        url.append_pair("after", next);
        format!("{}?{}", paths::ADMIN_EVENTS, url.finish())
    });
    let body = AdminEventsPage {
        user: f.user.trim().to_owned(),
        kind: f.kind.trim().to_owned(),
        kinds: EventKind::ALL.iter().map(|k| k.as_str().to_owned()).collect(),
        events: page
            .items
            .into_iter()
            .map(|e| AdminEventRow {
                user_url: e.user_id.map(|id| paths::ADMIN_USER.replace("{id}", &id.to_string())),
                actor: e.actor_id,
                kind: e.kind,
                outcome: e.outcome,
                at: machine_time(e.created_at),
                ip: e.ip,
                detail: e.detail,
            })
            .collect(),
        next_url,
    };
    chrome.render(&state, StatusCode::OK, &body)
}
