//! `/admin/groups`: the groups, their members, creating and deleting groups, adding
//! and removing members. Changes are audited with the administrator as actor.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portcullis_core::AuthError;
use portcullis_core::groups::{ADMIN, Actor};
use serde::Deserialize;

use super::{Admin, PasswordForm, Refused, answer, asks_password, confirm};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm};
use crate::pages::Chrome;
use crate::pages::context::{AdminGroupPage, AdminGroupRow, AdminGroupsPage, AdminMemberRow};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ADMIN_GROUPS, get(list).post(create))
        .route(paths::ADMIN_GROUP, get(show))
        .route(paths::ADMIN_GROUP_DELETE, post(delete))
        .route(paths::ADMIN_GROUP_ADD, post(add))
        .route(paths::ADMIN_GROUP_REMOVE, post(remove))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CreateForm {
    name: String,
    description: String,
    password: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MemberForm {
    email: String,
    password: String,
}

fn group_url(name: &str) -> String {
    paths::ADMIN_GROUP.replace("{name}", name)
}

/// The list page, with `error` (and its status) when a change was refused.
async fn list_page(
    state: &AppState,
    me: &Admin,
    chrome: Chrome,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let groups = match state.auth().list_groups().await {
        Ok(groups) => groups,
        Err(e) => return PageError::from(e).into_response(),
    };
    let page = AdminGroupsPage {
        groups: groups
            .into_iter()
            .map(|g| AdminGroupRow {
                deletable: g.name.as_str() != ADMIN,
                url: group_url(g.name.as_str()),
                name: g.name.into_string(),
                description: g.description,
                members: g.members,
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
    let done = async {
        confirm(&state, &me.0, &form.password, &client).await?;
        match state.auth().create_group(&form.name, &form.description, Actor::User(me.0.user.id)).await {
            Ok(_) => Ok(paths::ADMIN_GROUPS.to_owned()),
            Err(AuthError::Conflict { .. }) => Err(Refused::Show(
                StatusCode::CONFLICT,
                format!("A group named {:?} exists already.", form.name),
            )),
            Err(e) => Err(e.into()),
        }
    }
    .await;
    answer(done, async |status, error| list_page(&state, &me, chrome, status, Some(error)).await).await
}

async fn delete(
    State(state): State<AppState>,
    me: Admin,
    ClientInfo(client): ClientInfo,
    Path(name): Path<String>,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Response {
    let done = async {
        confirm(&state, &me.0, &form.password, &client).await?;
        state.auth().delete_group(&name, Actor::User(me.0.user.id)).await?;
        Ok::<_, Refused>(paths::ADMIN_GROUPS.to_owned())
    }
    .await;
    answer(done, async |status, error| list_page(&state, &me, chrome, status, Some(error)).await).await
}

/// One group's page, with `error` (and its status) when a change was refused.
async fn group_page(
    state: &AppState,
    me: &Admin,
    name: &str,
    chrome: Chrome,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let auth = state.auth();
    let (group, members) = match (auth.find_group(name).await, auth.group_members(name).await) {
        (Ok(group), Ok(members)) => (group, members),
        (Err(AuthError::NotFound), _) | (_, Err(AuthError::NotFound)) => {
            return PageError::not_found().into_response();
        }
        (Err(e), _) | (_, Err(e)) => return PageError::from(e).into_response(),
    };
    let page = AdminGroupPage {
        url: group_url(group.name.as_str()),
        name: group.name.into_string(),
        description: group.description,
        members: members
            .into_iter()
            .map(|u| AdminMemberRow { id: u.id.to_string(), email: u.email, disabled: u.disabled })
            .collect(),
        ask_password: asks_password(state, &me.0),
        error,
    };
    chrome.render(state, status, &page)
}

async fn show(
    State(state): State<AppState>,
    me: Admin,
    Path(name): Path<String>,
    chrome: Chrome,
) -> Response {
    group_page(&state, &me, &name, chrome, StatusCode::OK, None).await
}

async fn add(
    State(state): State<AppState>,
    me: Admin,
    ClientInfo(client): ClientInfo,
    Path(name): Path<String>,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<MemberForm>,
) -> Response {
    change(&state, me, &client, &name, chrome, form, true).await
}

async fn remove(
    State(state): State<AppState>,
    me: Admin,
    ClientInfo(client): ClientInfo,
    Path(name): Path<String>,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<MemberForm>,
) -> Response {
    change(&state, me, &client, &name, chrome, form, false).await
}

/// Adds (`add`) or removes the member named by `form.email`, then back to the group.
async fn change(
    state: &AppState,
    me: Admin,
    client: &portcullis_core::service::ClientMeta,
    name: &str,
    chrome: Chrome,
    form: MemberForm,
    add: bool,
) -> Response {
    let done = async {
        confirm(state, &me.0, &form.password, client).await?;
        let actor = Actor::User(me.0.user.id);
        let done = if add {
            state.auth().add_to_group(name, &form.email, actor).await.map(|_| ())
        } else {
            state.auth().remove_from_group(name, &form.email, actor).await.map(|_| ())
        };
        match done {
            Ok(()) => Ok(group_url(name)),
            Err(AuthError::NotFound) if state.auth().find_group(name).await.is_err() => {
                Err(Refused::NotFound)
            }
            Err(AuthError::NotFound) => Err(Refused::Show(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("There is no account with the email {:?}.", form.email),
            )),
            Err(e) => Err(e.into()),
        }
    }
    .await;
    answer(done, async |status, error| group_page(state, &me, name, chrome, status, Some(error)).await).await
}
