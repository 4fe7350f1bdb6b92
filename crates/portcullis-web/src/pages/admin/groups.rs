//! `/admin/groups`: the groups, their members, creating and deleting groups, adding
//! and removing members. Changes are audited with the administrator as actor.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use portcullis_core::AuthError;
use portcullis_core::groups::{ADMIN, Actor};
use serde::Deserialize;

use super::{Admin, asks_password, confirm, validation_text};
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
struct PasswordForm {
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
    if let Err((status, error)) = confirm(&state, &me.0, &form.password, &client).await {
        return list_page(&state, &me, chrome, status, Some(error)).await;
    }
    match state.auth().create_group(&form.name, &form.description, Actor::User(me.0.user.id)).await {
        Ok(_) => Redirect::to(paths::ADMIN_GROUPS).into_response(),
        Err(AuthError::Conflict { .. }) => {
            let error = format!("A group named {:?} exists already.", form.name);
            list_page(&state, &me, chrome, StatusCode::CONFLICT, Some(error)).await
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
    Path(name): Path<String>,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Response {
    if let Err((status, error)) = confirm(&state, &me.0, &form.password, &client).await {
        return list_page(&state, &me, chrome, status, Some(error)).await;
    }
    match state.auth().delete_group(&name, Actor::User(me.0.user.id)).await {
        Ok(()) => Redirect::to(paths::ADMIN_GROUPS).into_response(),
        Err(AuthError::NotFound) => PageError::not_found().into_response(),
        Err(e) => match validation_text(&e) {
            Some(error) => list_page(&state, &me, chrome, StatusCode::CONFLICT, Some(error)).await,
            None => PageError::from(e).into_response(),
        },
    }
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
    if let Err((status, error)) = confirm(state, &me.0, &form.password, client).await {
        return group_page(state, &me, name, chrome, status, Some(error)).await;
    }
    let actor = Actor::User(me.0.user.id);
    let done = if add {
        state.auth().add_to_group(name, &form.email, actor).await
    } else {
        state.auth().remove_from_group(name, &form.email, actor).await
    };
    match done {
        Ok(_) => Redirect::to(&group_url(name)).into_response(),
        Err(AuthError::NotFound) if state.auth().find_group(name).await.is_err() => {
            PageError::not_found().into_response()
        }
        Err(AuthError::NotFound) => {
            let error = format!("There is no account with the email {:?}.", form.email);
            group_page(state, &me, name, chrome, StatusCode::UNPROCESSABLE_ENTITY, Some(error)).await
        }
        Err(e @ AuthError::Conflict { .. }) => {
            group_page(state, &me, name, chrome, StatusCode::CONFLICT, Some(e.to_string())).await
        }
        Err(e) => PageError::from(e).into_response(),
    }
}
