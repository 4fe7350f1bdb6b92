//! [`Auth`], the entry point to every use case. The use cases themselves live
//! with their area (`accounts`, `sessions`, `mfa`, `passkeys`, `token`, `oauth`,
//! `keys`, `mail`, `audit`, `throttle`), each as an `impl Auth` block; the types
//! they take and return are re-exported here.

use std::sync::Arc;

use time::Duration;
use tokio::sync::Notify;

use crate::accounts::password::{PasswordHasher, PasswordPolicy};
use crate::accounts::user::User;
use crate::clock::Clock;
use crate::error::AuthError;
use crate::mail::{MailComposer, MailMessage, NewMail};
use crate::sessions::SessionPolicy;
use crate::store::Store;

pub use crate::accounts::export::AccountExport;
pub use crate::accounts::reauth::REAUTH_WINDOW;
pub use crate::accounts::register::{Registered, Registration};
pub use crate::audit::service::MAX_EVENTS;
pub use crate::mail::outbox::{DeliveryRound, GIVE_UP_AFTER, retry_delay};
pub use crate::mfa::service::{Confirmation, Enrolment, RECENT_SIGN_IN};
pub use crate::oauth::bearer::{API_CLIENT_ID, AccessClaims, BearerUse, TokenPair};
pub use crate::oauth::introspect::IntrospectResponse;
pub use crate::oauth::provider::{
    AuthorizeError, AuthorizeParams, AuthorizeRequest, AuthorizeStep, ClientAuth, Grant, NewClientSecret,
    TokenResponse, UserInfo,
};
pub use crate::passkeys::service::PasskeyLogin;
pub use crate::passkeys::{PasskeyConfigError, RelyingParty};
pub use crate::sessions::authenticate::{Authenticated, Via};
pub use crate::sessions::hot::{ChangeFeed, FED_TTL, HEARTBEAT, HOT_TTL};
pub use crate::sessions::login::LoginOutcome;
pub use crate::throttle::service::RateLimits;
pub use crate::token::change_email::EmailLinkOutcome;
pub use crate::webhooks::outbox::WebhookRound;
pub use crate::webhooks::service::payload as webhook_payload;

/// At most `count` mails of one kind per account within `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailLimit {
    pub count: u32,
    pub window: Duration,
}

impl MailLimit {
    pub const fn new(count: u32, window: Duration) -> Self {
        Self { count, window }
    }
}

/// Lifetimes of emailed links and how often each may be sent.
#[derive(Debug, Clone, Copy)]
pub struct EmailPolicy {
    /// Unverified users cannot sign in, and registration never reveals whether an
    /// address is taken.
    pub require_verification: bool,
    pub verification_ttl: Duration,
    pub reset_ttl: Duration,
    pub change_ttl: Duration,
    /// Verification links a user may ask for ("resend").
    pub verification_limit: Option<MailLimit>,
    /// Reset links per account (over the limit, the request is silently dropped).
    pub reset_limit: Option<MailLimit>,
    /// Email-change requests per account.
    pub change_limit: Option<MailLimit>,
    /// Mails per recipient address that someone else can cause (the "address in
    /// use" notice, the confirmation of a change to that address).
    pub recipient_limit: Option<MailLimit>,
}

impl Default for EmailPolicy {
    fn default() -> Self {
        let three_an_hour = Some(MailLimit::new(3, Duration::hours(1)));
        Self {
            require_verification: false,
            verification_ttl: Duration::hours(24),
            reset_ttl: Duration::hours(1),
            change_ttl: Duration::hours(24),
            verification_limit: three_an_hour,
            reset_limit: three_an_hour,
            change_limit: three_an_hour,
            recipient_limit: three_an_hour,
        }
    }
}

/// The hot cache's entries: a session or a token family with its user, shared
/// (not copied) with every request they authenticate.
pub(crate) type Hot = crate::sessions::hot::HotCache<
    (Arc<crate::sessions::Session>, Arc<User>),
    (Arc<crate::oauth::TokenFamily>, Arc<User>),
>;

/// Settings of the use cases.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    pub password_policy: PasswordPolicy,
    pub session_policy: SessionPolicy,
    pub rate_limits: RateLimits,
    pub email: EmailPolicy,
    pub tokens: crate::oauth::TokenPolicy,
    /// Administrators without a second factor get no identity anywhere (no API
    /// access, no tokens, no forward-auth pass, no authorization code) until they
    /// enrol one.
    pub require_mfa_for_admins: bool,
    /// `auth.email_signin`: a link and code mailed on request sign the user in
    /// (issue #21). Off, its use cases answer [`AuthError::NotFound`].
    pub email_signin: bool,
    /// `security.new_device_notice`: mail the user at a sign-in from a device the
    /// account has not used before.
    pub new_device_notice: bool,
}

/// Hooks for metrics; every method has a no-op default.
pub trait Observer: Send + Sync + 'static {
    /// A sign-in attempt ended: `success`, `failure` or `throttled`.
    fn login(&self, _result: &'static str) {}
    /// A rate limit refused an attempt (`login:ip`, `login:account`, `register:ip`, ...).
    fn rate_limited(&self, _limit: &str) {}
}

/// Who is asking: recorded on sessions.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientMeta {
    /// Actions taken from the command line.
    pub fn operator() -> Self {
        Self { ip: None, user_agent: Some("portcullis-cli".into()) }
    }
}

/// The entry point to every use case.
#[derive(Clone)]
pub struct Auth {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) hasher: PasswordHasher,
    pub(crate) config: AuthConfig,
    pub(crate) observer: Option<Arc<dyn Observer>>,
    /// Seals TOTP secrets at rest.
    pub(crate) secret_box: crate::mfa::SecretBox,
    /// The relying party, when `server.public_url` has a host name (passkeys on).
    pub(crate) webauthn: Option<RelyingParty>,
    /// Token signing keys.
    pub(crate) keys: crate::keys::Keys,
    /// Hot sessions and token families (see `hot.rs`).
    pub(crate) hot: Arc<Hot>,
    /// Access tokens whose signature this node has checked (see `oauth/verified.rs`).
    pub(crate) verified: Arc<crate::oauth::verified::VerifiedTokens>,
    pub(crate) composer: Arc<dyn MailComposer>,
    /// Woken whenever a mail is queued, so the outbox worker sends it at once.
    pub(crate) outbox: Arc<Notify>,
    /// Woken whenever a webhook delivery is queued, so its worker sends it at once.
    pub(crate) webhooks: Arc<Notify>,
    /// Upstream identity providers (SPEC §10), in the configuration's order.
    pub(crate) providers: Arc<Vec<Arc<dyn crate::upstream::IdentityProvider>>>,
    /// The client that reaches webhook endpoints (with its SSRF rules), for the
    /// administration console's create and test.
    pub(crate) webhook_sender: Option<Arc<dyn crate::webhooks::WebhookSender>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The node-shared secrets the use cases seal with, loaded before [`Auth`] is
/// built (they live in the database, the same on every node).
pub struct SealingKeys {
    /// Seals TOTP secrets.
    pub totp: [u8; 32],
    /// Seals the private parts of token signing keys.
    pub signing_keys: [u8; 32],
}

impl std::fmt::Debug for SealingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKeys([redacted])")
    }
}

/// Everything [`Auth`] is built from, all of it given up front: a use case never
/// finds a collaborator or a key missing at run time. Passkeys are the one
/// optional part (off without a host name in the public URL), and their use cases
/// say so with [`AuthError::PasskeysOff`].
pub struct AuthParts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub hasher: PasswordHasher,
    pub config: AuthConfig,
    pub composer: Arc<dyn MailComposer>,
    pub sealing: SealingKeys,
    pub passkeys: Option<RelyingParty>,
}

impl Auth {
    pub fn new(parts: AuthParts) -> Self {
        let AuthParts { store, clock, hasher, config, composer, sealing, passkeys } = parts;
        let keys = crate::keys::Keys::new(
            store.clone(),
            clock.clone(),
            &sealing.signing_keys,
            config.tokens.issuer.clone(),
        );
        Self {
            keys,
            store,
            clock,
            hasher,
            config,
            composer,
            outbox: Arc::new(Notify::new()),
            webhooks: Arc::new(Notify::new()),
            observer: None,
            secret_box: crate::mfa::SecretBox::new(&sealing.totp),
            webauthn: passkeys,
            hot: Arc::new(crate::sessions::hot::HotCache::new()),
            verified: Arc::new(crate::oauth::verified::VerifiedTokens::new()),
            providers: Arc::new(Vec::new()),
            webhook_sender: None,
        }
    }

    /// Reaches webhook endpoints through `sender` when the administration console
    /// creates or tests one (the CLI passes its own).
    #[must_use]
    pub fn with_webhook_sender(mut self, sender: Arc<dyn crate::webhooks::WebhookSender>) -> Self {
        self.webhook_sender = Some(sender);
        self
    }

    /// The sender given to [`with_webhook_sender`](Self::with_webhook_sender).
    pub fn webhook_sender(&self) -> Option<&dyn crate::webhooks::WebhookSender> {
        self.webhook_sender.as_deref()
    }

    /// Reports events to `observer` (metrics).
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    pub(crate) fn observe(&self, f: impl FnOnce(&dyn Observer)) {
        if let Some(o) = &self.observer {
            f(o.as_ref());
        }
    }

    /// The handle a change feed (the store's `LISTEN`) reports to: see
    /// [`ChangeFeed`]. Without one, the hot cache serves entries for [`HOT_TTL`].
    pub fn change_feed(&self) -> ChangeFeed {
        ChangeFeed::new(Arc::clone(&self.hot))
    }

    /// The token signing keys (signing, verifying, rotation, the JWKS).
    pub fn keys(&self) -> &crate::keys::Keys {
        &self.keys
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Whether the database answers (readiness).
    pub async fn ready(&self) -> Result<(), AuthError> {
        Ok(self.store.ping().await?)
    }
}

impl Auth {
    /// Refuses an identity to an administrator who has no second factor while
    /// `require_mfa_for_admins` is on: every route that yields an identity asks
    /// this, except the ones enrolling needs.
    pub fn check_admin_mfa(&self, user: &User) -> Result<(), AuthError> {
        if self.config.require_mfa_for_admins && user.is_admin() && !user.mfa_enabled {
            return Err(AuthError::MfaEnrolmentRequired);
        }
        Ok(())
    }

    /// Writes `message` to `user` as a mail for the outbox.
    pub(crate) fn mail_to(&self, user: &User, message: &MailMessage<'_>) -> Result<NewMail, AuthError> {
        let to = crate::accounts::email::Email::parse(&user.email).map_err(AuthError::internal)?;
        self.mail_to_address(&to, Some(user.id), message)
    }

    /// Writes `message` to an address (and the account it is about, if any).
    pub(crate) fn mail_to_address(
        &self,
        to: &crate::accounts::email::Email,
        about: Option<crate::accounts::user::UserId>,
        message: &MailMessage<'_>,
    ) -> Result<NewMail, AuthError> {
        let mail = self.composer.compose(to, message).map_err(AuthError::internal)?;
        Ok(NewMail { user_id: about, mail, at: self.clock.now() })
    }

    /// Tells the outbox worker that a mail is waiting.
    pub(crate) fn mail_queued(&self) {
        self.outbox.notify_one();
    }
}
