//! Request telemetry: a request id on every request (`x-request-id`, generated
//! unless a trusted caller sent one) carried by the request's log span, and the
//! latency histogram `portcullis_http_request_duration_seconds{method,route,status}`.
//! Paths are logged without their query string, which may carry tokens.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::response::Response;

const REQUEST_ID: &str = "x-request-id";

/// A fresh request id: UUID-shaped, a random per-process half and a counter, so
/// making one costs no system call (ids need to be unique, not secret).
fn new_request_id() -> String {
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 8];
        portcullis_core::token::fill_random(&mut bytes);
        u64::from_le_bytes(bytes)
    });
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    uuid::Uuid::from_u64_pair(prefix, n).to_string()
}

/// The method as a label without an allocation for the common ones.
fn method_label(method: &axum::http::Method) -> std::borrow::Cow<'static, str> {
    use axum::http::Method;
    match *method {
        Method::GET => "GET".into(),
        Method::POST => "POST".into(),
        Method::DELETE => "DELETE".into(),
        Method::PUT => "PUT".into(),
        Method::PATCH => "PATCH".into(),
        Method::HEAD => "HEAD".into(),
        Method::OPTIONS => "OPTIONS".into(),
        _ => method.to_string().into(),
    }
}

/// The status as a label without an allocation for the common ones.
fn status_label(status: u16) -> std::borrow::Cow<'static, str> {
    match status {
        200 => "200".into(),
        201 => "201".into(),
        202 => "202".into(),
        204 => "204".into(),
        302 => "302".into(),
        303 => "303".into(),
        304 => "304".into(),
        400 => "400".into(),
        401 => "401".into(),
        403 => "403".into(),
        404 => "404".into(),
        422 => "422".into(),
        429 => "429".into(),
        _ => status.to_string().into(),
    }
}

/// What is known of a request before it is handled, for [`Tracked::finish`].
pub(crate) struct Tracked {
    id: String,
    method: axum::http::Method,
    started: Instant,
    pub(crate) span: tracing::Span,
}

impl Tracked {
    /// Gives `req` its request id (a trusted caller's, or a new one) and opens its
    /// span.
    pub(crate) fn start(req: &mut Request) -> Self {
        let id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            .map_or_else(new_request_id, str::to_owned);
        if let Ok(value) = HeaderValue::from_str(&id) {
            req.headers_mut().insert(REQUEST_ID, value);
        }
        let method = req.method().clone();
        let span =
            tracing::info_span!("request", request_id = %id, method = %method, path = %req.uri().path());
        Self { id, method, started: Instant::now(), span }
    }

    /// Records the latency under `route` (the matched route's template) and puts
    /// the request id on the response.
    pub(crate) fn finish(self, route: Option<&MatchedPath>, res: &mut Response) {
        let elapsed = self.started.elapsed();
        let status = res.status().as_u16();
        let route = route.map_or("unmatched", MatchedPath::as_str).to_owned();
        metrics::histogram!(
            "portcullis_http_request_duration_seconds",
            "method" => method_label(&self.method),
            "route" => route,
            "status" => status_label(status)
        )
        .record(elapsed.as_secs_f64());
        self.span.in_scope(|| {
            tracing::debug!(status, latency_ms = elapsed.as_secs_f64() * 1000.0, "request finished");
        });
        if let Ok(value) = HeaderValue::from_str(&self.id) {
            res.headers_mut().insert(REQUEST_ID, value);
        }
    }
}
