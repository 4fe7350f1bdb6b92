//! Register, log in and log out over JSON.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::email_signin::EmailProof;
use portcullis_core::service::{Authenticated, ClientMeta, LoginOutcome, Registered, Registration, Via};
use portcullis_core::{AuthError, FieldError, Password};
use serde::Deserialize;

use super::Routes;
use super::{UserEnvelope, UserResponse};
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientInfo, MaybeUser};
use crate::paths;
use crate::state::AppState;

pub(super) fn routes() -> Routes {
    Routes::new()
        .post(paths::API_REGISTER, register)
        .post(paths::API_LOGIN, login)
        .post(paths::API_LOGOUT, logout)
        .post(paths::API_LOGIN_EMAIL, login_email)
        .post(paths::API_LOGIN_EMAIL_VERIFY, login_email_verify)
}

#[derive(Deserialize)]
struct RegisterRequest {
    email: String,
    password: String,
}

#[derive(Deserialize)]
struct LoginRequest {
    email: String,
    password: String,
    #[serde(default)]
    remember_me: bool,
}

#[derive(Deserialize)]
struct EmailSignInRequest {
    email: String,
}

#[derive(Deserialize)]
struct EmailSignInVerifyRequest {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    remember_me: bool,
}

async fn register(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<Response, ApiError> {
    let password = Password::new(&req.password);
    let reg = Registration { email: &req.email, password: &password, verified: false, admin: false };
    let registered = state.auth().register(reg, &client).await?;
    match registered {
        Registered::Created(user) if !state.auth().config().email.require_verification => {
            Ok((StatusCode::CREATED, Json(UserEnvelope { user: UserResponse::from(&user) })).into_response())
        }
        // The same answer whether the address was free or taken (no enumeration).
        Registered::Created(_) | Registered::AddressInUse => Ok((
            StatusCode::ACCEPTED,
            Json(serde_json::json!({
                "status": "verification_required",
                "detail": "we sent a link to the address; follow it to finish, then sign in",
            })),
        )
            .into_response()),
    }
}

async fn login(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    MaybeUser(previous): MaybeUser,
    headers: axum::http::HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let password = Password::new(&req.password);
    let outcome = state.auth().login(&req.email, &password, req.remember_me, &client).await?;
    signed_in(&state, &client, previous, &headers, outcome, req.remember_me).await
}

/// The answer of a sign-in (by password or by email): the session cookie and the
/// user, or `{"mfa_required": true}` with a half-authenticated session.
async fn signed_in(
    state: &AppState,
    client: &ClientMeta,
    previous: Option<Authenticated>,
    headers: &axum::http::HeaderMap,
    outcome: LoginOutcome,
    remember: bool,
) -> Result<Response, ApiError> {
    if let Some(previous) = previous {
        state.auth().logout(previous.user.id, previous.token_hash, client).await?;
    }
    if outcome.session.mfa_pending {
        // Half-authenticated: the cookie reaches nothing but /api/v1/login/mfa.
        let cookie = state.cookies().set(&state.cookies().session, outcome.token.expose(), None);
        let body = Json(serde_json::json!({ "mfa_required": true }));
        return Ok(([(header::SET_COOKIE, cookie)], body).into_response());
    }
    let max_age = remember.then_some(outcome.session.expires_at - outcome.session.created_at);
    let cookie = state.cookies().set(&state.cookies().session, outcome.token.expose(), max_age);
    let body = Json(UserEnvelope { user: UserResponse::from(&outcome.user) });
    let mut res = ([(header::SET_COOKIE, cookie)], body).into_response();
    crate::pages::device::after_sign_in(state, headers, &outcome.user, client, &mut res).await;
    Ok(res)
}

/// 202 whatever the address (issue #21): whether an account exists is never revealed.
async fn login_email(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(req): ApiJson<EmailSignInRequest>,
) -> Result<Response, ApiError> {
    state.auth().request_email_signin(&req.email, &client).await?;
    let detail = "if an account uses this address, a sign-in link and code are on their way";
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "detail": detail }))).into_response())
}

/// The mailed link's token, or the address and the mailed code.
async fn login_email_verify(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    MaybeUser(previous): MaybeUser,
    headers: axum::http::HeaderMap,
    ApiJson(req): ApiJson<EmailSignInVerifyRequest>,
) -> Result<Response, ApiError> {
    let proof = match (&req.token, &req.email, &req.code) {
        (Some(token), None, None) => EmailProof::Link(token),
        (None, Some(email), Some(code)) => EmailProof::Code { email, code },
        _ => {
            let message = "send either token, or email and code";
            return Err(
                AuthError::Validation(vec![FieldError::new("token", "token_or_code", message)]).into()
            );
        }
    };
    let outcome = state.auth().email_signin(proof, req.remember_me, &client).await?;
    signed_in(&state, &client, previous, &headers, outcome, req.remember_me).await
}

async fn logout(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    MaybeUser(current): MaybeUser,
) -> Result<Response, ApiError> {
    if let Some(current) = current {
        match current.via {
            // A bearer client signs out by ending its token family.
            Via::Bearer { family: Some(family) } => {
                state.auth().revoke_family(family, &current.user, &client).await?;
            }
            _ => state.auth().logout(current.user.id, current.token_hash, &client).await?,
        }
    }
    let clear = state.cookies().clear(&state.cookies().session);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}
