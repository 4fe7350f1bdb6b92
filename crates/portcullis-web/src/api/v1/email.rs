//! Links from mails over JSON: forgot and reset the password, verify (or confirm a
//! change of) the address, ask for a new verification link, undo a change.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::{FieldError, Password};
use serde::Deserialize;

use super::Routes;
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientInfo, MaybeUser};
use crate::paths;
use crate::state::AppState;

pub(super) fn routes() -> Routes {
    Routes::new()
        .post(paths::API_PASSWORD_FORGOT, forgot)
        .post(paths::API_PASSWORD_RESET, reset)
        .post(paths::API_EMAIL_VERIFY, verify)
        .post(paths::API_EMAIL_RESEND, resend)
        .post(paths::API_EMAIL_UNDO, undo)
}

#[derive(Deserialize)]
struct ForgotRequest {
    email: String,
}

#[derive(Deserialize)]
struct ResetRequest {
    token: String,
    password: String,
}

#[derive(Deserialize)]
struct TokenRequest {
    token: String,
}

#[derive(Deserialize)]
struct ResendRequest {
    #[serde(default)]
    email: Option<String>,
}

fn accepted(detail: &str) -> Response {
    (StatusCode::ACCEPTED, Json(serde_json::json!({ "detail": detail }))).into_response()
}

/// 202 whatever the address: whether an account exists is never revealed.
async fn forgot(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(req): ApiJson<ForgotRequest>,
) -> Response {
    if let Err(e) = state.auth().forgot_password(&req.email, &client).await {
        return ApiError::from(e).into_response();
    }
    accepted("if an account uses this address, a link to reset its password is on its way")
}

/// Ends every session, this client's too.
async fn reset(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(req): ApiJson<ResetRequest>,
) -> Result<Response, ApiError> {
    state.auth().reset_password(&req.token, &Password::new(&req.password), &client).await?;
    let clear = state.cookies().clear(&state.cookies().session);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

async fn verify(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<StatusCode, ApiError> {
    state.auth().use_email_link(&req.token, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Signed in: a new link for one's own address (429 past the limit). Anonymous:
/// `{email}`, answered 202 whatever the account.
async fn resend(
    State(state): State<AppState>,
    MaybeUser(me): MaybeUser,
    ApiJson(req): ApiJson<ResendRequest>,
) -> Result<Response, ApiError> {
    if let Some(me) = me {
        state.auth().resend_verification(&me.user).await?;
    } else if let Some(email) = req.email {
        state.auth().resend_verification_to(&email);
    } else {
        return Err(ApiError::validation(vec![FieldError::new(
            "email",
            "required",
            "give the address to send the link to, or sign in",
        )]));
    }
    Ok(accepted("if the address still needs confirming, a new link is on its way"))
}

/// Puts the old address back; every session ends, this client's too.
async fn undo(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<Response, ApiError> {
    state.auth().undo_email_change(&req.token, &client).await?;
    let clear = state.cookies().clear(&state.cookies().session);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}
