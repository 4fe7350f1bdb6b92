//! `/login`: email and password, optional "remember me", and a `next` that is only
//! followed when it is a local path.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use portcullis_core::{AuthError, Password};
use serde::Deserialize;

use super::context::LoginPage;
use super::{Chrome, form_target_after, with_form_target};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(paths::LOGIN, get(get_login).post(post_login))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LoginQuery {
    next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LoginForm {
    email: String,
    password: String,
    remember_me: Option<String>,
    next: String,
}

/// A sign-in that went through (by password or by email): the answer sets the
/// session cookie and goes on to `next`, or to the second step.
pub(super) struct SignedIn<'a> {
    pub outcome: portcullis_core::service::LoginOutcome,
    pub remember: bool,
    /// As sent; followed only if [`safe_next`] lets it.
    pub next: &'a str,
}

impl SignedIn<'_> {
    pub(super) async fn respond(
        self,
        state: &AppState,
        chrome: &Chrome,
        headers: &axum::http::HeaderMap,
        client: &portcullis_core::service::ClientMeta,
    ) -> Response {
        let Self { outcome, remember, next } = self;
        if let Some(previous) = &chrome.user {
            // A sign-in over an existing session replaces it.
            let _ = state.auth().logout(previous.user.id, previous.token_hash, client).await;
        }
        let target = match safe_next(state, next) {
            "" => paths::ACCOUNT,
            next => next,
        };
        if outcome.session.mfa_pending {
            let cookie = state.cookies().set(&state.cookies().session, outcome.token.expose(), None);
            let to = paths::with_next(paths::LOGIN_MFA, target);
            return ([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response();
        }
        let max_age = remember.then_some(outcome.session.expires_at - outcome.session.created_at);
        let cookie = state.cookies().set(&state.cookies().session, outcome.token.expose(), max_age);
        let mut res = ([(header::SET_COOKIE, cookie)], Redirect::to(target)).into_response();
        super::device::after_sign_in(state, headers, &outcome.user, client, &mut res).await;
        res
    }
}

/// `next` if it may be followed, else nothing.
pub(super) fn safe_next<'a>(state: &AppState, next: &'a str) -> &'a str {
    state.config().safe_next(next).unwrap_or_default()
}

async fn get_login(State(state): State<AppState>, chrome: Chrome, Query(q): Query<LoginQuery>) -> Response {
    let passkeys_enabled = state.auth().passkeys_enabled();
    let next = safe_next(&state, &q.next).to_owned();
    let providers = super::upstream::sign_in_buttons(&state, &next);
    let email_signin = state.auth().email_signin_enabled();
    let page = LoginPage { next, passkeys_enabled, providers, email_signin, ..LoginPage::default() };
    let target = form_target_after(&state, &q.next).await;
    with_form_target(chrome.render(&state, StatusCode::OK, &page), target)
}

async fn post_login(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    headers: axum::http::HeaderMap,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Response {
    let remember = form.remember_me.as_deref() == Some("on");
    let password = Password::new(&form.password);
    let message = match state.auth().login(&form.email, &password, remember, &client).await {
        Ok(outcome) => {
            let signed_in = SignedIn { outcome, remember, next: &form.next };
            return signed_in.respond(&state, &chrome, &headers, &client).await;
        }
        Err(AuthError::InvalidCredentials) => {
            (StatusCode::UNAUTHORIZED, "Invalid email or password.".to_owned(), None, false)
        }
        Err(AuthError::AccountDisabled) => (
            StatusCode::FORBIDDEN,
            "This account has been disabled. Contact your administrator.".to_owned(),
            None,
            false,
        ),
        Err(AuthError::EmailUnverified) => (
            StatusCode::FORBIDDEN,
            "Confirm your email address first: follow the link we sent to it. No mail? Ask for a new link below."
                .to_owned(),
            None,
            true,
        ),
        Err(AuthError::RateLimited { retry_after }) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many sign-in attempts. Try again in {}, or reset your password.",
                crate::error::wait_text(retry_after)
            ),
            Some(retry_after),
            false,
        ),
        Err(e) => return PageError::from(e).into_response(),
    };
    let (status, error, retry_after, unverified) = message;
    let passkeys_enabled = state.auth().passkeys_enabled();
    let next = safe_next(&state, &form.next).to_owned();
    let target = form_target_after(&state, &form.next).await;
    let providers = super::upstream::sign_in_buttons(&state, &next);
    let page = LoginPage {
        email: form.email,
        next,
        error: Some(error),
        unverified,
        passkeys_enabled,
        notice: None,
        providers,
        email_signin: state.auth().email_signin_enabled(),
    };
    let mut res = with_form_target(chrome.render(&state, status, &page), target);
    if let Some(secs) = retry_after {
        res.headers_mut().insert(header::RETRY_AFTER, secs.into());
    }
    res
}
