//! Registering endpoints, and the events of the webhook outbox. Use cases build
//! an event with `webhook_event` and hand it to the store operation of their
//! change, which writes it in the same transaction (and not at all if the change
//! is refused or rolled back); then `webhook_queued` wakes the worker.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::accounts::user::UserId;
use crate::audit::{ActedBy, EventKind};
use crate::error::{AuthError, FieldError};
use crate::service::Auth;
use crate::webhooks::{
    CreatedEndpoint, Endpoint, EventFilter, EventType, NewEndpoint, TEST_EVENT, WebhookError, WebhookEvent,
    WebhookSecret, WebhookSender, sign,
};

/// The JSON body of an event: `{id, type, occurred_at, user: {id, email}, data}`.
/// Never a password, hash, token or secret: callers put only names, addresses
/// and flags in `data`.
pub fn payload(
    id: &str,
    kind: &str,
    at: OffsetDateTime,
    user: Option<(UserId, &str)>,
    data: Value,
) -> String {
    let user = user.map_or(Value::Null, |(id, email)| json!({"id": id.to_string(), "email": email}));
    let mut body = serde_json::Map::new();
    body.insert("id".into(), Value::from(id));
    body.insert("type".into(), Value::from(kind));
    body.insert("occurred_at".into(), Value::from(at.format(&Rfc3339).unwrap_or_default()));
    body.insert("user".into(), user);
    body.insert("data".into(), data);
    let body = Value::Object(body);
    body.to_string()
}

fn new_message_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

fn invalid_url(message: impl Into<String>) -> AuthError {
    AuthError::Validation(vec![FieldError::new("url", "invalid_url", message)])
}

impl Auth {
    /// Registers an endpoint, audited with `by` as actor. The URL must be
    /// `https://` (or `http://` for a host the sender allows) and name no refused
    /// address; `sender` checks that.
    pub async fn create_webhook(
        &self,
        sender: &dyn WebhookSender,
        url: &str,
        events: EventFilter,
        by: &ActedBy,
    ) -> Result<CreatedEndpoint, AuthError> {
        if matches!(&events, EventFilter::Only(types) if types.is_empty()) {
            return Err(AuthError::Validation(vec![FieldError::new(
                "events",
                "required",
                "name at least one event type, or all",
            )]));
        }
        let parsed = url::Url::parse(url).map_err(|e| invalid_url(format!("not a URL: {e}")))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid_url("must not hold a user name or password"));
        }
        sender.check_url(parsed.as_str()).await.map_err(|e| invalid_url(e.to_string()))?;
        let secret = WebhookSecret::generate();
        let endpoint = Endpoint {
            id: format!("wh_{}", uuid::Uuid::new_v4().simple()),
            url: parsed.to_string(),
            events,
            created_at: self.clock.now(),
        };
        let sealed_secret = self.secret_box.seal(secret.expose().as_bytes());
        self.store.create_endpoint(&NewEndpoint { endpoint: endpoint.clone(), sealed_secret }).await?;
        tracing::info!(webhook = %endpoint.id, url = %endpoint.url, "webhook endpoint created");
        let detail = format!("webhook={}", endpoint.id);
        self.audit_by(by, EventKind::WebhookCreated, None, Some(&detail)).await;
        Ok(CreatedEndpoint { endpoint, secret })
    }

    pub async fn list_webhooks(&self) -> Result<Vec<Endpoint>, AuthError> {
        Ok(self.store.list_endpoints().await?)
    }

    /// Deletes an endpoint and its pending deliveries, audited with `by` as
    /// actor; false (and nothing audited) if no such endpoint.
    pub async fn delete_webhook(&self, id: &str, by: &ActedBy) -> Result<bool, AuthError> {
        let deleted = self.store.delete_endpoint(id).await?;
        if deleted {
            tracing::info!(webhook = %id, "webhook endpoint deleted");
            self.audit_by(by, EventKind::WebhookDeleted, None, Some(&format!("webhook={id}"))).await;
        }
        Ok(deleted)
    }

    /// Sends a signed `webhook.test` event to the endpoint now (not through the
    /// outbox); the inner result is the endpoint's answer.
    pub async fn test_webhook(
        &self,
        sender: &dyn WebhookSender,
        id: &str,
    ) -> Result<Result<u16, WebhookError>, AuthError> {
        let (endpoint, sealed) = self.store.find_endpoint(id).await?.ok_or(AuthError::NotFound)?;
        let secret = self.open_webhook_secret(&sealed)?;
        let now = self.clock.now();
        let message = new_message_id();
        let body = payload(&message, TEST_EVENT, now, None, json!({"endpoint": endpoint.id}));
        let headers = sign::headers(&secret, &message, now.unix_timestamp(), &body);
        Ok(sender.post(&endpoint.url, &headers, &body).await)
    }

    pub(crate) fn open_webhook_secret(&self, sealed: &[u8]) -> Result<WebhookSecret, AuthError> {
        let plain = self.secret_box.open(sealed).ok_or_else(|| AuthError::internal(SealError))?;
        let text = String::from_utf8(plain).map_err(|_| AuthError::internal(SealError))?;
        WebhookSecret::parse(&text).ok_or_else(|| AuthError::internal(SealError))
    }

    /// The event `kind` about `user`, for the outbox.
    pub(crate) fn webhook_event(
        &self,
        kind: EventType,
        user: UserId,
        email: &str,
        data: Value,
    ) -> WebhookEvent {
        let id = new_message_id();
        let at = self.clock.now();
        let payload = payload(&id, kind.as_str(), at, Some((user, email)), data);
        WebhookEvent { id, kind, user_id: Some(user), payload, at }
    }

    /// Tells the webhook worker that a delivery is waiting.
    pub(crate) fn webhook_queued(&self) {
        self.webhooks.notify_one();
    }
}

/// A sealed secret that does not open: the sealing key changed, or the row is damaged.
#[derive(Debug, thiserror::Error)]
#[error("a webhook secret cannot be unsealed")]
struct SealError;
