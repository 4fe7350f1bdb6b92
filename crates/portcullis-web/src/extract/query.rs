//! Query strings of the JSON API: read into a struct of optional strings, so that
//! what a value means (and a 422 when it is wrong) is decided by the use case's
//! own parser, never by a plain-text rejection.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use portcullis_core::FieldError;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The query string as `T` (missing: `T`'s defaults).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query).map(Self).map_err(|_| {
            ApiError::validation(vec![FieldError::new(
                "query",
                "invalid",
                "the query string could not be read (a parameter given twice?)",
            )])
        })
    }
}
