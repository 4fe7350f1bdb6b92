//! `/admin/clients`: the OAuth 2.0 / OpenID Connect clients; registering one (its
//! secret is shown once, on the page that answers the form) and deleting one (with
//! everything issued to it).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use portcullis_core::oauth::ClientFlags;
use serde::Deserialize;

use super::{Admin, asks_password, confirm, validation_text};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm};
use crate::pages::Chrome;
use crate::pages::context::{AdminClientCreatedPage, AdminClientRow, AdminClientsPage};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ADMIN_CLIENTS, get(list).post(create))
        .route(paths::ADMIN_CLIENT_DELETE, post(delete))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CreateForm {
    name: String,
    /// One redirect URI per line.
    redirect_uris: String,
    /// Checkboxes: `on` when ticked.
    public: String,
    first_party: String,
    resource_server: String,
    password: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    password: String,
}

async fn list_page(
    state: &AppState,
    me: &Admin,
    chrome: Chrome,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let clients = match state.auth().list_clients().await {
        Ok(clients) => clients,
        Err(e) => return PageError::from(e).into_response(),
    };
    let page = AdminClientsPage {
        clients: clients
            .into_iter()
            .map(|c| AdminClientRow {
                delete_url: paths::ADMIN_CLIENT_DELETE.replace("{id}", &c.id),
                id: c.id,
                name: c.name,
                redirect_uris: c.redirect_uris,
                public: c.public,
                first_party: c.first_party,
                resource_server: c.resource_server,
                created_at: crate::pages::context::machine_time(c.created_at),
            })
            .collect(),
        ask_password: asks_password(state, &me.0),
        error,
    };
    chrome.render(state, status, &page)
}

async fn list(State(state): State<AppState>, me: Admin, chrome: Chrome) -> Response {
    list_page(&state, &me, chrome, StatusCode::OK, None).await
}

async fn create(
    State(state): State<AppState>,
    me: Admin,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<CreateForm>,
) -> Response {
    if let Err((status, error)) = confirm(&state, &me.0, &form.password, &client).await {
        return list_page(&state, &me, chrome, status, Some(error)).await;
    }
    let uris: Vec<String> =
        form.redirect_uris.lines().map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned).collect();
    let flags = ClientFlags {
        public: form.public == "on",
        first_party: form.first_party == "on",
        resource_server: form.resource_server == "on",
    };
    match state.auth().create_client(&form.name, &uris, flags).await {
        Ok(created) => {
            tracing::info!(target: "portcullis::audit", admin = %me.0.user.id, client_id = %created.client.id, "client registered from the admin console");
            let page = AdminClientCreatedPage {
                id: created.client.id,
                name: created.client.name,
                secret: created.secret.map(|s| s.expose().to_owned()),
            };
            chrome.render(&state, StatusCode::CREATED, &page)
        }
        Err(e) => match validation_text(&e) {
            Some(error) => {
                list_page(&state, &me, chrome, StatusCode::UNPROCESSABLE_ENTITY, Some(error)).await
            }
            None => PageError::from(e).into_response(),
        },
    }
}

async fn delete(
    State(state): State<AppState>,
    me: Admin,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Response {
    if let Err((status, error)) = confirm(&state, &me.0, &form.password, &client).await {
        return list_page(&state, &me, chrome, status, Some(error)).await;
    }
    match state.auth().delete_client(&id).await {
        Ok(true) => Redirect::to(paths::ADMIN_CLIENTS).into_response(),
        Ok(false) => PageError::not_found().into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}
