//! `/admin/webhooks`: the webhook endpoints (issue #22); adding one (its signing
//! secret is shown once, on the page that answers the form), sending one a signed
//! test event, and deleting one (with its pending deliveries). The same use cases
//! as `portcullis webhook create/list/test/delete`, with the same SSRF rules.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portcullis_core::audit::ActedBy;
use portcullis_core::webhooks::{EventFilter, EventType};
use portcullis_core::{AuthError, FieldError};
use serde::Deserialize;

use super::{Admin, PasswordForm, Refused, answer, asks_password, confirm};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm};
use crate::pages::Chrome;
use crate::pages::context::{AdminWebhookCreatedPage, AdminWebhookRow, AdminWebhooksPage};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ADMIN_WEBHOOKS, get(list).post(create))
        .route(paths::ADMIN_WEBHOOK_DELETE, post(delete))
        .route(paths::ADMIN_WEBHOOK_TEST, post(test))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CreateForm {
    url: String,
    /// Event type names, separated by commas.
    events: String,
    /// Checkbox: `on` when ticked.
    all: String,
    password: String,
}

/// A token only (sending a test event changes nothing).
#[derive(Debug, Default, Deserialize)]
struct TestForm {}

async fn list_page(
    state: &AppState,
    me: &Admin,
    chrome: Chrome,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let webhooks = match state.auth().list_webhooks().await {
        Ok(webhooks) => webhooks,
        Err(e) => return PageError::from(e).into_response(),
    };
    let page = AdminWebhooksPage {
        webhooks: webhooks
            .into_iter()
            .map(|w| AdminWebhookRow {
                delete_url: paths::ADMIN_WEBHOOK_DELETE.replace("{id}", &w.id),
                test_url: paths::ADMIN_WEBHOOK_TEST.replace("{id}", &w.id),
                events: w.events.names().into_iter().map(str::to_owned).collect(),
                id: w.id,
                url: w.url,
                created_at: crate::pages::context::machine_time(w.created_at),
            })
            .collect(),
        event_types: EventType::ALL.iter().map(|t| t.as_str()).collect(),
        ask_password: asks_password(state, &me.0),
        error,
        notice,
    };
    chrome.render(state, status, &page)
}

async fn list(State(state): State<AppState>, me: Admin, chrome: Chrome) -> Response {
    list_page(&state, &me, chrome, StatusCode::OK, None, None).await
}

/// The event types named in the form, or a refusal naming the unknown one.
fn events(form: &CreateForm) -> Result<EventFilter, Refused> {
    if form.all == "on" {
        return Ok(EventFilter::All);
    }
    let mut types = Vec::new();
    for name in form.events.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let t = EventType::parse(name).ok_or_else(|| {
            let error = FieldError::new("events", "unknown", format!("unknown event type {name:?}"));
            Refused::from(AuthError::Validation(vec![error]))
        })?;
        if !types.contains(&t) {
            types.push(t);
        }
    }
    Ok(EventFilter::Only(types))
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
        let filter = events(&form)?;
        let sender = state.auth().webhook_sender().ok_or_else(|| {
            Refused::Show(StatusCode::SERVICE_UNAVAILABLE, "webhooks cannot be sent from this server".into())
        })?;
        let by = ActedBy::admin(me.0.user.id, client.clone());
        Ok::<_, Refused>(state.auth().create_webhook(sender, form.url.trim(), filter, &by).await?)
    }
    .await;
    match created {
        Ok(created) => {
            let page = AdminWebhookCreatedPage {
                id: created.endpoint.id,
                url: created.endpoint.url,
                secret: created.secret.expose().to_owned(),
            };
            chrome.render(&state, StatusCode::CREATED, &page)
        }
        Err(refused) => {
            answer(Err(refused), async |status, error| {
                list_page(&state, &me, chrome, status, Some(error), None).await
            })
            .await
        }
    }
}

async fn test(
    State(state): State<AppState>,
    me: Admin,
    Path(id): Path<String>,
    chrome: Chrome,
    CsrfForm(_form): CsrfForm<TestForm>,
) -> Response {
    let Some(sender) = state.auth().webhook_sender() else {
        let error = "webhooks cannot be sent from this server".to_owned();
        return list_page(&state, &me, chrome, StatusCode::SERVICE_UNAVAILABLE, Some(error), None).await;
    };
    match state.auth().test_webhook(sender, &id).await {
        Ok(Ok(status)) => {
            let notice = format!("{id} answered the test event with {status}");
            list_page(&state, &me, chrome, StatusCode::OK, None, Some(notice)).await
        }
        Ok(Err(e)) => {
            let error = format!("{id}: the test event was not delivered: {e}");
            list_page(&state, &me, chrome, StatusCode::BAD_GATEWAY, Some(error), None).await
        }
        Err(AuthError::NotFound) => PageError::not_found().into_response(),
        Err(e) => PageError::from(e).into_response(),
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
        let deleted = state.auth().delete_webhook(&id, &by).await?;
        deleted.then(|| paths::ADMIN_WEBHOOKS.to_owned()).ok_or(Refused::NotFound)
    }
    .await;
    answer(done, async |status, error| list_page(&state, &me, chrome, status, Some(error), None).await).await
}
