//! `/accept-invitation?token=T` (SPEC §8): an invited account chooses its first
//! password and is signed in. The token stays in the query string, so the form's
//! fields are only `password`, `password_confirm` and `csrf_token`.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portcullis_core::{AuthError, FieldError, Password};
use serde::Deserialize;

use super::context::{AcceptInvitationPage, PasswordErrors};
use super::{Chrome, Flash, redirect_with_flash};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(paths::ACCEPT_INVITATION, get(get_accept).post(post_accept))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct TokenQuery {
    token: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct AcceptForm {
    password: String,
    password_confirm: String,
}

async fn get_accept(State(state): State<AppState>, chrome: Chrome, Query(q): Query<TokenQuery>) -> Response {
    render_form(state, chrome, q.token.trim(), StatusCode::OK, None).await
}

async fn post_accept(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    Query(q): Query<TokenQuery>,
    CsrfForm(form): CsrfForm<AcceptForm>,
) -> Response {
    let token = q.token.trim();
    let errors = if form.password == form.password_confirm {
        let password = Password::new(&form.password);
        match state.auth().accept_invitation(token, &password, &client).await {
            Ok(outcome) => {
                if let Some(previous) = &chrome.user {
                    // Signing in to the invited account replaces whatever session this browser had.
                    let _ = state.auth().logout(previous.user.id, previous.token_hash, &client).await;
                }
                let mut res = redirect_with_flash(&state, paths::ACCOUNT, Flash::InvitationAccepted);
                let cookie = state.cookies().set(&state.cookies().session, outcome.token.expose(), None);
                res.headers_mut().append(header::SET_COOKIE, cookie);
                return res;
            }
            Err(AuthError::Validation(errors)) => errors,
            Err(e) => return PageError::from(e).into_response(),
        }
    } else {
        vec![FieldError::new("password_confirm", "password_mismatch", "the two passwords do not match")]
    };
    let errors = PasswordErrors::from_fields(&errors);
    render_form(state, chrome, token, StatusCode::UNPROCESSABLE_ENTITY, errors).await
}

/// The form for the invitation `token`, or the 400 page when the link cannot be used.
async fn render_form(
    state: AppState,
    chrome: Chrome,
    token: &str,
    status: StatusCode,
    errors: Option<PasswordErrors>,
) -> Response {
    let user = match state.auth().check_invitation(token).await {
        Ok(user) => user,
        Err(e) => return PageError::from(e).into_response(),
    };
    let page = AcceptInvitationPage { token: token.to_owned(), email: user.email, errors };
    chrome.render(&state, status, &page)
}
