//! `/forgot-password` (the same page and status whatever the address) and
//! `/reset-password?token=T` (the token travels on in a hidden field).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portcullis_core::{AuthError, FieldError, Password};
use serde::Deserialize;

use super::context::{ForgotPasswordPage, PasswordErrors, ResetPasswordPage};
use super::{Chrome, Flash, redirect_with_flash};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm};
use crate::mail::human;
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(paths::FORGOT_PASSWORD, get(get_forgot).post(post_forgot))
        .route(paths::RESET_PASSWORD, get(get_reset).post(post_reset))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ForgotForm {
    email: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct TokenQuery {
    token: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ResetForm {
    token: String,
    password: String,
    password_confirm: String,
}

async fn get_forgot(State(state): State<AppState>, chrome: Chrome) -> Response {
    chrome.render(&state, StatusCode::OK, &ForgotPasswordPage::default())
}

async fn post_forgot(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> Response {
    if let Err(e) = state.auth().forgot_password(&form.email, &client).await {
        return PageError::from(e).into_response();
    }
    let expires_in = human(state.auth().config().email.reset_ttl);
    chrome.render(&state, StatusCode::OK, &ForgotPasswordPage { sent: true, expires_in: Some(expires_in) })
}

async fn get_reset(State(state): State<AppState>, chrome: Chrome, Query(q): Query<TokenQuery>) -> Response {
    if let Err(e) = state.auth().check_reset_token(&q.token).await {
        return PageError::from(e).into_response();
    }
    chrome.render(&state, StatusCode::OK, &ResetPasswordPage { token: q.token, errors: None })
}

async fn post_reset(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Response {
    let errors = if form.password == form.password_confirm {
        let password = Password::new(&form.password);
        match state.auth().reset_password(&form.token, &password, &client).await {
            Ok(_) => {
                // Every session ended, this browser's too.
                let mut res = redirect_with_flash(&state, paths::LOGIN, Flash::PasswordReset);
                res.headers_mut().append(header::SET_COOKIE, state.cookies().clear(&state.cookies().session));
                return res;
            }
            Err(AuthError::Validation(errors)) => errors,
            Err(e) => return PageError::from(e).into_response(),
        }
    } else {
        vec![FieldError::new("password_confirm", "password_mismatch", "the two passwords do not match")]
    };
    let page = ResetPasswordPage { token: form.token, errors: PasswordErrors::from_fields(&errors) };
    chrome.render(&state, StatusCode::UNPROCESSABLE_ENTITY, &page)
}
