//! `/admin/keys`: the token signing keys (public part and dates only) and rotating
//! them, as `portcullis keys rotate` does.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portcullis_core::audit::ActedBy;

use super::{Admin, PasswordForm, Refused, answer, asks_password, confirm};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm};
use crate::pages::Chrome;
use crate::pages::context::{AdminKeyRow, AdminKeysPage, machine_time};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(paths::ADMIN_KEYS, get(list)).route(paths::ADMIN_KEYS_ROTATE, post(rotate))
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
    let done = async {
        confirm(&state, &me.0, &form.password, &client).await?;
        state.auth().rotate_signing_key(&ActedBy::admin(me.0.user.id, client.clone())).await?;
        Ok::<_, Refused>(paths::ADMIN_KEYS.to_owned())
    }
    .await;
    answer(done, async |status, error| list_page(&state, &me, chrome, status, Some(error)).await).await
}
