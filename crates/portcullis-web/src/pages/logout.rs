//! `/logout`: GET shows a confirmation button and never signs out; POST does.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::context::LogoutPage;
use super::{Chrome, Flash, redirect_with_flash};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(paths::LOGOUT, get(get_logout).post(post_logout))
}

#[derive(Debug, Default, Deserialize)]
struct LogoutForm {}

async fn get_logout(State(state): State<AppState>, chrome: Chrome) -> Response {
    chrome.render(&state, StatusCode::OK, &LogoutPage {})
}

async fn post_logout(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    CsrfForm(_): CsrfForm<LogoutForm>,
) -> Response {
    if let Some(current) = &chrome.user
        && let Err(e) = state.auth().logout(current.user.id, current.token_hash, &client).await
    {
        return PageError::from(e).into_response();
    }
    let mut res = redirect_with_flash(&state, paths::HOME, Flash::LoggedOut);
    res.headers_mut().append(header::SET_COOKIE, state.cookies().clear(&state.cookies().session));
    res
}
