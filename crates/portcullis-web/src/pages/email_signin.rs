//! Signing in by email (issue #21): "Email me a sign-in link" on `/login` posts to
//! `/login/email/send`, which answers with the page where the mailed code is
//! entered (`/login/email/code`); the mailed link `/login/email?token=T` shows a
//! confirm button and signs in only when it is pressed (mail scanners follow links).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portcullis_core::AuthError;
use portcullis_core::email_signin::EmailProof;
use serde::Deserialize;

use super::context::{LoginEmailCodePage, LoginEmailPage};
use super::login::{SignedIn, safe_next};
use super::{Chrome, form_target_after, with_form_target};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(paths::LOGIN_EMAIL, get(get_link).post(post_link))
        .route(paths::LOGIN_EMAIL_SEND, post(post_send))
        .route(paths::LOGIN_EMAIL_CODE, post(post_code))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct TokenForm {
    token: String,
    remember_me: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SendForm {
    email: String,
    next: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct CodeForm {
    email: String,
    code: String,
    next: String,
    remember_me: Option<String>,
}

/// The confirm page; nothing is spent here.
async fn get_link(State(state): State<AppState>, chrome: Chrome, Query(q): Query<TokenForm>) -> Response {
    match state.auth().check_email_signin_link(&q.token).await {
        Ok(()) => chrome.render(&state, StatusCode::OK, &LoginEmailPage { token: q.token }),
        Err(e) => PageError::from(e).into_response(),
    }
}

async fn post_link(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    headers: axum::http::HeaderMap,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Response {
    let remember = form.remember_me.as_deref() == Some("on");
    match state.auth().email_signin(EmailProof::Link(&form.token), remember, &client).await {
        Ok(outcome) => {
            SignedIn { outcome, remember, next: "" }.respond(&state, &chrome, &headers, &client).await
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

/// The same page whatever the address; only the rate limits answer otherwise.
async fn post_send(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<SendForm>,
) -> Response {
    if let Err(e) = state.auth().request_email_signin(&form.email, &client).await {
        return PageError::from(e).into_response();
    }
    let target = form_target_after(&state, &form.next).await;
    let page =
        LoginEmailCodePage { next: safe_next(&state, &form.next).to_owned(), email: form.email, error: None };
    with_form_target(chrome.render(&state, StatusCode::OK, &page), target)
}

async fn post_code(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    headers: axum::http::HeaderMap,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Response {
    let remember = form.remember_me.as_deref() == Some("on");
    let proof = EmailProof::Code { email: &form.email, code: &form.code };
    let (status, error, retry_after) = match state.auth().email_signin(proof, remember, &client).await {
        Ok(outcome) => {
            return SignedIn { outcome, remember, next: &form.next }
                .respond(&state, &chrome, &headers, &client)
                .await;
        }
        Err(AuthError::InvalidCode) => {
            (StatusCode::UNAUTHORIZED, "Invalid or expired code.".to_owned(), None)
        }
        Err(AuthError::RateLimited { retry_after }) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many attempts. Try again in {}.", crate::error::wait_text(retry_after)),
            Some(retry_after),
        ),
        Err(e) => return PageError::from(e).into_response(),
    };
    let next = safe_next(&state, &form.next).to_owned();
    let target = form_target_after(&state, &form.next).await;
    let page = LoginEmailCodePage { email: form.email, next, error: Some(error) };
    let mut res = with_form_target(chrome.render(&state, status, &page), target);
    if let Some(secs) = retry_after {
        res.headers_mut().insert(header::RETRY_AFTER, secs.into());
    }
    res
}
