//! Security headers on every response: a strict CSP (no inline script; forms post
//! only to this origin, except on a response that carries a [`FormTarget`]),
//! `nosniff`, no referrer, no framing, and HSTS on https.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const FORM_ACTION_SELF: &str = "form-action 'self'";

/// A response extension: the page in this response posts a form to another origin
/// (the OAuth 2.0 form_post response mode). Its CSP's `form-action` names that one
/// origin instead of `'self'`; every other response keeps the strict policy. Made
/// only from an http(s) URL's origin, which holds no space, `;` or quote, so it
/// cannot add a directive or a source of its own; taken off the response when read.
#[derive(Debug, Clone)]
pub(crate) struct FormTarget(String);

impl FormTarget {
    /// The origin of `uri`; none unless it is an absolute http(s) URL with a host.
    pub(crate) fn of(uri: &str) -> Option<Self> {
        let url = url::Url::parse(uri).ok()?;
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        let origin = url.origin();
        origin.is_tuple().then(|| Self(origin.ascii_serialization()))
    }

    fn csp(&self) -> Option<HeaderValue> {
        let directive = format!("form-action {}", self.0);
        HeaderValue::from_str(&CSP.replace(FORM_ACTION_SELF, &directive)).ok()
    }
}

pub(crate) async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let https = state.config().public_url.is_https() || forwarded_https(&state, &req);
    let mut res = next.run(req).await;
    let csp = res.extensions_mut().remove::<FormTarget>().and_then(|target| target.csp());
    let h = res.headers_mut();
    // Room for all of them at once: one allocation instead of growing twice.
    h.reserve(8);
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    h.insert(header::CONTENT_SECURITY_POLICY, csp.unwrap_or(HeaderValue::from_static(CSP)));
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    if https {
        set(h, header::STRICT_TRANSPORT_SECURITY, "max-age=63072000; includeSubDomains");
    }
    res
}

/// `X-Forwarded-Proto: https` from a peer in `server.trusted_proxies`.
fn forwarded_https(state: &AppState, req: &Request) -> bool {
    let Some(peer) = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() else {
        return false;
    };
    let trusted = state.config().trusted_proxies.iter().any(|net| net.contains(&peer.0.ip()));
    trusted && req.headers().get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_target_changes_only_form_action_to_one_origin() {
        let csp =
            |uri: &str| FormTarget::of(uri).and_then(|t| t.csp()).map(|v| v.to_str().unwrap().to_owned());
        let expected = CSP.replace("form-action 'self'", "form-action https://app.example:8443");
        assert_eq!(csp("https://app.example:8443/cb?x=1;y#f").as_deref(), Some(expected.as_str()));
        assert!(CSP.contains(FORM_ACTION_SELF));
        assert_eq!(csp("http://127.0.0.1:9/callback").unwrap().matches("form-action").count(), 1);
        for not_a_web_origin in ["javascript:alert(1)", "data:text/html,x", "/relative", "file:///etc/passwd"]
        {
            assert!(FormTarget::of(not_a_web_origin).is_none(), "{not_a_web_origin}");
        }
        // Hosts are punycode and spaces or quotes cannot survive URL parsing.
        let odd = csp("https://b\u{fc}cher.example/cb").unwrap();
        assert!(odd.contains("form-action https://xn--bcher-kva.example;"), "{odd}");
        assert!(FormTarget::of("https://a b.example/").is_none());
    }
}
