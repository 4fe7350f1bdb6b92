//! Webhooks (issue #22): signed HTTP notices to the operator's endpoints when
//! something happens to an account. Events are written to a database outbox (one
//! delivery per endpoint) and sent later by a worker on any node, in order per
//! endpoint and user, signed with the Standard Webhooks scheme ([`sign`]). The
//! HTTP side (SSRF checks, time-outs) is a [`WebhookSender`] the binary provides.

pub(crate) mod outbox;
pub(crate) mod service;
pub mod sign;
pub mod store;

use std::fmt;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::accounts::user::UserId;

/// The kinds of event an endpoint can subscribe to; `as_str` is the name in the
/// payload's `type` and in `webhook create --events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    UserCreated,
    UserEmailVerified,
    UserEmailChanged,
    UserPasswordChanged,
    UserPasswordReset,
    UserMfaEnabled,
    UserMfaDisabled,
    UserDisabled,
    UserEnabled,
    UserDeleted,
    UserGroupsChanged,
    SessionNewDevice,
    SessionRevoked,
}

impl EventType {
    pub const ALL: [Self; 13] = [
        Self::UserCreated,
        Self::UserEmailVerified,
        Self::UserEmailChanged,
        Self::UserPasswordChanged,
        Self::UserPasswordReset,
        Self::UserMfaEnabled,
        Self::UserMfaDisabled,
        Self::UserDisabled,
        Self::UserEnabled,
        Self::UserDeleted,
        Self::UserGroupsChanged,
        Self::SessionNewDevice,
        Self::SessionRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCreated => "user.created",
            Self::UserEmailVerified => "user.email_verified",
            Self::UserEmailChanged => "user.email_changed",
            Self::UserPasswordChanged => "user.password_changed",
            Self::UserPasswordReset => "user.password_reset",
            Self::UserMfaEnabled => "user.mfa_enabled",
            Self::UserMfaDisabled => "user.mfa_disabled",
            Self::UserDisabled => "user.disabled",
            Self::UserEnabled => "user.enabled",
            Self::UserDeleted => "user.deleted",
            Self::UserGroupsChanged => "user.groups_changed",
            Self::SessionNewDevice => "session.new_device",
            Self::SessionRevoked => "session.revoked",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

/// The type of the event `webhook test` sends (to one endpoint, whatever it
/// subscribed to).
pub const TEST_EVENT: &str = "webhook.test";

/// What an endpoint receives: every type (also those added later), or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFilter {
    All,
    Only(Vec<EventType>),
}

impl EventFilter {
    /// As stored: `*`, or the names joined by commas.
    pub fn to_stored(&self) -> String {
        match self {
            Self::All => "*".into(),
            Self::Only(types) => types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(","),
        }
    }

    /// Reads the stored form; unknown names (a newer version's) are skipped.
    pub fn from_stored(raw: &str) -> Self {
        if raw == "*" {
            return Self::All;
        }
        Self::Only(raw.split(',').filter_map(EventType::parse).collect())
    }

    /// The names, for listings (`*` for all).
    pub fn names(&self) -> Vec<&'static str> {
        match self {
            Self::All => vec!["*"],
            Self::Only(types) => types.iter().map(|t| t.as_str()).collect(),
        }
    }
}

/// An endpoint's signing secret: `whsec_` + base64 of 32 random bytes, the form
/// the Standard Webhooks libraries take. Shown once, stored sealed.
#[derive(Clone)]
pub struct WebhookSecret(Zeroizing<String>);

impl WebhookSecret {
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        crate::token::fill_random(bytes.as_mut());
        Self(Zeroizing::new(format!("whsec_{}", STANDARD.encode(bytes.as_ref()))))
    }

    /// Accepts `whsec_` + standard base64 of at least 24 bytes.
    pub fn parse(raw: &str) -> Option<Self> {
        let key = STANDARD.decode(raw.strip_prefix("whsec_")?).ok()?;
        (key.len() >= 24).then(|| Self(Zeroizing::new(raw.to_owned())))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The HMAC key: the base64-decoded part after `whsec_`.
    pub fn key(&self) -> Zeroizing<Vec<u8>> {
        let encoded = self.0.strip_prefix("whsec_").unwrap_or(&self.0);
        Zeroizing::new(STANDARD.decode(encoded).unwrap_or_default())
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

/// A registered endpoint (without its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `wh_` + 32 hex digits.
    pub id: String,
    pub url: String,
    pub events: EventFilter,
    pub created_at: OffsetDateTime,
}

/// An endpoint just created, with the secret shown this once.
#[derive(Debug, Clone)]
pub struct CreatedEndpoint {
    pub endpoint: Endpoint,
    pub secret: WebhookSecret,
}

/// An endpoint to store: the secret sealed.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub endpoint: Endpoint,
    pub sealed_secret: Vec<u8>,
}

/// One event for the outbox: a delivery is written for every endpoint whose
/// filter takes its type.
#[derive(Debug, Clone)]
pub struct WebhookEvent {
    /// `msg_` + 32 hex digits: the `webhook-id`, the same at every endpoint.
    pub id: String,
    pub kind: EventType,
    pub user_id: Option<UserId>,
    /// The JSON body, exactly as it is signed and sent.
    pub payload: String,
    pub at: OffsetDateTime,
}

/// A delivery claimed for one attempt.
#[derive(Clone)]
pub struct QueuedDelivery {
    pub id: i64,
    pub endpoint_id: String,
    pub url: String,
    pub sealed_secret: Vec<u8>,
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: u32,
    pub created_at: OffsetDateTime,
}

impl fmt::Debug for QueuedDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueuedDelivery")
            .field("id", &self.id)
            .field("endpoint_id", &self.endpoint_id)
            .field("event_id", &self.event_id)
            .field("event_type", &self.event_type)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// How full the webhook outbox is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookStats {
    /// Not delivered yet and still being tried.
    pub pending: u64,
    /// Of those, due now.
    pub due: u64,
    /// Given up on.
    pub failed: u64,
    /// When the oldest pending delivery was written.
    pub oldest_pending: Option<OffsetDateTime>,
    /// How long ago that was, as of the stats' reading (filled in by `Auth`).
    pub oldest_age: Option<time::Duration>,
}

/// Why a request to an endpoint failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The URL is not allowed (scheme, or an address of a refused class).
    #[error("refused: {0}")]
    Refused(String),
    /// Unreachable, timed out, or answered other than 2xx: retry later.
    #[error("{0}")]
    Temporary(String),
}

/// Sends signed requests to endpoints (the binary's HTTP client, with its SSRF
/// rules, time-outs and no redirects).
#[async_trait]
pub trait WebhookSender: Send + Sync + 'static {
    /// Whether `url` may be registered: its scheme, and every address its host
    /// names (resolved now).
    async fn check_url(&self, url: &str) -> Result<(), WebhookError>;
    /// POSTs `body` (JSON) with `headers`; Ok with the status when it is 2xx.
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<u16, WebhookError>;
}
