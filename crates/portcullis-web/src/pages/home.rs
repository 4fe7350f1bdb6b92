//! The home page: who is signed in, or links to sign in and register.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use super::Chrome;
use super::context::HomePage;
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(paths::HOME, get(get_home))
}

async fn get_home(State(state): State<AppState>, chrome: Chrome) -> Response {
    chrome.render(&state, StatusCode::OK, &HomePage {})
}
