//! Security headers on every response (SPEC §5).

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let https = state.config().public_url.is_https() || forwarded_https(&state, &req);
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // Room for all of them at once: one allocation instead of growing twice.
    h.reserve(8);
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
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
