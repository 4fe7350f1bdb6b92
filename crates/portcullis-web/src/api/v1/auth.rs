//! Register, log in and log out over JSON.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::Password;
use portcullis_core::service::{Registered, Registration, Via};
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
    if let Some(previous) = previous {
        state.auth().logout(previous.user.id, previous.token_hash, &client).await?;
    }
    if outcome.session.mfa_pending {
        // Half-authenticated: the cookie reaches nothing but /api/v1/login/mfa.
        let cookie = state.cookies().set(&state.cookies().session, outcome.token.expose(), None);
        let body = Json(serde_json::json!({ "mfa_required": true }));
        return Ok(([(header::SET_COOKIE, cookie)], body).into_response());
    }
    let max_age = req.remember_me.then_some(outcome.session.expires_at - outcome.session.created_at);
    let cookie = state.cookies().set(&state.cookies().session, outcome.token.expose(), max_age);
    let body = Json(UserEnvelope { user: UserResponse::from(&outcome.user) });
    let mut res = ([(header::SET_COOKIE, cookie)], body).into_response();
    crate::pages::upstream::link_pending(&state, &headers, &outcome.user, &client, &mut res).await;
    Ok(res)
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
