//! `/admin/clients`: the OAuth 2.0 / OpenID Connect clients; registering one (its
//! secret is shown once, on the page that answers the form) and deleting one (with
//! everything issued to it).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portcullis_core::audit::ActedBy;
use portcullis_core::oauth::ClientFlags;
use serde::Deserialize;

use super::{Admin, PasswordForm, Refused, answer, asks_password, confirm};
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
    let created = async {
        confirm(&state, &me.0, &form.password, &client).await?;
        let uris: Vec<String> =
            form.redirect_uris.lines().map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned).collect();
        let flags = ClientFlags {
            public: form.public == "on",
            first_party: form.first_party == "on",
            resource_server: form.resource_server == "on",
        };
        let by = ActedBy::admin(me.0.user.id, client.clone());
        Ok::<_, Refused>(state.auth().create_client(&form.name, &uris, flags, &by).await?)
    }
    .await;
    match created {
        Ok(created) => {
            let page = AdminClientCreatedPage {
                id: created.client.id,
                name: created.client.name,
                secret: created.secret.map(|s| s.expose().to_owned()),
            };
            chrome.render(&state, StatusCode::CREATED, &page)
        }
        Err(refused) => {
            answer(Err(refused), async |status, error| {
                list_page(&state, &me, chrome, status, Some(error)).await
            })
            .await
        }
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
    let done = async {
        confirm(&state, &me.0, &form.password, &client).await?;
        let by = ActedBy::admin(me.0.user.id, client.clone());
        let deleted = state.auth().delete_client(&id, &by).await?;
        deleted.then(|| paths::ADMIN_CLIENTS.to_owned()).ok_or(Refused::NotFound)
    }
    .await;
    answer(done, async |status, error| list_page(&state, &me, chrome, status, Some(error)).await).await
}
