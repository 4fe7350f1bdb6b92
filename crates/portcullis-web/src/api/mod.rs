//! The JSON API and its OpenAPI 3.1 description.

pub mod v1;

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The OpenAPI 3.1 document of `/api/v1`, served at `/api/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

pub(crate) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "public, max-age=3600")], OPENAPI)
        .into_response()
}
