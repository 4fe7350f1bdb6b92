//! What every handler shares: the use cases, the web settings, the templates and
//! the keys. Cheap to clone.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use portcullis_core::Auth;
use portcullis_core::access::AccessRules;

use crate::cookies::CookieNames;
use crate::templates::Templates;

/// The origin Portcullis is reached at, from `server.public_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    origin: String,
    https: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("server.public_url: {0}")]
pub struct PublicUrlError(&'static str);

impl PublicUrl {
    /// Accepts `http(s)://host[:port]` with an optional trailing `/`.
    pub fn parse(raw: &str) -> Result<Self, PublicUrlError> {
        let (https, rest) = if let Some(r) = raw.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = raw.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(PublicUrlError("must start with http:// or https://"));
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        let valid = !authority.is_empty()
            && authority.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
        if !valid {
            return Err(PublicUrlError(
                "must be an origin like https://auth.example.com (no path, query or user)",
            ));
        }
        let scheme = if https { "https" } else { "http" };
        Ok(Self { origin: format!("{scheme}://{}", authority.to_ascii_lowercase()), https })
    }

    /// `scheme://host[:port]`, as browsers send it in `Origin`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn is_https(&self) -> bool {
        self.https
    }
}

/// Renders the metrics exposition (Prometheus text).
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// Settings of the web layer.
#[derive(Clone)]
pub struct WebConfig {
    pub public_url: PublicUrl,
    pub trusted_proxies: Vec<IpNet>,
    pub request_timeout: Duration,
    pub templates_dir: Option<PathBuf>,
    /// Serves `GET /metrics` when set.
    pub metrics: Option<MetricsRender>,
    /// Absolute origins a `next` may point to (forward-auth).
    pub allowed_redirect_origins: Vec<String>,
    /// Who forward-auth lets through (`access.rules`, `access.default_policy`).
    pub access: AccessRules,
}

impl WebConfig {
    /// `next` if it may be redirected to (see [`crate::paths::is_allowed_next`]).
    pub fn safe_next<'a>(&self, next: &'a str) -> Option<&'a str> {
        crate::paths::is_allowed_next(next, &self.allowed_redirect_origins).then_some(next)
    }
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("public_url", &self.public_url)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("request_timeout", &self.request_timeout)
            .field("templates_dir", &self.templates_dir)
            .field("metrics", &self.metrics.is_some())
            .field("allowed_redirect_origins", &self.allowed_redirect_origins)
            .field("access", &self.access)
            .finish()
    }
}

pub(crate) struct Inner {
    pub auth: Auth,
    pub config: WebConfig,
    pub templates: Templates,
    pub cookies: CookieNames,
    pub csrf_key: [u8; 32],
    /// The request latency histograms' handles (`observe`).
    pub latencies: crate::observe::Latencies,
}

/// Shared state of the Portcullis routes and extractors.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("config", &self.0.config).finish_non_exhaustive()
    }
}

impl AppState {
    /// `csrf_key` is a 256-bit secret shared by every node (kept in the database).
    pub fn new(auth: Auth, config: WebConfig, csrf_key: [u8; 32]) -> Self {
        let templates = Templates::new(config.templates_dir.clone());
        let cookies = CookieNames::new(config.public_url.is_https());
        Self(Arc::new(Inner {
            auth,
            config,
            templates,
            cookies,
            csrf_key,
            latencies: crate::observe::Latencies::default(),
        }))
    }

    pub fn auth(&self) -> &Auth {
        &self.0.auth
    }

    pub fn config(&self) -> &WebConfig {
        &self.0.config
    }

    pub fn cookies(&self) -> &CookieNames {
        &self.0.cookies
    }

    pub(crate) fn templates(&self) -> &Templates {
        &self.0.templates
    }
}
