//! The JSON API and its OpenAPI 3.1 description.

pub mod v1;

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The OpenAPI 3.1 document of `/api/v1` (SPEC §3.2), served at `/api/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

pub(crate) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "public, max-age=3600")], OPENAPI)
        .into_response()
}

#[cfg(test)]
mod tests {
    /// Every `/api/v1` route named in `paths.rs` is documented, and nothing else is.
    #[test]
    fn the_openapi_document_covers_every_api_route() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let documented: std::collections::BTreeSet<&str> =
            doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
        let routes: std::collections::BTreeSet<&str> = include_str!("../paths.rs")
            .lines()
            .filter(|l| l.starts_with("pub const API_") && l.contains("\"/api/v1/"))
            .filter_map(|l| l.split('"').nth(1))
            .collect();
        assert!(!routes.is_empty());
        assert_eq!(documented, routes);
    }
}
