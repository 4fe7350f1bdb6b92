//! Two-factor authentication over JSON: enrolment, the sign-in step, recovery codes,
//! turning it off.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::Password;
use portcullis_core::service::Confirmation;
use serde::{Deserialize, Serialize};

use super::Routes;
use super::{UserEnvelope, UserResponse};
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientInfo, CurrentUser, OptionalJson, PendingUser};
use crate::paths;
use crate::state::AppState;

pub(super) fn routes() -> Routes {
    Routes::new()
        .post(paths::API_LOGIN_MFA, login_mfa)
        .post(paths::API_MFA_TOTP, begin)
        .delete(paths::API_MFA_TOTP, disable)
        .post(paths::API_MFA_TOTP_CONFIRM, confirm)
        .post(paths::API_MFA_RECOVERY_CODES, regenerate)
}

#[derive(Deserialize)]
struct CodeRequest {
    code: String,
}

/// `{password}` or `{code}`; both optional where a recent sign-in suffices.
#[derive(Deserialize, Default)]
struct ConfirmRequest {
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// `{password}` where a recent sign-in does not suffice (enrolment takes no code).
#[derive(Deserialize, Default)]
struct PasswordRequest {
    #[serde(default)]
    password: Option<String>,
}

#[derive(Serialize)]
struct EnrolmentResponse {
    secret: String,
    otpauth_uri: String,
    qr_svg: String,
}

#[derive(Serialize)]
struct RecoveryCodes {
    recovery_codes: Vec<String>,
}

async fn login_mfa(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    headers: axum::http::HeaderMap,
    PendingUser(pending): PendingUser,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<Response, ApiError> {
    let pending = pending.ok_or_else(ApiError::unauthenticated)?;
    let outcome = state.auth().complete_mfa_login(&pending, &req.code, &client).await?;
    let max_age = outcome.session.remember.then_some(outcome.session.expires_at - outcome.session.created_at);
    let cookie = state.cookies().set(&state.cookies().session, outcome.token.expose(), max_age);
    let mut res =
        ([(header::SET_COOKIE, cookie)], Json(UserEnvelope { user: UserResponse::from(&outcome.user) }))
            .into_response();
    crate::pages::device::after_sign_in(&state, &headers, &outcome.user, &client, &mut res).await;
    Ok(res)
}

async fn begin(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    CurrentUser(me): CurrentUser,
    OptionalJson(req): OptionalJson<PasswordRequest>,
) -> Result<Json<EnrolmentResponse>, ApiError> {
    let password = req.password.as_deref().map(Password::new);
    let confirm = Confirmation { password: password.as_ref(), code: None };
    state.auth().reauthenticate(&me, &confirm, &client).await?;
    let e = state.auth().mfa_begin(&me.user).await?;
    Ok(Json(EnrolmentResponse { secret: e.secret, otpauth_uri: e.otpauth_uri, qr_svg: e.qr_svg }))
}

async fn confirm(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    CurrentUser(me): CurrentUser,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let recovery_codes = state.auth().mfa_confirm(&me.user, &req.code, &client).await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

async fn regenerate(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    CurrentUser(me): CurrentUser,
    OptionalJson(req): OptionalJson<ConfirmRequest>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let password = req.password.as_deref().map(Password::new);
    let confirm = Confirmation { password: password.as_ref(), code: req.code.as_deref() };
    let recovery_codes = state.auth().regenerate_recovery_codes(&me, &confirm, &client).await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

async fn disable(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    CurrentUser(me): CurrentUser,
    OptionalJson(req): OptionalJson<ConfirmRequest>,
) -> Result<StatusCode, ApiError> {
    let password = req.password.as_deref().map(Password::new);
    let confirm = Confirmation { password: password.as_ref(), code: req.code.as_deref() };
    state.auth().mfa_disable(&me, &confirm, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
