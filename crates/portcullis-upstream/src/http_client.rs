//! The HTTP client every provider uses: rustls with the platform's roots (ring
//! as the crypto provider, as the rest of Portcullis), no redirects, time limits.

use std::time::Duration;

use portcullis_core::upstream::UpstreamError;

/// How long one request to a provider may take, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Makes ring the process's TLS crypto provider, as the rest of Portcullis uses.
/// reqwest is built without a provider of its own (`rustls-no-provider`, so that
/// no second crypto library is compiled), and panics when it builds a client
/// before one is installed: every program of the workspace that builds a reqwest
/// client calls this first. Calling it again does nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub(crate) fn client() -> Result<reqwest::Client, String> {
    install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// A request that did not get an answer, or got a 5xx.
#[derive(Debug)]
pub(crate) struct Unreachable(pub(crate) String);

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreachable {}

/// `openidconnect`'s requests, sent with `client`: an error when there is no
/// answer or a 5xx, so that those read as "unreachable".
pub(crate) async fn send(
    client: reqwest::Client,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, Unreachable> {
    let err = |e: &dyn std::fmt::Display| Unreachable(e.to_string());
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).map_err(|e| err(&e))?;
    let mut out = client.request(method, req.uri().to_string());
    for (name, value) in req.headers() {
        out = out.header(name.as_str(), value.as_bytes());
    }
    let res = out.body(req.body().clone()).send().await.map_err(|e| err(&e))?;
    if res.status().is_server_error() {
        return Err(Unreachable(format!("{} answered {}", req.uri(), res.status())));
    }
    let mut builder = http::Response::builder().status(res.status().as_u16());
    for (name, value) in res.headers() {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    let body = res.bytes().await.map_err(|e| err(&e))?.to_vec();
    builder.body(body).map_err(|e| err(&e))
}

/// A reqwest failure: no answer is "unreachable", the rest "refused".
pub(crate) fn classify(e: &reqwest::Error) -> UpstreamError {
    if e.is_connect() || e.is_timeout() || e.is_request() {
        UpstreamError::Unreachable(e.to_string())
    } else {
        UpstreamError::Refused(e.to_string())
    }
}
