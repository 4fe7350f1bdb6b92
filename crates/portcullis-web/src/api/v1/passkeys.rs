//! Passkeys over JSON: the WebAuthn registration and sign-in ceremonies (the
//! `publicKey` options go to `navigator.credentials`, its answer comes back to
//! `finish`), listing, renaming and removing. The page script `passkeys.js` uses
//! these same endpoints.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::passkeys::{PasskeyRecord, PublicKeyCredential, RegisterPublicKeyCredential};
use portcullis_core::{Password, SecretToken};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Routes;
use super::{UserEnvelope, UserResponse};
use crate::cookies;
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientInfo, CurrentUser, MaybeUser, OptionalJson, PendingUser};
use crate::paths;
use crate::state::AppState;

/// How long the browser keeps the binding of a passkey sign-in (the ceremony's
/// own lifetime).
const CEREMONY_COOKIE_AGE: time::Duration = time::Duration::minutes(5);

pub(super) fn routes() -> Routes {
    Routes::new()
        .get(paths::API_PASSKEYS, list)
        .patch(paths::API_PASSKEY, rename)
        .delete(paths::API_PASSKEY, remove)
        .post(paths::API_PASSKEYS_REGISTER_START, register_start)
        .post(paths::API_PASSKEYS_REGISTER_FINISH, register_finish)
        .post(paths::API_LOGIN_PASSKEY_START, login_start)
        .post(paths::API_LOGIN_PASSKEY_FINISH, login_finish)
}

/// A passkey as its owner sees it: never the key material.
#[derive(Serialize)]
pub(crate) struct PasskeyResponse {
    id: String,
    name: String,
    /// The authenticator's signature counter last seen (0 when it keeps none).
    sign_count: i64,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    last_used_at: Option<OffsetDateTime>,
}

impl From<&PasskeyRecord> for PasskeyResponse {
    fn from(p: &PasskeyRecord) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name.clone(),
            sign_count: p.sign_count,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// `{password}` where a recent sign-in does not suffice.
#[derive(Deserialize, Default)]
struct ConfirmRequest {
    #[serde(default)]
    password: Option<String>,
}

#[derive(Deserialize)]
struct RegisterFinishRequest {
    #[serde(default)]
    name: String,
    credential: RegisterPublicKeyCredential,
}

#[derive(Deserialize)]
struct RenameRequest {
    name: String,
}

#[derive(Deserialize)]
struct LoginFinishRequest {
    credential: PublicKeyCredential,
    #[serde(default)]
    remember_me: bool,
}

fn passkey_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(raw).map_err(|_| ApiError::not_found().detail("no such passkey"))
}

async fn list(State(state): State<AppState>, CurrentUser(me): CurrentUser) -> Result<Response, ApiError> {
    let passkeys = state.auth().list_passkeys(&me.user).await?;
    Ok(Json(passkeys.iter().map(PasskeyResponse::from).collect::<Vec<_>>()).into_response())
}

async fn register_start(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    CurrentUser(me): CurrentUser,
    OptionalJson(req): OptionalJson<ConfirmRequest>,
) -> Result<Response, ApiError> {
    let password = req.password.as_deref().map(Password::new);
    let options = state.auth().passkey_register_start(&me, password.as_ref(), &client).await?;
    Ok(Json(options).into_response())
}

async fn register_finish(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    CurrentUser(me): CurrentUser,
    ApiJson(req): ApiJson<RegisterFinishRequest>,
) -> Result<Response, ApiError> {
    let passkey = state.auth().passkey_register_finish(&me, &req.name, &req.credential, &client).await?;
    Ok((StatusCode::CREATED, Json(PasskeyResponse::from(&passkey))).into_response())
}

async fn rename(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RenameRequest>,
) -> Result<StatusCode, ApiError> {
    state.auth().rename_passkey(&me, passkey_id(&id)?, &req.name, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
    OptionalJson(req): OptionalJson<ConfirmRequest>,
) -> Result<StatusCode, ApiError> {
    let id = passkey_id(&id)?;
    let password = req.password.as_deref().map(Password::new);
    state.auth().remove_passkey(&me, id, password.as_ref(), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Anonymous: options for any discoverable credential. With a half-authenticated
/// session: options naming that user's passkeys (the second step of a sign-in).
async fn login_start(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    PendingUser(pending): PendingUser,
) -> Result<Response, ApiError> {
    // A secret for this browser alone: finishing needs it back.
    let binding = SecretToken::generate();
    let options = state.auth().passkey_login_start(pending.as_ref(), binding.hash(), &client).await?;
    let cookie = state.cookies().set(&state.cookies().passkey, binding.expose(), Some(CEREMONY_COOKIE_AGE));
    Ok(([(header::SET_COOKIE, cookie)], Json(options)).into_response())
}

async fn login_finish(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    PendingUser(pending): PendingUser,
    MaybeUser(previous): MaybeUser,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginFinishRequest>,
) -> Result<Response, ApiError> {
    let browser =
        cookies::get(&headers, &state.cookies().passkey).and_then(SecretToken::parse).map(|t| t.hash());
    let login = state
        .auth()
        .passkey_login_finish(pending.as_ref(), browser, &req.credential, req.remember_me, &client)
        .await?;
    if let Some(previous) = previous {
        // A sign-in over an existing session replaces it.
        state.auth().logout(previous.user.id, previous.token_hash, &client).await?;
    }
    let session = &login.outcome.session;
    let max_age = session.remember.then_some(session.expires_at - session.created_at);
    let cookie = state.cookies().set(&state.cookies().session, login.outcome.token.expose(), max_age);
    let body = Json(UserEnvelope { user: UserResponse::from(&login.outcome.user) });
    let mut res = ([(header::SET_COOKIE, cookie)], body).into_response();
    res.headers_mut().append(header::SET_COOKIE, state.cookies().clear(&state.cookies().passkey));
    crate::pages::device::after_sign_in(&state, &headers, &login.outcome.user, &client, &mut res).await;
    Ok(res)
}
