//! The Portcullis web layer, usable as a library: [`router`] serves the pages and
//! the JSON API; [`layer`] lets an application's own routes use the extractors
//! [`extract::CurrentUser`] (the `@login_required` of Flask-Login) and
//! [`extract::MaybeUser`] (its `current_user`).
//!
//! ```no_run
//! # async fn demo(state: portcullis_web::AppState) {
//! use axum::{Router, routing::get};
//! use portcullis_web::extract::CurrentUser;
//!
//! async fn secret(CurrentUser(me): CurrentUser) -> String {
//!     format!("hello {}", me.user.email)
//! }
//!
//! let app: Router = Router::new()
//!     .route("/secret", get(secret))
//!     .layer(portcullis_web::layer(state.clone()))
//!     .merge(portcullis_web::router(state));
//! # }
//! ```

pub mod api;
pub mod cookies;
pub mod error;
pub mod extract;
mod forward_auth;
#[cfg(test)]
mod fuzz;
mod harden;
mod headers;
pub mod mail;
mod oauth;
mod observe;
mod pages;
pub mod paths;
mod state;
pub mod templates;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use error::{ApiError, PageError};
pub use state::{AppState, MetricsRender, PublicUrl, PublicUrlError, WebConfig};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Puts the Portcullis state on requests so the extractors work on any route.
pub fn layer(state: AppState) -> axum::Extension<AppState> {
    axum::Extension(state)
}

/// Every Portcullis route, hardened with [`harden`].
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(pages::router())
        .merge(api::v1::router())
        .merge(oauth::router())
        .route(paths::HEALTHZ, get(healthz))
        .route(paths::READYZ, get(readyz))
        .route(paths::METRICS, get(metrics_text))
        .route(paths::AUTH_VERIFY, get(forward_auth::verify))
        .route(paths::API_OPENAPI, get(api::openapi))
        .route(paths::STATIC, get(static_file))
        .fallback(not_found)
        .with_state(state.clone());
    routes.layer(harden::HardenLayer::new(state).for_own_routes())
}

/// Wraps `app` (Portcullis' routes, or a whole application that embeds them) in the
/// service-wide protections: security headers on every response, panics turned
/// into a generic 500 problem, the request timeout, the 64 KiB body limit (a larger
/// declared `Content-Length` is refused at once, before any of the body is read),
/// and the state the extractors need.
pub fn harden(app: Router, state: AppState) -> Router {
    app.layer(harden::HardenLayer::new(state))
}

/// `{"status":"ok"}`, a constant: nothing to build or serialize per request.
async fn healthz() -> Response {
    headers::roomy_response(
        [(header::CONTENT_TYPE, const { HeaderValue::from_static("application/json") })],
        r#"{"status":"ok"}"#,
    )
}

/// Ready when the database answers, within 900 ms whatever the database does (the
/// store logs outages; a failed probe is logged at debug level only).
async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(READY_WITHIN, state.auth().ready()).await {
        Ok(Ok(())) => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "readiness check failed");
            ApiError::unavailable().into_response()
        }
        Err(_) => {
            tracing::debug!("readiness check: no answer from the database in time");
            ApiError::unavailable().into_response()
        }
    }
}

/// How long `/readyz` waits for the database.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_millis(900);

/// Prometheus text, unless metrics are off or served on their own address.
async fn metrics_text(State(state): State<AppState>) -> Response {
    match &state.config().metrics {
        Some(render) => {
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], render()).into_response()
        }
        None => ApiError::not_found().detail("metrics are not served here").into_response(),
    }
}

async fn static_file(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    match state.templates().static_file(&file) {
        Some((body, mime)) => {
            ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "public, max-age=3600")], body)
                .into_response()
        }
        None => PageError::not_found().into_response(),
    }
}

async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with(paths::API_PREFIX) {
        ApiError::not_found().detail("no such endpoint").into_response()
    } else {
        PageError::not_found().into_response()
    }
}
