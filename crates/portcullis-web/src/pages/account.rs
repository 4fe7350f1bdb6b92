//! `/account`: the signed-in user's email (verification, change), sessions
//! (revocable), security log, password change, data export and deletion.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use portcullis_core::{AuthError, FieldError, Password};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;

use super::{Chrome, Flash, field_errors, redirect_with_flash};
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

pub(super) async fn render(
    state: &AppState,
    me: &CurrentUser,
    chrome: Chrome,
    status: StatusCode,
    extra: Value,
) -> Response {
    let sessions = match state.auth().list_sessions(me.0.user.id).await {
        Ok(s) => s,
        Err(e) => return PageError::from(e).into_response(),
    };
    let grants = match state.auth().list_grants(&me.0.user).await {
        Ok(g) => g,
        Err(e) => return PageError::from(e).into_response(),
    };
    let events = match state.auth().events_of(me.0.user.id, 20).await {
        Ok(e) => e,
        Err(e) => return PageError::from(e).into_response(),
    };
    let passkeys = match state.auth().list_passkeys(&me.0.user).await {
        Ok(p) => p,
        Err(e) => return PageError::from(e).into_response(),
    };
    let fmt = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let human = |t: time::OffsetDateTime| {
        t.format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC"))
            .unwrap_or_default()
    };
    let events: Vec<Value> = events
        .iter()
        .map(|e| {
            context! {
                what => event_text(&e.kind, e.detail.as_deref()),
                failed => e.outcome == "failure",
                at => fmt(e.created_at),
                at_text => human(e.created_at),
                ip => &e.ip,
                user_agent => &e.user_agent,
            }
        })
        .collect();
    let sessions: Vec<Value> = sessions
        .iter()
        .map(|s| {
            context! {
                id => s.id.to_string(),
                created_at => fmt(s.created_at),
                created_text => human(s.created_at),
                last_seen_at => fmt(s.last_seen_at),
                last_seen_text => human(s.last_seen_at),
                ip => &s.ip,
                user_agent => &s.user_agent,
                current => s.id == me.0.session.id,
            }
        })
        .collect();
    let passkeys: Vec<Value> = passkeys
        .iter()
        .map(|p| {
            context! {
                id => p.id.to_string(),
                name => &p.name,
                sign_count => p.sign_count,
                created_at => fmt(p.created_at),
                created_text => human(p.created_at),
                last_used_at => p.last_used_at.map(fmt),
                last_used_text => p.last_used_at.map(human),
            }
        })
        .collect();
    let passkeys_enabled = state.auth().passkeys_enabled();
    let grants: Vec<Value> = grants
        .iter()
        .map(|(f, name)| {
            context! {
                id => f.id.to_string(),
                name => name.clone().unwrap_or_else(|| "API client (token sign-in)".to_owned()),
                scope => &f.scope,
                signed_in_at => fmt(f.auth_time),
                signed_in_text => human(f.auth_time),
            }
        })
        .collect();
    let ctx = context! { passkeys, passkeys_enabled, grants, user => context! { email => &me.0.user.email, email_verified => me.0.user.email_verified,
    mfa_enabled => me.0.user.mfa_enabled, created_at => fmt(me.0.user.created_at), created_text => human(me.0.user.created_at) }, sessions, events, ..extra };
    chrome.render(state, status, "account.html", ctx)
}

async fn get_account(State(state): State<AppState>, me: CurrentUser, chrome: Chrome) -> Response {
    render(&state, &me, chrome, StatusCode::OK, context! {}).await
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
    render(&state, &me, chrome, status_for(&errors), context! { errors => field_errors(&errors) }).await
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
    let ctx = context! { errors => field_errors(&errors), new_email => form.new_email };
    render(&state, &me, chrome, status_for(&errors), ctx).await
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
    render(&state, &me, chrome, status_for(&errors), context! { errors => field_errors(&errors) }).await
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

/// How the security log names an event.
fn event_text(kind: &str, detail: Option<&str>) -> &'static str {
    match (kind, detail) {
        ("register", Some("email_taken")) => return "Someone tried to register with your address",
        ("email_changed", Some("undone")) => return "Email change undone from the old address",
        ("login_succeeded", Some("passkey" | "passkey_mfa")) => return "Signed in with a passkey",
        ("login_failed", Some("passkey")) => return "Failed passkey sign-in",
        _ => {}
    }
    match kind {
        "register" => "Account created",
        "login_succeeded" => "Signed in",
        "login_failed" => "Failed sign-in attempt",
        "login_throttled" => "Sign-in blocked after too many attempts",
        "logout" => "Signed out",
        "password_changed" => "Password changed",
        "password_reset" => "Password reset",
        "email_verified" => "Email verified",
        "email_changed" => "Email changed",
        "mfa_enabled" => "Two-factor authentication turned on",
        "mfa_disabled" => "Two-factor authentication turned off",
        "session_revoked" => "A session was signed out",
        "user_disabled" => "Account disabled by an administrator",
        "user_enabled" => "Account enabled by an administrator",
        "passkey_added" => "Passkey added",
        "passkey_renamed" => "Passkey renamed",
        "passkey_removed" => "Passkey removed",
        "refresh_token_reused" => "A used sign-in token came back: that sign-in was ended",
        "consent_granted" => "An application was allowed to sign you in",
        "tokens_revoked" => "An application was signed out",
        _ => "Security event",
    }
}
