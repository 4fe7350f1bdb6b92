//! Security headers on every response: a strict CSP (no inline script; forms post
//! only to this origin, except on a response that carries a [`FormTarget`]),
//! `nosniff`, no referrer, no framing, and HSTS on https.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::Response;

use crate::state::AppState;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const FORM_ACTION_SELF: &str = "form-action 'self'";

/// A response extension: a form in this response ends on another origin, either
/// posted there (the OAuth 2.0 form_post response mode: [`FormTarget::only`]) or
/// posted here and then redirected there (signing in back to an application, an
/// authorization answer: [`FormTarget::also`]). Browsers apply `form-action` to a
/// form's redirects too, so that origin must be in it; every other response keeps
/// `form-action 'self'`. Made only from an http(s) URL's origin, which holds no
/// space, `;` or quote, so it cannot add a directive or a source of its own; taken
/// off the response when read.
#[derive(Debug, Clone)]
pub(crate) struct FormTarget {
    origin: String,
    keep_self: bool,
}

impl FormTarget {
    /// Forms post to `uri`'s origin only; none unless it is an absolute http(s) URL
    /// with a host.
    pub(crate) fn only(uri: &str) -> Option<Self> {
        Some(Self { origin: origin_of(uri)?, keep_self: false })
    }

    /// Forms post here and may be redirected on to `uri`'s origin.
    pub(crate) fn also(uri: &str) -> Option<Self> {
        Some(Self { origin: origin_of(uri)?, keep_self: true })
    }

    fn csp(&self) -> Option<HeaderValue> {
        let sources = if self.keep_self { format!("'self' {}", self.origin) } else { self.origin.clone() };
        let directive = format!("form-action {sources}");
        HeaderValue::from_str(&CSP.replace(FORM_ACTION_SELF, &directive)).ok()
    }
}

fn origin_of(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The headers every response gets on its way out: the security headers (at most
/// seven), `Content-Length` (axum) and `x-request-id`.
const ADDED_ON_THE_WAY_OUT: usize = 9;

/// A response of the hot paths, made with a header map that already has room for
/// what [`add_security_headers`] and the rest of the way out add: a response made
/// the usual way starts with a map for a handful of headers, which then grows (a
/// reallocation and a rehash, about 1,000 instructions a response; BENCHMARKS.md,
/// "Eighth sitting"). `headers` are the response's own.
pub(crate) fn roomy_response<const N: usize>(
    headers: [(HeaderName, HeaderValue); N],
    body: impl Into<Body>,
) -> Response {
    let mut map = HeaderMap::with_capacity(N + ADDED_ON_THE_WAY_OUT);
    for (name, value) in headers {
        map.insert(name, value);
    }
    let mut res = Response::new(body.into());
    *res.headers_mut() = map;
    res
}

/// Sets the security headers on `res`; `https` adds HSTS. Names and values are
/// made at compile time (`const`): a value made at run time is checked byte by
/// byte on every response, which a profile of `/healthz` found to be a third of
/// this function (BENCHMARKS.md, "Performance, round two", change 10).
pub(crate) fn add_security_headers(https: bool, res: &mut Response) {
    let csp = res.extensions_mut().remove::<FormTarget>().and_then(|target| target.csp());
    let h = res.headers_mut();
    // Room for all of them at once: one allocation instead of growing twice.
    h.reserve(8);
    h.insert(header::CONTENT_SECURITY_POLICY, csp.unwrap_or(const { HeaderValue::from_static(CSP) }));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, const { HeaderValue::from_static("nosniff") });
    h.insert(header::REFERRER_POLICY, const { HeaderValue::from_static("no-referrer") });
    h.insert(header::X_FRAME_OPTIONS, const { HeaderValue::from_static("DENY") });
    h.insert(
        const { HeaderName::from_static("cross-origin-opener-policy") },
        const { HeaderValue::from_static("same-origin") },
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, const { HeaderValue::from_static("no-store") });
    }
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            const { HeaderValue::from_static("max-age=63072000; includeSubDomains") },
        );
    }
}

/// Whether the request came over HTTPS: the public URL says so, or a trusted
/// proxy does.
pub(crate) fn is_https(state: &AppState, req: &Request) -> bool {
    state.config().public_url.is_https() || forwarded_https(state, req)
}

const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// `X-Forwarded-Proto: https` from a peer in `server.trusted_proxies`.
fn forwarded_https(state: &AppState, req: &Request) -> bool {
    let Some(peer) = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() else {
        return false;
    };
    let trusted = state.config().trusted_proxies.iter().any(|net| net.contains(&peer.0.ip()));
    trusted && req.headers().get(&X_FORWARDED_PROTO).and_then(|v| v.to_str().ok()) == Some("https")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_target_changes_only_form_action_to_one_origin() {
        let csp =
            |uri: &str| FormTarget::only(uri).and_then(|t| t.csp()).map(|v| v.to_str().unwrap().to_owned());
        let expected = CSP.replace("form-action 'self'", "form-action https://app.example:8443");
        assert_eq!(csp("https://app.example:8443/cb?x=1;y#f").as_deref(), Some(expected.as_str()));
        assert!(CSP.contains(FORM_ACTION_SELF));
        assert_eq!(csp("http://127.0.0.1:9/callback").unwrap().matches("form-action").count(), 1);
        for not_a_web_origin in ["javascript:alert(1)", "data:text/html,x", "/relative", "file:///etc/passwd"]
        {
            assert!(FormTarget::only(not_a_web_origin).is_none(), "{not_a_web_origin}");
        }
        // Hosts are punycode and spaces or quotes cannot survive URL parsing.
        let odd = csp("https://b\u{fc}cher.example/cb").unwrap();
        assert!(odd.contains("form-action https://xn--bcher-kva.example;"), "{odd}");
        assert!(FormTarget::only("https://a b.example/").is_none());
    }

    #[test]
    fn a_redirect_target_adds_its_origin_next_to_self() {
        let t = FormTarget::also("https://app.example/dash?x=1").unwrap();
        let csp = t.csp().unwrap().to_str().unwrap().to_owned();
        assert_eq!(csp, CSP.replace("form-action 'self'", "form-action 'self' https://app.example"));
        assert!(FormTarget::also("/account").is_none(), "a local path needs nothing");
    }
}
