//! `/admin/users`: the user list (email-prefix search, keyset paging: fast on a
//! million users) and a user's page (profile, groups, sessions, MFA, passkeys,
//! recent events) with every action of SPEC §8. Changes are audited with the
//! administrator as actor; one that would leave no enabled administrator is refused
//! (409, `last_admin`).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portcullis_core::admin::{AdminUser, EventQuery, UserChanges, UserQuery};
use portcullis_core::audit::ActedBy;
use portcullis_core::{AuthError, UserId};
use serde::Deserialize;

use super::{Admin, Refused, answer, asks_password, confirm, validation_text};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm};
use crate::pages::Chrome;
use crate::pages::context::{AdminEventRow, AdminUserPage, AdminUserRow, AdminUsersPage, machine_time};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ADMIN_USERS, get(list))
        .route(paths::ADMIN_INVITE, post(invite))
        .route(paths::ADMIN_USER, get(show))
        .route(paths::ADMIN_USER_ACTION, post(act))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    q: String,
    after: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct InviteForm {
    email: String,
    /// Group names separated by commas or spaces.
    groups: String,
    password: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActionForm {
    password: String,
    /// For `add-group` and `remove-group`.
    group: String,
}

fn user_url(id: UserId) -> String {
    paths::ADMIN_USER.replace("{id}", &id.to_string())
}

fn row(u: &AdminUser) -> AdminUserRow {
    AdminUserRow {
        url: user_url(u.user.id),
        email: u.user.email.clone(),
        email_verified: u.user.email_verified,
        disabled: u.user.disabled,
        invited: u.invited,
        mfa_enabled: u.user.mfa_enabled,
        groups: u.user.groups.clone(),
        last_sign_in_at: u.last_sign_in_at.map(machine_time),
        sessions: u.sessions,
    }
}

async fn list(
    State(state): State<AppState>,
    me: Admin,
    chrome: Chrome,
    Query(q): Query<ListQuery>,
) -> Response {
    list_page(&state, &me, chrome, q, StatusCode::OK, None).await
}

/// The list, with `error` (and its status) when an invitation was refused.
async fn list_page(
    state: &AppState,
    me: &Admin,
    chrome: Chrome,
    q: ListQuery,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let after = Some(q.after.as_str()).filter(|a| !a.is_empty());
    let query = match UserQuery::parse(Some(&q.q), None, after) {
        Ok(query) => query,
        Err(e) => {
            let message = validation_text(&e).unwrap_or_else(|| "That search cannot be read.".into());
            return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, message).into_response();
        }
    };
    let page = match state.auth().admin_users(&query).await {
        Ok(page) => page,
        Err(e) => return PageError::from(e).into_response(),
    };
    let next_url = page.next.as_ref().map(|next| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        if !q.q.trim().is_empty() {
            url.append_pair("q", q.q.trim());
        }
        url.append_pair("after", next);
        format!("{}?{}", paths::ADMIN_USERS, url.finish())
    });
    let body = AdminUsersPage {
        q: q.q.trim().to_owned(),
        users: page.items.iter().map(row).collect(),
        next_url,
        first_page: after.is_none(),
        ask_password: asks_password(state, &me.0),
        error,
    };
    chrome.render(state, status, &body)
}

/// `POST /admin/users/invite`: an account without a password, and a mail with the
/// link that sets one (SPEC §8).
async fn invite(
    State(state): State<AppState>,
    me: Admin,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Response {
    let done = async {
        confirm(&state, &me.0, &form.password, &client).await?;
        let groups: Vec<String> = form
            .groups
            .split([',', ' '])
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect();
        let by = ActedBy::admin(me.0.user.id, client.clone());
        match state.auth().invite_user(&form.email, &groups, by).await {
            Ok(user) => Ok(user_url(user.id)),
            Err(AuthError::EmailTaken) => Err(Refused::Show(
                StatusCode::CONFLICT,
                "An account with this email exists already.".to_owned(),
            )),
            Err(e) => Err(e.into()),
        }
    }
    .await;
    answer(done, async |status, error| {
        list_page(&state, &me, chrome, ListQuery::default(), status, Some(error)).await
    })
    .await
}

/// A user's page, with `error` (and its status) when a change was refused.
async fn user_page(
    state: &AppState,
    me: &Admin,
    id: UserId,
    chrome: Chrome,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let auth = state.auth();
    let user = match auth.admin_user(id).await {
        Ok(user) => user,
        Err(AuthError::NotFound) => return PageError::not_found().into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let query = EventQuery { user: Some(id), kind: None, limit: 20, after: None };
    let (sessions, passkeys, events, groups) = (
        auth.list_sessions(id).await,
        auth.list_passkeys(&user.user).await,
        auth.admin_events(&query).await,
        auth.list_groups().await,
    );
    let (sessions, passkeys, events, groups) = match (sessions, passkeys, events, groups) {
        (Ok(s), Ok(p), Ok(e), Ok(g)) => (s, p, e, g),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => {
            return PageError::from(e).into_response();
        }
    };
    let page = AdminUserPage {
        id: id.to_string(),
        url: user_url(id),
        user: row(&user),
        created_at: machine_time(user.user.created_at),
        external_id: user.external_id.clone(),
        passkeys: passkeys.into_iter().map(|p| p.name).collect(),
        session_times: sessions.iter().map(|s| machine_time(s.last_seen_at)).collect(),
        other_groups: groups
            .into_iter()
            .map(|g| g.name.into_string())
            .filter(|g| !user.user.groups.contains(g))
            .collect(),
        events: events
            .items
            .into_iter()
            .map(|e| AdminEventRow {
                user_url: None,
                actor: e.actor_id,
                kind: e.kind,
                outcome: e.outcome,
                at: machine_time(e.created_at),
                ip: e.ip,
                detail: e.detail,
            })
            .collect(),
        ask_password: asks_password(state, &me.0),
        error,
    };
    chrome.render(state, status, &page)
}

async fn show(State(state): State<AppState>, me: Admin, Path(id): Path<String>, chrome: Chrome) -> Response {
    let Some(id) = UserId::parse(&id) else { return PageError::not_found().into_response() };
    user_page(&state, &me, id, chrome, StatusCode::OK, None).await
}

/// `POST /admin/users/{id}/{action}`: one of the actions of the user's page.
async fn act(
    State(state): State<AppState>,
    me: Admin,
    ClientInfo(client): ClientInfo,
    Path((id, action)): Path<(String, String)>,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<ActionForm>,
) -> Response {
    let Some(id) = UserId::parse(&id) else { return PageError::not_found().into_response() };
    let done = async {
        confirm(&state, &me.0, &form.password, &client).await?;
        let by = ActedBy::admin(me.0.user.id, client.clone());
        run(&state, id, &action, &form, &by).await
    }
    .await;
    answer(done, async |status, error| user_page(&state, &me, id, chrome, status, Some(error)).await).await
}

/// Runs `action`; where to go after it.
async fn run(
    state: &AppState,
    id: UserId,
    action: &str,
    form: &ActionForm,
    by: &ActedBy,
) -> Result<String, Refused> {
    let auth = state.auth();
    let change =
        |disabled: Option<bool>, email_verified: Option<bool>| UserChanges { disabled, email_verified };
    match action {
        "disable" => {
            auth.update_user(id, change(Some(true), None), by).await?;
        }
        "enable" => {
            auth.update_user(id, change(Some(false), None), by).await?;
        }
        "verify-email" => {
            auth.update_user(id, change(None, Some(true)), by).await?;
        }
        "sign-out" => auth.sign_out_user(id, by).await?,
        "mfa-reset" => {
            auth.reset_user_mfa(id, by).await?;
        }
        "password-reset" => auth.send_password_reset(id, by).await?,
        "delete" => {
            auth.delete_user_by_id(id, by).await?;
            // The user is gone: back to the list.
            return Ok(paths::ADMIN_USERS.to_owned());
        }
        "add-group" => {
            auth.add_user_to_group(id, &form.group, by).await?;
        }
        "remove-group" => {
            auth.remove_user_from_group(id, &form.group, by).await?;
        }
        _ => return Err(Refused::NotFound),
    }
    Ok(user_url(id))
}
