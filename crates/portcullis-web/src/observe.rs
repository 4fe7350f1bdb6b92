//! Request telemetry: a request id on every request (`x-request-id`, generated
//! unless a trusted caller sent one) carried by the request's log span, and the
//! latency histogram `portcullis_http_request_duration_seconds{method,route,status}`.
//! Paths are logged without their query string, which may carry tokens.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::response::Response;
use metrics::Histogram;

/// Made once: a name given as a `&str` is parsed again at every use.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A fresh request id: UUID-shaped, a random per-process half and a counter, so
/// making one costs no system call (ids need to be unique, not secret).
fn new_request_id() -> HeaderValue {
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 8];
        portcullis_core::token::fill_random(&mut bytes);
        u64::from_le_bytes(bytes)
    });
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut buf = uuid::Uuid::encode_buffer();
    let id = uuid::Uuid::from_u64_pair(prefix, n).hyphenated().encode_lower(&mut buf);
    HeaderValue::from_str(id).expect("a hyphenated UUID is a valid header value")
}

/// A caller's own request id, if it is a sane one (at most 64 letters, digits and
/// dashes).
fn trusted_request_id(req: &Request) -> Option<HeaderValue> {
    let value = req.headers().get(REQUEST_ID)?;
    let bytes = value.as_bytes();
    let sane = bytes.len() <= 64 && bytes.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-');
    sane.then(|| value.clone())
}

/// The method as a label. Methods other than the standard ones are all `OTHER`:
/// the method is the client's choice, and a label per made-up method would let
/// anyone grow the set of series without bound.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
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

/// The handles of `portcullis_http_request_duration_seconds`, by route, method
/// and status, so recording a request's latency builds, hashes and looks up no
/// metric key (with `metrics::histogram!` that was about 1,500 instructions a
/// request: BENCHMARKS.md, "Performance, round two", change 10). The handles
/// belong to the recorder they were made by: when another recorder is current
/// (installed after the first request, or a thread's local one), the cache starts
/// again.
#[derive(Default)]
pub(crate) struct Latencies {
    cache: RwLock<LatencyCache>,
}

#[derive(Default)]
struct LatencyCache {
    /// The address of the recorder the handles belong to.
    recorder: usize,
    entries: usize,
    by_route: HashMap<Box<str>, Vec<(&'static str, u16, Histogram)>>,
}

/// Handles kept at most; routes, standard methods and statuses stay far below.
const MAX_LATENCY_HANDLES: usize = 4096;

impl Latencies {
    fn record(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        let recorder = metrics::with_recorder(|r| std::ptr::from_ref(r).cast::<()>() as usize);
        {
            let cache = self.cache.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            if cache.recorder == recorder
                && let Some(handles) = cache.by_route.get(route)
                && let Some((_, _, histogram)) = handles.iter().find(|(m, s, _)| *m == method && *s == status)
            {
                histogram.record(seconds);
                return;
            }
        }
        let histogram = metrics::histogram!(
            "portcullis_http_request_duration_seconds",
            "method" => method,
            "route" => route.to_owned(),
            "status" => status_label(status)
        );
        histogram.record(seconds);
        let mut cache = self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.recorder != recorder {
            *cache = LatencyCache { recorder, ..LatencyCache::default() };
        }
        if cache.entries < MAX_LATENCY_HANDLES {
            let handles = cache.by_route.entry(route.into()).or_default();
            if !handles.iter().any(|(m, s, _)| *m == method && *s == status) {
                handles.push((method, status, histogram));
                cache.entries += 1;
            }
        }
    }
}

/// What is known of a request before it is handled, for [`Tracked::finish`].
pub(crate) struct Tracked {
    id: HeaderValue,
    method: &'static str,
    started: Instant,
    pub(crate) span: tracing::Span,
}

impl Tracked {
    /// Gives the request its id (a trusted caller's, or a new one) and opens its
    /// span. With `to_handler`, a new id is also put in `req`'s `x-request-id` header
    /// for the handler (an application's route reads it there, as with tower-http's
    /// `SetRequestId`); Portcullis' own handlers do not read it, and on their routes
    /// it is not copied (a header map grown and an allocation per request).
    pub(crate) fn start(req: &mut Request, to_handler: bool) -> Self {
        let id = trusted_request_id(req).unwrap_or_else(|| {
            let id = new_request_id();
            if to_handler {
                req.headers_mut().insert(REQUEST_ID, id.clone());
            }
            id
        });
        let method = method_label(req.method());
        let span = tracing::info_span!(
            "request",
            request_id = %id.to_str().unwrap_or_default(),
            method = %req.method(),
            path = %req.uri().path()
        );
        Self { id, method, started: Instant::now(), span }
    }

    /// Records the latency under `route` (the matched route's template) and puts
    /// the request id on the response.
    pub(crate) fn finish(self, latencies: &Latencies, route: Option<&MatchedPath>, res: &mut Response) {
        let elapsed = self.started.elapsed();
        let status = res.status().as_u16();
        let route = route.map_or("unmatched", MatchedPath::as_str);
        latencies.record(self.method, route, status, elapsed.as_secs_f64());
        self.span.in_scope(|| {
            tracing::debug!(status, latency_ms = elapsed.as_secs_f64() * 1000.0, "request finished");
        });
        res.headers_mut().insert(REQUEST_ID, self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        for made_up in ["FOO", "BREW", "X1", "PROPFIND"] {
            assert_eq!(method_label(&Method::from_bytes(made_up.as_bytes()).unwrap()), "OTHER");
        }
    }

    #[test]
    fn a_request_id_is_kept_only_when_sane() {
        let with = |id: &[u8]| {
            let mut req = Request::new(axum::body::Body::empty());
            req.headers_mut().insert(REQUEST_ID, HeaderValue::from_bytes(id).unwrap());
            trusted_request_id(&req).map(|v| v.as_bytes().to_vec())
        };
        assert_eq!(with(b"trace-abc-123").as_deref(), Some(&b"trace-abc-123"[..]));
        assert_eq!(with(b"<script>"), None);
        assert_eq!(with(&[b'a'; 65]), None);
        assert_eq!(with(b"a b"), None);
        let fresh = new_request_id();
        assert_eq!(fresh.len(), 36);
        assert_ne!(fresh, new_request_id());
    }
}
