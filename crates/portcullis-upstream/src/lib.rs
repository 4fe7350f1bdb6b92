//! The upstream identity providers of Portcullis (SPEC §10), behind core's
//! `IdentityProvider` port: [`OidcProvider`] (discovery, code + PKCE + state +
//! nonce, the ID token's signature, `iss`, `aud`, `exp` and `nonce` checked by the
//! `openidconnect` crate, userinfo when the ID token has no address) and
//! [`GithubProvider`] (GitHub's OAuth web flow, then its user and emails APIs:
//! only a verified primary address counts).
//!
//! Every request has a time limit and follows no redirect; a provider that cannot
//! be reached or answers 5xx is `UpstreamError::Unreachable`, any other failure
//! `UpstreamError::Refused`.

mod github;
mod http_client;
mod oidc;

pub use github::GithubProvider;
pub use http_client::install_crypto_provider;
pub use oidc::OidcProvider;

/// How to reach one provider, as configured.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
}
