//! The service-wide protections of every route, as one layer: the request id,
//! span and latency histogram (`observe`), the security headers (`headers`), a
//! panic turned into a generic 500 problem, the request timeout (503), the
//! state the extractors need, the 64 KiB body limit (a larger declared
//! `Content-Length` refused at once, before any of the body is read), and the
//! error pages of `PageError`s (`pages`); on Portcullis' own routes also the
//! cross-site check of `/api/v1` (`api::v1::refuses_cross_site`), and on an
//! application's routes the request id in the request's headers.
//!
//! They used to be eight `Router::layer` calls. axum applies a router layer to each
//! route separately and boxes every layer's service, so every request cloned eight
//! boxed services and boxed eight futures: a profile of `GET /healthz` found
//! about 15 % of the server's CPU in `malloc`/`free`, most of it from those
//! clones (BENCHMARKS.md, "Performance, round two"). As one layer, a request
//! costs one clone and one boxed future, and the order of the protections is
//! unchanged: the outermost sees every answer, including a timeout's or a
//! panic's.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::HttpBody as _;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use tower::{Layer, Service, ServiceExt as _};
use tracing::Instrument as _;

use crate::error::{ApiError, PageError};
use crate::observe::Tracked;
use crate::state::AppState;
use crate::{MAX_BODY_BYTES, api, headers, pages, paths};

/// The layer [`crate::harden`] puts on every route.
#[derive(Clone)]
pub(crate) struct HardenLayer {
    state: AppState,
    timeout: Duration,
    own_routes: bool,
}

impl HardenLayer {
    pub(crate) fn new(state: AppState) -> Self {
        let timeout = state.config().request_timeout;
        Self { state, timeout, own_routes: false }
    }

    /// For [`crate::router`]'s own routes: also refuses cross-site cookie requests
    /// to the routes of `/api/v1` (an application's routes under that prefix are
    /// its business), and leaves the request id out of the request's headers (no
    /// handler of Portcullis reads it there; an application's may).
    pub(crate) fn for_own_routes(mut self) -> Self {
        self.own_routes = true;
        self
    }
}

impl<S> Layer<S> for HardenLayer {
    type Service = Hardened<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Hardened { inner, state: self.state.clone(), timeout: self.timeout, own_routes: self.own_routes }
    }
}

/// A route behind [`HardenLayer`].
#[derive(Clone)]
pub(crate) struct Hardened<S> {
    inner: S,
    state: AppState,
    timeout: Duration,
    own_routes: bool,
}

impl<S> Service<Request> for Hardened<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Readiness is the inner service's business when it is called (`oneshot`).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let inner = self.inner.clone();
        let state = self.state.clone();
        let checks = Checks { timeout: self.timeout, own_routes: self.own_routes };
        Box::pin(async move { Ok(handle(inner, state, checks, req).await) })
    }
}

/// What a [`Hardened`] route checks besides what every one does.
#[derive(Clone, Copy)]
struct Checks {
    timeout: Duration,
    /// [`HardenLayer::for_own_routes`].
    own_routes: bool,
}

async fn handle<S>(inner: S, state: AppState, checks: Checks, mut req: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    let tracked = Tracked::start(&mut req, !checks.own_routes);
    let route = req.extensions().get::<MatchedPath>().cloned();
    let https = headers::is_https(&state, &req);
    let span = tracked.span.clone();
    let mut res = async {
        let answer = catch_panic(tokio::time::timeout(
            checks.timeout,
            protected(inner, &state, checks.own_routes, route.as_ref(), req),
        ))
        .await;
        match answer {
            Ok(Ok(res)) => res,
            Ok(Err(_elapsed)) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
            Err(()) => {
                tracing::error!("a request handler panicked");
                ApiError::internal().into_response()
            }
        }
    }
    .instrument(span)
    .await;
    headers::add_security_headers(https, &mut res);
    tracked.finish(&state.0.latencies, route.as_ref(), &mut res);
    res
}

/// Inside the timeout: the state for the extractors, the body limit (on a request
/// that has a body), the cross-site check of `/api/v1` (when `api_cross_site`, on
/// a route matched under its prefix: an unmatched path stays a 404), the route, and
/// its error pages.
async fn protected<S>(
    inner: S,
    state: &AppState,
    api_cross_site: bool,
    route: Option<&MatchedPath>,
    mut req: Request,
) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let is_api = req.uri().path().starts_with(paths::API_PREFIX);
    if let Some(refused) = refuse_declared_oversize(state, &req, is_api) {
        return refused;
    }
    if api_cross_site
        && route.is_some_and(|r| r.as_str().starts_with(api::v1::PREFIX))
        && api::v1::refuses_cross_site(state, &req)
    {
        return ApiError::csrf().into_response();
    }
    req.extensions_mut().insert(state.clone());
    // A request without a body (no `Content-Length`, no chunks: hyper knows it is
    // empty before the handler runs) has nothing to limit; skipping the limit
    // spares the `GET`s an extension (an allocation) per request.
    let Ok(res) = if req.body().size_hint().exact() == Some(0) {
        inner.oneshot(req).await
    } else {
        DefaultBodyLimit::max(MAX_BODY_BYTES).layer(inner).oneshot(req).await
    };
    pages::render_page_errors(state, is_api, res)
}

/// 413 from the `Content-Length` header alone, and the connection closed (its body
/// is never read).
fn refuse_declared_oversize(state: &AppState, req: &Request, is_api: bool) -> Option<Response> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_none_or(|n| n <= MAX_BODY_BYTES as u64) {
        return None;
    }
    let mut res = if is_api {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "Payload too large")
            .detail(format!("request bodies are at most {MAX_BODY_BYTES} bytes"))
            .into_response()
    } else {
        let err =
            PageError::new(StatusCode::PAYLOAD_TOO_LARGE, "The form could not be read; it is too large.");
        pages::error_page(state, &err)
    };
    res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    Some(res)
}

/// `fut`'s output, or `Err(())` if polling it panicked.
async fn catch_panic<F: Future>(fut: F) -> Result<F::Output, ()> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    })
    .await
}
