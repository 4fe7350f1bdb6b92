//! Links from mails: `/verify-email?token=T` (verification or a change of address),
//! `/undo-email-change?token=T` (a form: mail scanners follow links, and undoing
//! signs everyone out), "send the link again", and the "check your email" page.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portcullis_core::service::EmailLinkOutcome;
use serde::Deserialize;

use super::context::{CheckEmailPage, EmailLinkPage, UndoEmailChangePage};
use super::{Chrome, Flash, redirect_with_flash};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(paths::VERIFY_EMAIL, get(get_verify))
        .route(paths::VERIFY_EMAIL_RESEND, post(post_resend))
        .route(paths::UNDO_EMAIL_CHANGE, get(get_undo).post(post_undo))
        .route(paths::CHECK_EMAIL, get(get_check_email))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct TokenForm {
    token: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResendForm {
    email: String,
}

async fn get_verify(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    Query(q): Query<TokenForm>,
) -> Response {
    let changed_to = match state.auth().use_email_link(&q.token, &client).await {
        Ok(EmailLinkOutcome::Verified) => None,
        Ok(EmailLinkOutcome::Changed { email }) => Some(email),
        Err(e) => return PageError::from(e).into_response(),
    };
    chrome.render(&state, StatusCode::OK, &EmailLinkPage { changed_to })
}

/// Signed in: a new link for one's own address. Anonymous (from the sign-in page):
/// by address, with an answer that never depends on the account.
async fn post_resend(
    State(state): State<AppState>,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<ResendForm>,
) -> Response {
    if let Some(me) = &chrome.user {
        if me.user.email_verified {
            return axum::response::Redirect::to(paths::ACCOUNT).into_response();
        }
        return match state.auth().resend_verification(&me.user).await {
            Ok(()) => redirect_with_flash(&state, paths::ACCOUNT, Flash::VerificationSent),
            Err(e) => PageError::from(e).into_response(),
        };
    }
    state.auth().resend_verification_to(&form.email);
    redirect_with_flash(&state, paths::LOGIN, Flash::VerificationSentIf)
}

async fn get_undo(State(state): State<AppState>, chrome: Chrome, Query(q): Query<TokenForm>) -> Response {
    match state.auth().check_undo_token(&q.token).await {
        Ok(address) => chrome.render(&state, StatusCode::OK, &UndoEmailChangePage::ask(address, q.token)),
        Err(e) => PageError::from(e).into_response(),
    }
}

async fn post_undo(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    mut chrome: Chrome,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Response {
    let restored = match state.auth().undo_email_change(&form.token, &client).await {
        Ok(address) => address,
        Err(e) => return PageError::from(e).into_response(),
    };
    // Every session ended, this browser's too.
    chrome.user = None;
    let mut res = chrome.render(&state, StatusCode::OK, &UndoEmailChangePage::done(restored));
    res.headers_mut().append(header::SET_COOKIE, state.cookies().clear(&state.cookies().session));
    res
}

async fn get_check_email(State(state): State<AppState>, chrome: Chrome) -> Response {
    chrome.render(&state, StatusCode::OK, &CheckEmailPage {})
}
