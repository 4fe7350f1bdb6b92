//! Signing in with another identity provider (SPEC §10): upstream OpenID Connect
//! providers and GitHub. This area holds the model, the port the providers are
//! reached through ([`IdentityProvider`], implemented by `portcullis-upstream`),
//! the storage it needs, and the use cases: starting a flow, finishing it (sign
//! in, sign up, or ask the user to sign in to the account that owns the address
//! before linking), linking and unlinking.
//!
//! An upstream identity is `issuer` + `subject` (GitHub: its base URL and the
//! numeric user id). It is never linked to an account because the addresses
//! match: the owner of the account must sign in to it first.

mod link;
pub(crate) mod service;
pub mod store;

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::accounts::user::UserId;
use crate::token::TokenHash;

pub use link::LAST_SIGN_IN_METHOD;
pub use service::{Callback, Finished, UpstreamFailure, UpstreamStart};

/// How long a started flow, and a link waiting for its account's sign-in, last.
pub const FLOW_TTL: Duration = Duration::minutes(10);

/// Provider ids that would collide with routes under `/login/`.
pub const RESERVED_IDS: [&str; 4] = ["mfa", "passkey", "email", "verify"];

/// Whether `id` may name a provider: 1 to 32 of `[a-z0-9-]`, not reserved.
pub fn valid_provider_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() || id.len() > 32 {
        return Err("must be 1 to 32 characters");
    }
    if !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err("may hold only a-z, 0-9 and -");
    }
    if RESERVED_IDS.contains(&id) {
        return Err("is reserved (mfa, passkey, email and verify are routes of /login)");
    }
    Ok(())
}

/// What the operator configured about a provider, beyond how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSettings {
    /// `[a-z0-9-]`: the routes `/login/{id}` and `/login/{id}/callback`.
    pub id: String,
    /// The button's label.
    pub name: String,
    /// An unknown identity with a verified address new here gets an account.
    pub allow_signup: bool,
    /// The upstream's `amr` saying a second factor was used spares the user's own.
    pub trust_upstream_mfa: bool,
}

/// Who the upstream says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdentity {
    /// The OIDC issuer, or GitHub's base URL.
    pub issuer: String,
    /// The OIDC `sub`, or GitHub's numeric user id.
    pub subject: String,
    pub email: Option<String>,
    /// Only a verified address may create or be matched with an account.
    pub email_verified: bool,
    /// The upstream's `amr` names a second factor (`mfa`, `otp` or `hwk`).
    pub second_factor: bool,
}

/// Why a provider did not say who signed in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// Unreachable, or it answered 5xx (a 502 page).
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    /// It refused, or its answer failed a check (signature, issuer, audience,
    /// nonce, expiry): a 400 page.
    #[error("the provider's answer was refused: {0}")]
    Refused(String),
}

/// What the provider's authorization endpoint needs, per flow.
#[derive(Debug, Clone)]
pub struct AuthorizeInput<'a> {
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    /// `S256` challenge of the flow's PKCE verifier.
    pub code_challenge: &'a str,
}

/// What exchanging the code needs.
#[derive(Debug, Clone)]
pub struct CallbackInput<'a> {
    pub redirect_uri: &'a str,
    pub code: &'a str,
    pub code_verifier: &'a str,
    /// The ID token's `nonce` must be this one.
    pub nonce: &'a str,
}

/// An upstream provider, as this area reaches it.
#[async_trait]
pub trait IdentityProvider: Send + Sync + 'static {
    fn settings(&self) -> &ProviderSettings;
    /// Where to send the browser (discovering the provider first if needed).
    async fn authorize_url(&self, input: AuthorizeInput<'_>) -> Result<String, UpstreamError>;
    /// Exchanges the code and checks what comes back; who signed in.
    async fn identify(&self, input: CallbackInput<'_>) -> Result<UpstreamIdentity, UpstreamError>;
}

/// An upstream identity linked to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedIdentity {
    pub id: Uuid,
    pub user_id: UserId,
    /// The provider id it was linked through (its label may change in the config).
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    /// The address the upstream gave when it was linked.
    pub email: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

/// A started flow, stored until its callback (single use, [`FLOW_TTL`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowState {
    /// SHA-256 of the `state` parameter: how the callback finds it.
    pub state_hash: TokenHash,
    pub provider: String,
    /// SHA-256 of the cookie of the browser that started it.
    pub browser: TokenHash,
    pub nonce: String,
    pub code_verifier: String,
    /// Where to go afterwards (a local path, checked when the flow started).
    pub next: Option<String>,
    /// Started from the account page by this user: link, do not sign in.
    pub link_to: Option<UserId>,
    pub expires_at: OffsetDateTime,
}

/// An identity waiting for the owner of the account with its address to sign in
/// (single use, [`FLOW_TTL`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLink {
    /// SHA-256 of the browser's link cookie.
    pub token_hash: TokenHash,
    pub provider: String,
    /// The account whose address the upstream gave.
    pub user_id: UserId,
    pub identity: UpstreamIdentity,
    pub expires_at: OffsetDateTime,
}

/// The answer to an unlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlinked {
    Done,
    /// Not one of the user's identities.
    NotFound,
    /// It is the account's only way to sign in (no password, no passkey, no other
    /// identity).
    LastSignInMethod,
}
