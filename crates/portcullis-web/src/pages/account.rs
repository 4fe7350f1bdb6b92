//! `/account`: the signed-in user's email (verification, change), sessions
//! (revocable), security log, password change, data export and deletion.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portcullis_core::{AuthError, FieldError, Password};
use serde::Deserialize;

use super::context::{AccountData, AccountErrors, AccountPage};
use super::{Chrome, Flash, redirect_with_flash};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm, CurrentUser};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT, get(get_account))
        .route(paths::ACCOUNT_PASSWORD, post(post_password))
        .route(paths::ACCOUNT_SESSION_REVOKE, post(post_revoke))
        .route(paths::ACCOUNT_GRANT_REVOKE, post(post_revoke_grant))
        .route(paths::ACCOUNT_EMAIL, post(post_email))
        .route(paths::ACCOUNT_DELETE, post(post_delete))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    new_password_confirm: String,
}

#[derive(Debug, Default, Deserialize)]
struct RevokeForm {}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EmailForm {
    new_email: String,
    password: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DeleteForm {
    password: String,
    confirm: Option<String>,
}

/// A password field left empty means "I signed in recently".
pub(super) fn optional_password(raw: &str) -> Option<Password> {
    (!raw.is_empty()).then(|| Password::new(raw))
}

/// Field errors for a sensitive change's password field, or the page for the rest.
pub(super) fn sensitive_errors(e: AuthError, field: &'static str) -> Result<Vec<FieldError>, PageError> {
    Ok(match e {
        AuthError::Validation(errors) => errors,
        AuthError::InvalidCredentials => {
            vec![FieldError::new(field, "invalid_credentials", "the current password is wrong")]
        }
        AuthError::ReauthRequired => vec![FieldError::new(
            field,
            "reauthentication_required",
            "enter your current password (you signed in more than 10 minutes ago)",
        )],
        other => return Err(PageError::from(other)),
    })
}

/// 401 for a wrong password, 403 when one is needed, else 422.
pub(super) fn status_for(errors: &[FieldError]) -> StatusCode {
    if errors.iter().any(|e| e.code == "invalid_credentials") {
        StatusCode::UNAUTHORIZED
    } else if errors.iter().any(|e| e.code == "reauthentication_required") {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// The account page, with the first error of each refused field and the new
/// address typed into the change-of-address form, if any.
pub(super) async fn render(
    state: &AppState,
    me: &CurrentUser,
    chrome: Chrome,
    status: StatusCode,
    errors: &[FieldError],
    new_email: Option<String>,
) -> Response {
    let user = &me.0.user;
    let lists = match state.auth().account_lists(user, 20).await {
        Ok(l) => l,
        Err(e) => return PageError::from(e).into_response(),
    };
    let grants = match state.auth().name_grants(lists.families).await {
        Ok(g) => g,
        Err(e) => return PageError::from(e).into_response(),
    };
    let (sessions, events, passkeys, identities) =
        (lists.sessions, lists.events, lists.passkeys, lists.identities);
    let providers: Vec<(String, String)> =
        state.auth().identity_providers().map(|p| (p.id.clone(), p.name.clone())).collect();
    let data = AccountData {
        user,
        session_id: me.0.session.id,
        sessions: &sessions,
        grants: &grants,
        events: &events,
        passkeys: &passkeys,
        passkeys_enabled: state.auth().passkeys_enabled(),
        identities: &identities,
        providers: &providers,
    };
    let page =
        AccountPage { errors: AccountErrors::from_fields(errors), new_email, ..AccountPage::new(&data) };
    chrome.render(state, status, &page)
}

async fn get_account(State(state): State<AppState>, me: CurrentUser, chrome: Chrome) -> Response {
    render(&state, &me, chrome, StatusCode::OK, &[], None).await
}

async fn post_password(
    State(state): State<AppState>,
    me: CurrentUser,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Response {
    let errors = if form.new_password == form.new_password_confirm {
        let (current, new) = (Password::new(&form.current_password), Password::new(&form.new_password));
        match state.auth().change_password(&me.0.user, me.0.token_hash, &current, &new, &client).await {
            Ok(()) => return redirect_with_flash(&state, paths::ACCOUNT, Flash::PasswordChanged),
            Err(AuthError::InvalidCredentials) => {
                vec![FieldError::new(
                    "current_password",
                    "invalid_credentials",
                    "the current password is wrong",
                )]
            }
            Err(AuthError::Validation(errors)) => errors,
            Err(e) => return PageError::from(e).into_response(),
        }
    } else {
        vec![FieldError::new("new_password_confirm", "password_mismatch", "the two passwords do not match")]
    };
    render(&state, &me, chrome, status_for(&errors), &errors, None).await
}

async fn post_email(
    State(state): State<AppState>,
    me: CurrentUser,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Response {
    let password = optional_password(&form.password);
    let errors =
        match state.auth().request_email_change(&me.0, password.as_ref(), &form.new_email, &client).await {
            Ok(()) => return redirect_with_flash(&state, paths::ACCOUNT, Flash::EmailChangeSent),
            Err(e) => match sensitive_errors(e, "email_password") {
                Ok(errors) => errors,
                Err(page) => return page.into_response(),
            },
        };
    render(&state, &me, chrome, status_for(&errors), &errors, Some(form.new_email)).await
}

async fn post_delete(
    State(state): State<AppState>,
    me: CurrentUser,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Response {
    let errors = if form.confirm.as_deref() == Some("on") {
        let password = optional_password(&form.password);
        match state.auth().delete_account(&me.0, password.as_ref(), &client).await {
            Ok(()) => {
                let mut res = redirect_with_flash(&state, paths::HOME, Flash::AccountDeleted);
                res.headers_mut().append(header::SET_COOKIE, state.cookies().clear(&state.cookies().session));
                return res;
            }
            Err(e) => match sensitive_errors(e, "delete_password") {
                Ok(errors) => errors,
                Err(page) => return page.into_response(),
            },
        }
    } else {
        vec![FieldError::new("confirm", "confirmation_required", "tick the box to confirm the deletion")]
    };
    render(&state, &me, chrome, status_for(&errors), &errors, None).await
}

async fn post_revoke(
    State(state): State<AppState>,
    me: CurrentUser,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<RevokeForm>,
) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return PageError::not_found().into_response();
    };
    if let Err(e) = state.auth().revoke_session(me.0.user.id, id, &client).await {
        return PageError::from(e).into_response();
    }
    if id == me.0.session.id {
        let mut res = redirect_with_flash(&state, paths::HOME, Flash::LoggedOut);
        res.headers_mut().append(header::SET_COOKIE, state.cookies().clear(&state.cookies().session));
        return res;
    }
    redirect_with_flash(&state, paths::ACCOUNT, Flash::SessionRevoked)
}

async fn post_revoke_grant(
    State(state): State<AppState>,
    me: CurrentUser,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<RevokeForm>,
) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return PageError::not_found().into_response();
    };
    match state.auth().revoke_grant(&me.0.user, id, &client).await {
        Ok(()) => redirect_with_flash(&state, paths::ACCOUNT, Flash::ApplicationRevoked),
        Err(e) => PageError::from(e).into_response(),
    }
}
