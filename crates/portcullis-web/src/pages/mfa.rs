//! Two-factor pages: the sign-in step (`/login/mfa`) and enrolment, recovery codes
//! and turning it off under `/account/mfa`.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use portcullis_core::service::Confirmation;
use portcullis_core::{AuthError, Password};
use serde::Deserialize;

use super::context::{LoginMfaPage, MfaPage};
use super::{Chrome, Flash, form_target_after, redirect_with_flash, with_form_target};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm, CurrentUser, PendingUser};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(paths::LOGIN_MFA, get(get_login_mfa).post(post_login_mfa))
        .route(paths::ACCOUNT_MFA, get(get_mfa))
        .route(paths::ACCOUNT_MFA_ENABLE, post(post_enable))
        .route(paths::ACCOUNT_MFA_CONFIRM, post(post_confirm))
        .route(paths::ACCOUNT_MFA_DISABLE, post(post_disable))
        .route(paths::ACCOUNT_MFA_CODES, post(post_codes))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NextQuery {
    next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CodeForm {
    code: String,
    next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    password: String,
}

fn safe_next<'a>(state: &AppState, next: &'a str) -> &'a str {
    state.config().safe_next(next).unwrap_or(paths::ACCOUNT)
}

fn code_error(e: &AuthError) -> Option<(StatusCode, String)> {
    match e {
        AuthError::InvalidCode => Some((
            StatusCode::UNAUTHORIZED,
            "That code is not right (or was already used). Try the current one.".into(),
        )),
        AuthError::InvalidCredentials => Some((StatusCode::UNAUTHORIZED, "The password is wrong.".into())),
        AuthError::RateLimited { retry_after } => Some((
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many attempts. Try again in {}.", crate::error::wait_text(*retry_after)),
        )),
        _ => None,
    }
}

async fn get_login_mfa(
    State(state): State<AppState>,
    PendingUser(pending): PendingUser,
    chrome: Chrome,
    Query(q): Query<NextQuery>,
) -> Response {
    let Some(pending) = pending else {
        return Redirect::to(paths::LOGIN).into_response();
    };
    let has_passkeys = has_passkeys(&state, &pending).await;
    let page = LoginMfaPage { next: safe_next(&state, &q.next).to_owned(), error: None, has_passkeys };
    let target = form_target_after(&state, &q.next).await;
    with_form_target(chrome.render(&state, StatusCode::OK, &page), target)
}

async fn post_login_mfa(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    headers: axum::http::HeaderMap,
    PendingUser(pending): PendingUser,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Response {
    let Some(pending) = pending else {
        return Redirect::to(paths::LOGIN).into_response();
    };
    match state.auth().complete_mfa_login(&pending, &form.code, &client).await {
        Ok(outcome) => {
            let max_age =
                outcome.session.remember.then_some(outcome.session.expires_at - outcome.session.created_at);
            let cookie = state.cookies().set(&state.cookies().session, outcome.token.expose(), max_age);
            let mut res =
                ([(header::SET_COOKIE, cookie)], Redirect::to(safe_next(&state, &form.next))).into_response();
            super::device::after_sign_in(&state, &headers, &outcome.user, &client, &mut res).await;
            res
        }
        Err(e) => match code_error(&e) {
            Some((status, error)) => {
                let has_passkeys = has_passkeys(&state, &pending).await;
                let next = safe_next(&state, &form.next).to_owned();
                let page = LoginMfaPage { next, error: Some(error), has_passkeys };
                let target = form_target_after(&state, &form.next).await;
                with_form_target(chrome.render(&state, status, &page), target)
            }
            None => PageError::from(e).into_response(),
        },
    }
}

/// Whether the second step may offer "Use a passkey" (a failure to look is logged
/// and only hides the button: the code form still works).
async fn has_passkeys(state: &AppState, pending: &portcullis_core::service::Authenticated) -> bool {
    if !state.auth().passkeys_enabled() {
        return false;
    }
    match state.auth().list_passkeys(&pending.user).await {
        Ok(p) => !p.is_empty(),
        Err(e) => {
            tracing::warn!(error = %e, "could not list passkeys");
            false
        }
    }
}

/// The MFA page: `page` with whether it is on and how many recovery codes are left.
async fn render_mfa(
    state: &AppState,
    me: &CurrentUser,
    chrome: Chrome,
    status: StatusCode,
    page: MfaPage,
) -> Response {
    let left = match state.auth().recovery_codes_left(&me.0.user).await {
        Ok(n) => n,
        Err(e) => return PageError::from(e).into_response(),
    };
    let page = MfaPage { enabled: me.0.user.mfa_enabled, codes_left: left, ..page };
    chrome.render(state, status, &page)
}

/// The MFA page again with why a code or password was refused, or the error page.
async fn refused(
    state: &AppState,
    me: &CurrentUser,
    chrome: Chrome,
    e: AuthError,
    page: MfaPage,
) -> Response {
    match code_error(&e) {
        Some((status, error)) => {
            render_mfa(state, me, chrome, status, MfaPage { error: Some(error), ..page }).await
        }
        None => PageError::from(e).into_response(),
    }
}

async fn get_mfa(State(state): State<AppState>, me: CurrentUser, chrome: Chrome) -> Response {
    render_mfa(&state, &me, chrome, StatusCode::OK, MfaPage::default()).await
}

async fn post_enable(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    me: CurrentUser,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Response {
    let password = (!form.password.is_empty()).then(|| Password::new(&form.password));
    let confirm = Confirmation { password: password.as_ref(), code: None };
    let started = match state.auth().reauthenticate(&me.0, &confirm, &client).await {
        Ok(()) => state.auth().mfa_begin(&me.0.user).await,
        Err(e) => Err(e),
    };
    match started {
        Ok(e) => {
            let qr = format!(
                "data:image/svg+xml;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(&e.qr_svg)
            );
            let page = MfaPage {
                enrolling: true,
                secret: Some(e.secret),
                qr_data_uri: Some(qr),
                otpauth_uri: Some(e.otpauth_uri),
                ..MfaPage::default()
            };
            render_mfa(&state, &me, chrome, StatusCode::OK, page).await
        }
        Err(AuthError::ReauthRequired) => {
            let error = "Enter your password to set up two-factor authentication.".to_owned();
            let page = MfaPage { error: Some(error), ask_password: true, ..MfaPage::default() };
            render_mfa(&state, &me, chrome, StatusCode::FORBIDDEN, page).await
        }
        Err(e) => match code_error(&e) {
            Some((status, error)) => {
                let page = MfaPage { error: Some(error), ask_password: true, ..MfaPage::default() };
                render_mfa(&state, &me, chrome, status, page).await
            }
            None => PageError::from(e).into_response(),
        },
    }
}

async fn post_confirm(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    me: CurrentUser,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Response {
    match state.auth().mfa_confirm(&me.0.user, &form.code, &client).await {
        Ok(codes) => {
            let page = MfaPage { enabled_now: true, codes, ..MfaPage::default() };
            render_mfa(&state, &me, chrome, StatusCode::OK, page).await
        }
        Err(e) => {
            let page = MfaPage { retry_enrolment: true, ..MfaPage::default() };
            refused(&state, &me, chrome, e, page).await
        }
    }
}

async fn post_disable(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    me: CurrentUser,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Response {
    let password = Password::new(&form.password);
    let confirm = Confirmation { password: Some(&password), code: None };
    match state.auth().mfa_disable(&me.0, &confirm, &client).await {
        Ok(()) => redirect_with_flash(&state, paths::ACCOUNT, Flash::MfaDisabled),
        Err(e) => refused(&state, &me, chrome, e, MfaPage::default()).await,
    }
}

async fn post_codes(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    me: CurrentUser,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Response {
    let password = Password::new(&form.password);
    let confirm = Confirmation { password: Some(&password), code: None };
    match state.auth().regenerate_recovery_codes(&me.0, &confirm, &client).await {
        Ok(codes) => {
            render_mfa(&state, &me, chrome, StatusCode::OK, MfaPage { codes, ..MfaPage::default() }).await
        }
        Err(e) => refused(&state, &me, chrome, e, MfaPage::default()).await,
    }
}
