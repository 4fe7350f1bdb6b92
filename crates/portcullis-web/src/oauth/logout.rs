//! `/oauth2/logout`, the `end_session_endpoint` (OpenID Connect RP-Initiated
//! Logout): GET asks for confirmation (it never signs out by itself); POST signs out
//! and returns to the client when `post_logout_redirect_uri` is registered for it.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm};
use crate::pages::context::OAuthLogoutPage;
use crate::pages::{Chrome, Flash, redirect_with_flash};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(paths::OAUTH_LOGOUT, get(get_logout).post(post_logout))
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct LogoutParams {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

/// Where to go afterwards: the registered URI of the client named by `client_id`
/// or by the `id_token_hint`'s audience (when both are given they must agree).
async fn return_to(state: &AppState, p: &LogoutParams) -> Result<Option<String>, PageError> {
    let Some(uri) = p.post_logout_redirect_uri.as_deref() else { return Ok(None) };
    let hinted = match p.id_token_hint.as_deref() {
        Some(hint) => Some(state.auth().id_token_hint_client(hint).await.ok_or_else(|| {
            PageError::new(StatusCode::BAD_REQUEST, "The sign-out request carries an invalid id_token_hint.")
        })?),
        None => None,
    };
    let client = match (hinted, p.client_id.clone()) {
        (Some(a), Some(b)) if a != b => {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "The sign-out request names two applications.",
            ));
        }
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => return Ok(None),
    };
    let target = state.auth().post_logout_redirect(&client, uri, p.state.as_deref()).await?;
    target.map(Some).ok_or_else(|| {
        PageError::new(StatusCode::BAD_REQUEST, "The return address is not registered for this application.")
    })
}

async fn get_logout(
    State(state): State<AppState>,
    chrome: Chrome,
    Query(p): Query<LogoutParams>,
) -> Response {
    let target = match return_to(&state, &p).await {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    if chrome.user.is_none() {
        // Nothing to sign out of.
        return match target {
            Some(url) => Redirect::to(&url).into_response(),
            None => Redirect::to(paths::HOME).into_response(),
        };
    }
    let request = serde_urlencoded::to_string(&p).unwrap_or_default();
    // Signing out returns to the client.
    let page = chrome.render(&state, StatusCode::OK, &OAuthLogoutPage { request });
    crate::pages::with_form_target(page, target.as_deref().and_then(crate::headers::FormTarget::also))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LogoutForm {
    request: String,
}

async fn post_logout(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<LogoutForm>,
) -> Response {
    let Ok(p) = serde_urlencoded::from_str::<LogoutParams>(&form.request) else {
        return PageError::new(StatusCode::BAD_REQUEST, "The sign-out request is malformed.").into_response();
    };
    let target = match return_to(&state, &p).await {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    if let Some(current) = &chrome.user
        && let Err(e) = state.auth().logout(current.user.id, current.token_hash, &client).await
    {
        return PageError::from(e).into_response();
    }
    let mut res = match target {
        Some(url) => Redirect::to(&url).into_response(),
        None => redirect_with_flash(&state, paths::HOME, Flash::LoggedOut),
    };
    res.headers_mut().append(header::SET_COOKIE, state.cookies().clear(&state.cookies().session));
    res
}
