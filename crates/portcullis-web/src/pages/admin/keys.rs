//! `/admin/keys`: the token signing keys (public part and dates only) and rotating
//! them, as `portcullis keys rotate` does.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Admin, asks_password, confirm};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm};
use crate::pages::Chrome;
use crate::pages::context::{AdminKeyRow, AdminKeysPage, machine_time};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(paths::ADMIN_KEYS, get(list)).route(paths::ADMIN_KEYS_ROTATE, post(rotate))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    password: String,
}

async fn list_page(
    state: &AppState,
    me: &Admin,
    chrome: Chrome,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let keys = match state.auth().keys().list().await {
        Ok(keys) => keys,
        Err(e) => return PageError::from(e).into_response(),
    };
    let page = AdminKeysPage {
        keys: keys
            .into_iter()
            .map(|k| AdminKeyRow {
                kid: k.kid,
                alg: k.alg,
                created_at: machine_time(k.created_at),
                retired_at: k.retired_at.map(machine_time),
            })
            .collect(),
        ask_password: asks_password(state, &me.0),
        error,
    };
    chrome.render(state, status, &page)
}

async fn list(State(state): State<AppState>, me: Admin, chrome: Chrome) -> Response {
    list_page(&state, &me, chrome, StatusCode::OK, None).await
}

async fn rotate(
    State(state): State<AppState>,
    me: Admin,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Response {
    if let Err((status, error)) = confirm(&state, &me.0, &form.password, &client).await {
        return list_page(&state, &me, chrome, status, Some(error)).await;
    }
    match state.auth().keys().rotate().await {
        Ok(key) => {
            tracing::info!(target: "portcullis::audit", admin = %me.0.user.id, kid = %key.kid, "signing key rotated from the admin console");
            Redirect::to(paths::ADMIN_KEYS).into_response()
        }
        Err(e) => PageError::from(e).into_response(),
    }
}
