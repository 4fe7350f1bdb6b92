//! `[[identity_providers]]` (SPEC §10): upstream OpenID Connect providers and
//! GitHub. Checked without reaching anything over the network (`config check`
//! reads a `client_secret_file`, nothing else); discovery happens at the first
//! sign-in through the provider.

use std::path::PathBuf;
use std::sync::Arc;

use portcullis_core::upstream::{IdentityProvider, ProviderSettings, valid_provider_id};
use portcullis_upstream::{Credentials, GithubProvider, OidcProvider};
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `oidc` or `github`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Oidc,
    Github,
}

/// One `[[identity_providers]]` table, as written (its `Debug` hides the secret).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityProviderConfig {
    /// `[a-z0-9-]`: the routes `/login/{id}` and `/login/{id}/callback`.
    pub id: String,
    /// The button's label.
    pub name: String,
    pub kind: ProviderKind,
    /// `oidc`: the issuer, whose discovery document is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// `github`: `https://github.com` (default) or a GitHub Enterprise Server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    pub client_id: String,
    /// Never written back out.
    #[serde(default, skip_serializing)]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    /// Default: `openid email profile` (oidc), `read:user user:email` (github).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default = "yes")]
    pub allow_signup: bool,
    #[serde(default = "yes")]
    pub trust_upstream_mfa: bool,
}

impl std::fmt::Debug for IdentityProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityProviderConfig")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "[redacted]"))
            .field("client_secret_file", &self.client_secret_file)
            .finish_non_exhaustive()
    }
}

fn yes() -> bool {
    true
}

/// GitHub.com, the default `base_url`.
const GITHUB: &str = "https://github.com";

/// Whether `raw` is an https URL, or http on a loopback host (for local tests).
fn secure_url(raw: &str) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(format!("{raw:?} has no host")),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!("{raw:?} must be https (http only on a loopback address)")),
    }
}

impl IdentityProviderConfig {
    fn scopes(&self) -> Vec<String> {
        self.scopes.clone().unwrap_or_else(|| {
            let defaults: &[&str] = match self.kind {
                ProviderKind::Oidc => &["openid", "email", "profile"],
                ProviderKind::Github => &["read:user", "user:email"],
            };
            defaults.iter().map(|s| (*s).to_owned()).collect()
        })
    }

    /// The client secret, from the file when one is named (trailing line end dropped).
    fn secret(&self) -> Result<String, (&'static str, String)> {
        match (&self.client_secret, &self.client_secret_file) {
            (Some(_), Some(_)) => {
                Err(("client_secret_file", "give client_secret or client_secret_file, not both".into()))
            }
            (None, None) => Err(("client_secret", "required (or client_secret_file)".into())),
            (Some(s), None) if s.is_empty() => Err(("client_secret", "must not be empty".into())),
            (Some(s), None) => Ok(s.clone()),
            (None, Some(path)) => {
                let raw = std::fs::read_to_string(path)
                    .map_err(|e| ("client_secret_file", format!("cannot read {}: {e}", path.display())))?;
                let secret = raw.trim_end_matches(['\r', '\n']).to_owned();
                if secret.is_empty() {
                    return Err(("client_secret_file", format!("{} is empty", path.display())));
                }
                Ok(secret)
            }
        }
    }

    /// Checks the table; the error names the key.
    fn check(&self) -> Result<String, (&'static str, String)> {
        valid_provider_id(&self.id).map_err(|why| ("id", format!("{:?} {why}", self.id)))?;
        if self.name.trim().is_empty() {
            return Err(("name", "must not be empty".into()));
        }
        if self.client_id.is_empty() {
            return Err(("client_id", "must not be empty".into()));
        }
        match self.kind {
            ProviderKind::Oidc => {
                let issuer =
                    self.issuer.as_deref().ok_or(("issuer", "required for kind = \"oidc\"".into()))?;
                secure_url(issuer).map_err(|e| ("issuer", e))?;
                if self.base_url.is_some() {
                    return Err(("base_url", "only for kind = \"github\"".into()));
                }
                if !self.scopes().iter().any(|s| s == "openid") {
                    return Err(("scopes", "must include \"openid\"".into()));
                }
            }
            ProviderKind::Github => {
                if self.issuer.is_some() {
                    return Err(("issuer", "kind = \"github\" takes no issuer (see base_url)".into()));
                }
                secure_url(self.base_url.as_deref().unwrap_or(GITHUB)).map_err(|e| ("base_url", e))?;
            }
        }
        if self.scopes().iter().any(|s| s.is_empty() || s.contains(char::is_whitespace)) {
            return Err(("scopes", "each scope is one word".into()));
        }
        self.secret()
    }
}

/// Checks every provider and builds them (nothing is fetched yet).
pub fn build(list: &[IdentityProviderConfig]) -> Result<Vec<Arc<dyn IdentityProvider>>, ConfigError> {
    let mut built: Vec<Arc<dyn IdentityProvider>> = Vec::with_capacity(list.len());
    for (i, p) in list.iter().enumerate() {
        let fail = |key: &str, why: String| ConfigError(format!("identity_providers[{i}].{key}: {why}"));
        let secret = p.check().map_err(|(key, why)| fail(key, why))?;
        if list[..i].iter().any(|q| q.id == p.id) {
            return Err(fail("id", format!("{:?} is used by another provider", p.id)));
        }
        let settings = ProviderSettings {
            id: p.id.clone(),
            name: p.name.trim().to_owned(),
            allow_signup: p.allow_signup,
            trust_upstream_mfa: p.trust_upstream_mfa,
        };
        let credentials =
            Credentials { client_id: p.client_id.clone(), client_secret: secret, scopes: p.scopes() };
        let provider: Arc<dyn IdentityProvider> = match p.kind {
            ProviderKind::Oidc => Arc::new(
                OidcProvider::new(settings, p.issuer.as_deref().unwrap_or_default(), credentials)
                    .map_err(|e| fail("issuer", e))?,
            ),
            ProviderKind::Github => Arc::new(
                GithubProvider::new(settings, p.base_url.as_deref().unwrap_or(GITHUB), credentials)
                    .map_err(|e| fail("base_url", e))?,
            ),
        };
        built.push(provider);
    }
    Ok(built)
}
