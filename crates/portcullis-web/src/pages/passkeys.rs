//! Passkey forms of the account page: rename and remove (adding one is a WebAuthn
//! ceremony, run by `static/passkeys.js` over the JSON API).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use portcullis_core::{AuthError, FieldError};
use serde::Deserialize;

use super::account::{optional_password, render, sensitive_errors, status_for};
use super::{Chrome, Flash, redirect_with_flash};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm, CurrentUser};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT_PASSKEY_RENAME, post(post_rename))
        .route(paths::ACCOUNT_PASSKEY_DELETE, post(post_delete))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RenameForm {
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DeleteForm {
    password: String,
}

fn passkey_id(raw: &str) -> Result<uuid::Uuid, PageError> {
    uuid::Uuid::parse_str(raw).map_err(|_| PageError::not_found())
}

async fn post_rename(
    State(state): State<AppState>,
    me: CurrentUser,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RenameForm>,
) -> Response {
    let id = match passkey_id(&id) {
        Ok(id) => id,
        Err(page) => return page.into_response(),
    };
    let errors = match state.auth().rename_passkey(&me.0, id, &form.name, &client).await {
        Ok(()) => return redirect_with_flash(&state, paths::ACCOUNT, Flash::PasskeyRenamed),
        Err(AuthError::Validation(errors)) => errors
            .into_iter()
            .map(|e| FieldError::new("passkey", e.code, format!("passkey name: {}", e.message)))
            .collect::<Vec<_>>(),
        Err(e) => return PageError::from(e).into_response(),
    };
    render(&state, &me, chrome, status_for(&errors), &errors, None).await
}

async fn post_delete(
    State(state): State<AppState>,
    me: CurrentUser,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Response {
    let id = match passkey_id(&id) {
        Ok(id) => id,
        Err(page) => return page.into_response(),
    };
    let password = optional_password(&form.password);
    let errors = match state.auth().remove_passkey(&me.0, id, password.as_ref(), &client).await {
        Ok(()) => return redirect_with_flash(&state, paths::ACCOUNT, Flash::PasskeyRemoved),
        Err(e) => match sensitive_errors(e, "passkey") {
            Ok(errors) => errors,
            Err(page) => return page.into_response(),
        },
    };
    render(&state, &me, chrome, status_for(&errors), &errors, None).await
}
