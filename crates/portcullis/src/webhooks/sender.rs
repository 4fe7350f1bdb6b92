//! The HTTP side of webhooks, with its SSRF rules: `https://` only (or `http://`
//! to a host in `webhooks.allow_http_hosts`); an IP literal is checked before any
//! connection, a name is resolved by [`GuardedResolver`], which hands the client
//! only addresses it checked (the client connects to them: no second lookup a
//! rebinding DNS server could answer differently). Listed hosts skip the address
//! check. No proxy, no redirects, time-outs, and at most [`MAX_BODY`] of an
//! answer read.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use portcullis_core::webhooks::{WebhookError, WebhookSender};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use super::address::refused_class;

/// How long one delivery may take, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of an answer's body read (then the connection is dropped).
const MAX_BODY: usize = 4 * 1024;

/// Hosts (names or IP literals, as written in URLs, lower case) that may be
/// reached over plain HTTP and at any address.
#[derive(Debug, Default)]
struct AllowList(Vec<String>);

impl AllowList {
    fn allows(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.0.iter().any(|h| h.trim_start_matches('[').trim_end_matches(']').eq_ignore_ascii_case(host))
    }
}

/// A refusal by the SSRF rules; found again in the client's error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refusal(String);

/// Resolves a name and keeps it only if every address it names may be reached.
struct GuardedResolver(Arc<AllowList>);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve_checked(&host, &allow).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

async fn resolve_checked(
    host: &str,
    allow: &AllowList,
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
    if addrs.is_empty() {
        return Err(format!("{host} has no address").into());
    }
    if !allow.allows(host) {
        for addr in &addrs {
            if let Some(class) = refused_class(addr.ip()) {
                return Err(Box::new(Refusal(format!(
                    "{host} resolves to {}, a {class} address",
                    addr.ip()
                ))));
            }
        }
    }
    Ok(addrs)
}

/// The URL's scheme, and its host if an IP literal: what can be checked with no lookup.
fn check_literal(url: &Url, allow: &AllowList) -> Result<(), WebhookError> {
    let host = url.host_str().ok_or_else(|| WebhookError::Refused("the URL has no host".into()))?;
    let listed = allow.allows(host);
    match url.scheme() {
        "https" => {}
        "http" if listed => {}
        _ => {
            return Err(WebhookError::Refused(format!(
                "only https:// URLs (http:// only to a host in webhooks.allow_http_hosts), not {host:?} over {}",
                url.scheme()
            )));
        }
    }
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    match refused_class(ip) {
        Some(class) if !listed => Err(WebhookError::Refused(format!("{ip} is a {class} address"))),
        _ => Ok(()),
    }
}

fn parse(url: &str) -> Result<Url, WebhookError> {
    Url::parse(url).map_err(|e| WebhookError::Refused(format!("not a URL: {e}")))
}

/// The webhook client (see the module's comment).
pub struct HttpSender {
    client: reqwest::Client,
    allow: Arc<AllowList>,
}

impl HttpSender {
    /// A sender that allows plain HTTP, and any address, to `allow_http_hosts`.
    pub fn new(allow_http_hosts: &[String]) -> Result<Self, String> {
        portcullis_upstream::install_crypto_provider();
        let allow = Arc::new(AllowList(allow_http_hosts.iter().map(|h| h.to_ascii_lowercase()).collect()));
        let client = reqwest::Client::builder()
            .dns_resolver(GuardedResolver(allow.clone()))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("portcullis-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("webhook HTTP client: {e}"))?;
        Ok(Self { client, allow })
    }
}

/// A failed request: refused by the resolver, or a temporary failure.
fn request_error(e: &reqwest::Error) -> WebhookError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(refusal) = err.downcast_ref::<Refusal>() {
            return WebhookError::Refused(refusal.0.clone());
        }
        source = err.source();
    }
    let mut text = e.to_string();
    let mut inner = std::error::Error::source(e);
    while let Some(err) = inner {
        text = format!("{text}: {err}");
        inner = err.source();
    }
    WebhookError::Temporary(text)
}

#[async_trait]
impl WebhookSender for HttpSender {
    async fn check_url(&self, url: &str) -> Result<(), WebhookError> {
        let url = parse(url)?;
        check_literal(&url, &self.allow)?;
        if let Some(Host::Domain(name)) = url.host() {
            resolve_checked(name, &self.allow).await.map_err(|e| match e.downcast::<Refusal>() {
                Ok(refusal) => WebhookError::Refused(refusal.0),
                Err(other) => WebhookError::Refused(format!("{name} does not resolve: {other}")),
            })?;
        }
        Ok(())
    }

    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<u16, WebhookError> {
        let url = parse(url)?;
        check_literal(&url, &self.allow)?;
        let mut request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let mut response = request.send().await.map_err(|e| request_error(&e))?;
        let status = response.status();
        // Read a little of the answer (so a keep-alive connection can be reused
        // when it is small), never more than MAX_BODY.
        let mut read = 0;
        while read < MAX_BODY {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) | Err(_) => break,
            }
        }
        if status.is_success() {
            Ok(status.as_u16())
        } else {
            Err(WebhookError::Temporary(format!("the endpoint answered {status}")))
        }
    }
}
