//! The use cases of upstream sign-in (SPEC §10).
//!
//! Starting a flow stores its state server-side (any node can finish it): the
//! SHA-256 of the `state` parameter, the PKCE verifier, the nonce, and the SHA-256
//! of a cookie given to the browser that started it. The callback takes the flow
//! (once), checks it is this provider's, unexpired, and the same browser's, then
//! asks the provider who signed in and decides:
//! - an identity linked already signs its account in (second factor still owed
//!   when the account has one, unless the upstream says it used one and the
//!   provider is trusted for that);
//! - from the account page, the identity is linked to the signed-in user;
//! - an identity new here whose verified address no account has gets an account,
//!   when the provider allows sign-up;
//! - an identity whose address belongs to an account is never linked at once: it
//!   waits (a pending link, its token in another cookie) for that account's owner
//!   to sign in to it, password or passkey and second factor, here.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::accounts::email::Email;
use crate::accounts::user::{NO_PASSWORD_HASH, User, UserId};
use crate::audit::{EventKind, Outcome};
use crate::error::AuthError;
use crate::service::{Auth, Authenticated, ClientMeta};
use crate::sessions::SignIn;
use crate::sessions::login::LoginOutcome;
use crate::store::{NewUser, StoreError};
use crate::token::{SecretToken, TokenHash};
use crate::upstream::{
    AuthorizeInput, CallbackInput, FLOW_TTL, FlowState, IdentityProvider, PendingLink, ProviderSettings,
    UpstreamError, UpstreamIdentity,
};

/// What a callback brings: the provider of its route, the redirect URI the flow
/// was started with, its `state`, `code` and `error` parameters, and the value of
/// the browser's flow cookie.
#[derive(Debug, Clone, Copy)]
pub struct Callback<'a> {
    pub provider: &'a str,
    pub redirect_uri: &'a str,
    pub state: Option<&'a str>,
    pub browser: Option<&'a str>,
    pub code: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// A started flow: where to send the browser, and the cookie that binds the flow
/// to it.
#[derive(Debug)]
pub struct UpstreamStart {
    pub authorize_url: String,
    pub browser: SecretToken,
}

/// How a callback ended well.
#[derive(Debug)]
pub enum Finished {
    /// Signed in: a full session, or one that owes the second factor.
    SignedIn { outcome: Box<LoginOutcome>, next: Option<String>, created: bool },
    /// Linked to the signed-in account (a flow started from the account page).
    Linked { provider: String, next: Option<String> },
    /// The address belongs to an account: its owner must sign in to it, in this
    /// browser, within [`FLOW_TTL`] (the token goes into a cookie) to link.
    SignInToLink { token: SecretToken, email: String, provider: String, next: Option<String> },
}

/// Why a flow failed. Nothing was created or linked.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamFailure {
    #[error("no such identity provider")]
    UnknownProvider,
    /// No flow for this state, used already, expired, another provider's, or
    /// started in another browser.
    #[error("the sign-in expired, was used already, or was started in another browser")]
    BadState,
    /// The upstream answered the callback with an `error` (e.g. `access_denied`).
    #[error("the provider did not sign you in ({0})")]
    Denied(String),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The upstream gave no verified address: nothing can be created or linked.
    #[error("the provider gave no verified email address")]
    NoVerifiedEmail,
    /// An identity new here, and the provider does not allow sign-up.
    #[error("there is no account for this identity, and signing up through this provider is off")]
    SignupClosed,
    /// Linking an identity that another account has.
    #[error("this identity is linked to another account")]
    LinkedElsewhere,
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl From<StoreError> for UpstreamFailure {
    fn from(e: StoreError) -> Self {
        Self::Auth(e.into())
    }
}

/// The SHA-256 of a flow's `state` parameter or of a cookie value.
fn digest(raw: &str) -> TokenHash {
    TokenHash::from_bytes(Sha256::digest(raw.as_bytes()).into())
}

impl Auth {
    /// The upstream providers sign-in may go through (SPEC §10), in the
    /// configuration's order.
    #[must_use]
    pub fn with_identity_providers(mut self, providers: Vec<Arc<dyn IdentityProvider>>) -> Self {
        self.providers = Arc::new(providers);
        self
    }

    /// The configured providers (for the sign-in page's buttons).
    pub fn identity_providers(&self) -> impl Iterator<Item = &ProviderSettings> {
        self.providers.iter().map(|p| p.settings())
    }

    fn provider(&self, id: &str) -> Result<&Arc<dyn IdentityProvider>, UpstreamFailure> {
        self.providers.iter().find(|p| p.settings().id == id).ok_or(UpstreamFailure::UnknownProvider)
    }

    /// Starts a flow through `provider`: a sign-in, or with `link_to` (the
    /// signed-in user, from the account page) a link.
    pub async fn start_upstream(
        &self,
        provider: &str,
        redirect_uri: &str,
        next: Option<&str>,
        link_to: Option<UserId>,
    ) -> Result<UpstreamStart, UpstreamFailure> {
        let upstream = self.provider(provider)?;
        let (state, nonce, verifier, browser) = (
            SecretToken::generate(),
            SecretToken::generate(),
            SecretToken::generate(),
            SecretToken::generate(),
        );
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose().as_bytes()));
        let authorize_url = upstream
            .authorize_url(AuthorizeInput {
                redirect_uri,
                state: state.expose(),
                nonce: nonce.expose(),
                code_challenge: &challenge,
            })
            .await?;
        let now = self.clock.now();
        let flow = FlowState {
            state_hash: digest(state.expose()),
            provider: provider.to_owned(),
            browser: browser.hash(),
            nonce: nonce.expose().to_owned(),
            code_verifier: verifier.expose().to_owned(),
            next: next.map(str::to_owned),
            link_to,
            expires_at: now + FLOW_TTL,
        };
        self.store.save_flow(&flow, now).await?;
        Ok(UpstreamStart { authorize_url, browser })
    }

    /// Finishes a flow at its callback; `signed_in` is the session of the request
    /// (if any).
    pub async fn finish_upstream(
        &self,
        callback: &Callback<'_>,
        signed_in: Option<&Authenticated>,
        client: &ClientMeta,
    ) -> Result<Finished, UpstreamFailure> {
        let provider = callback.provider;
        let result = self.finish(callback, signed_in, client).await;
        if let Err(e) = &result {
            let reason = match e {
                UpstreamFailure::UnknownProvider | UpstreamFailure::Auth(_) => None,
                UpstreamFailure::BadState => Some("state"),
                UpstreamFailure::Denied(_) => Some("denied"),
                UpstreamFailure::Upstream(UpstreamError::Unreachable(_)) => Some("unreachable"),
                UpstreamFailure::Upstream(UpstreamError::Refused(_)) => Some("refused"),
                UpstreamFailure::NoVerifiedEmail => Some("no_verified_email"),
                UpstreamFailure::SignupClosed => Some("signup_closed"),
                UpstreamFailure::LinkedElsewhere => Some("linked_elsewhere"),
            };
            if let Some(reason) = reason {
                let detail = format!("upstream={provider} reason={reason}");
                self.audit(EventKind::LoginFailed, Outcome::Failure, None, client, Some(&detail)).await;
                self.observe(|o| o.login("failure"));
            }
        }
        result
    }

    async fn finish(
        &self,
        callback: &Callback<'_>,
        signed_in: Option<&Authenticated>,
        client: &ClientMeta,
    ) -> Result<Finished, UpstreamFailure> {
        let Callback { provider, redirect_uri, state, browser, code, error } = *callback;
        let upstream = Arc::clone(self.provider(provider)?);
        let settings = upstream.settings();
        let state = state.filter(|s| !s.is_empty()).ok_or(UpstreamFailure::BadState)?;
        let flow = self.store.take_flow(&digest(state)).await?.ok_or(UpstreamFailure::BadState)?;
        let same_browser = browser.is_some_and(|b| digest(b) == flow.browser);
        if flow.provider != provider || flow.expires_at <= self.clock.now() || !same_browser {
            return Err(UpstreamFailure::BadState);
        }
        if let Some(error) = error {
            let shown: String = error.chars().filter(char::is_ascii_graphic).take(64).collect();
            return Err(UpstreamFailure::Denied(shown));
        }
        let code = code.filter(|c| !c.is_empty()).ok_or(UpstreamFailure::BadState)?;
        let identity = upstream
            .identify(CallbackInput {
                redirect_uri,
                code,
                code_verifier: &flow.code_verifier,
                nonce: &flow.nonce,
            })
            .await?;
        if let Some(user) = flow.link_to {
            if signed_in.is_none_or(|me| me.user.id != user) {
                return Err(UpstreamFailure::BadState);
            }
            self.link(provider, user, &identity, client).await?;
            return Ok(Finished::Linked { provider: settings.name.clone(), next: flow.next });
        }
        if let Some((link, user)) = self.store.find_identity(&identity.issuer, &identity.subject).await? {
            self.may_sign_in(&user)?;
            self.store.identity_used(link.id, self.clock.now()).await?;
            let outcome = self.sign_in_upstream(settings, user, &identity, client).await?;
            return Ok(Finished::SignedIn { outcome: Box::new(outcome), next: flow.next, created: false });
        }
        let email = match (&identity.email, identity.email_verified) {
            (Some(email), true) => Email::parse(email).map_err(|_| UpstreamFailure::NoVerifiedEmail)?,
            _ => return Err(UpstreamFailure::NoVerifiedEmail),
        };
        if let Some(owner) = self.store.find_credentials_by_email(email.canonical()).await? {
            let token = SecretToken::generate();
            let pending = PendingLink {
                token_hash: token.hash(),
                provider: provider.to_owned(),
                user_id: owner.user.id,
                identity,
                expires_at: self.clock.now() + FLOW_TTL,
            };
            self.store.save_pending_link(&pending, self.clock.now()).await?;
            return Ok(Finished::SignInToLink {
                token,
                email: owner.user.email,
                provider: settings.name.clone(),
                next: flow.next,
            });
        }
        if !settings.allow_signup {
            return Err(UpstreamFailure::SignupClosed);
        }
        let user = self.sign_up_upstream(provider, &email, &identity, client).await?;
        let outcome = self.sign_in_upstream(settings, user, &identity, client).await?;
        Ok(Finished::SignedIn { outcome: Box::new(outcome), next: flow.next, created: true })
    }

    /// A session for `user` after the upstream vouched for them: owing the second
    /// factor when the account has one, unless the upstream used one and is
    /// trusted to say so.
    async fn sign_in_upstream(
        &self,
        settings: &ProviderSettings,
        user: User,
        identity: &UpstreamIdentity,
        client: &ClientMeta,
    ) -> Result<LoginOutcome, UpstreamFailure> {
        let upstream_mfa = settings.trust_upstream_mfa && identity.second_factor;
        let stage = match (user.mfa_enabled, upstream_mfa) {
            (_, true) => SignIn::TwoFactor,
            (true, false) => SignIn::Pending,
            (false, false) => SignIn::Password,
        };
        let outcome = self.open_session(user, false, client, stage, None).await?;
        if stage != SignIn::Pending {
            let detail = format!("upstream={}", settings.id);
            self.audit(
                EventKind::LoginSucceeded,
                Outcome::Success,
                Some(outcome.user.id),
                client,
                Some(&detail),
            )
            .await;
            self.observe(|o| o.login("success"));
        }
        Ok(outcome)
    }

    /// A verified account with no password, linked to the identity.
    async fn sign_up_upstream(
        &self,
        provider: &str,
        email: &Email,
        identity: &UpstreamIdentity,
        client: &ClientMeta,
    ) -> Result<User, UpstreamFailure> {
        let now = self.clock.now();
        let id = UserId::new();
        let new = NewUser {
            id,
            email: email.as_str(),
            email_canonical: email.canonical(),
            password_hash: NO_PASSWORD_HASH,
            email_verified: true,
            groups: &[],
            created_at: now,
        };
        let link = self.linked(provider, id, identity);
        let data = serde_json::json!({"via": "identity_provider", "provider": provider});
        let event = self.webhook_event(crate::webhooks::EventType::UserCreated, id, email.as_str(), data);
        let user = match self.store.create_user_with_identity(new, &link, Some(&event)).await {
            Ok(user) => user,
            // Made meanwhile by another request: try again from the start.
            Err(StoreError::Conflict(_)) => return Err(UpstreamFailure::BadState),
            Err(e) => return Err(e.into()),
        };
        let detail = format!("upstream={provider}");
        self.audit(EventKind::Register, Outcome::Success, Some(user.id), client, Some(&detail)).await;
        self.audit(EventKind::IdentityLinked, Outcome::Success, Some(user.id), client, Some(&detail)).await;
        self.webhook_queued();
        Ok(user)
    }
}
