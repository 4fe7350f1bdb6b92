//! JSON request bodies: `application/json` only (415), at most 64 KiB (413),
//! malformed JSON, invalid UTF-8 or too deep nesting 400, wrong shape 422.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body of type `T`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

pub(crate) fn is_json(req: &Request) -> bool {
    req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        let essence = ct.split(';').next().unwrap_or("").trim();
        essence.eq_ignore_ascii_case("application/json")
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(&req) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
            )
            .detail("send the body as Content-Type: application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "Payload too large")
                    .detail("the body is larger than 64 KiB")
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "Bad request")
                    .detail("the body could not be read")
            }
        })?;
        parse(&bytes).map(Self)
    }
}

/// An optional JSON body: empty means `T::default()`.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let empty = req.headers().get(header::CONTENT_LENGTH).is_some_and(|v| v == "0")
            || (!req.headers().contains_key(header::CONTENT_TYPE)
                && !req.headers().contains_key(header::TRANSFER_ENCODING));
        if empty {
            return Ok(Self(T::default()));
        }
        ApiJson::<T>::from_request(req, state).await.map(|ApiJson(t)| Self(t))
    }
}

/// Parses a JSON body, classifying failures as the API contract says: bytes that
/// are not UTF-8, not JSON, or nested deeper than serde_json's limit (128) are 400;
/// JSON of the wrong shape is 422.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let malformed = |detail: String| {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", "Malformed JSON").detail(detail)
    };
    if std::str::from_utf8(bytes).is_err() {
        return Err(malformed("the body is not valid UTF-8".into()));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        malformed(format!(
            "the body is not valid JSON (line {} column {}): {}",
            e.line(),
            e.column(),
            kind(&e)
        ))
    })?;
    serde_json::from_value(value).map_err(|_| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", "Invalid request body")
            .detail("the JSON does not have the expected fields and types")
    })
}

/// A short reason that never quotes the input.
fn kind(e: &serde_json::Error) -> &'static str {
    if e.to_string().contains("recursion limit") {
        "nested too deeply"
    } else if e.is_eof() {
        "it ends too early"
    } else {
        "syntax error"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Body {
        #[expect(dead_code, reason = "only the shape matters here")]
        email: String,
    }

    #[test]
    fn failures_are_classified() {
        assert_eq!(parse::<Body>(b"{\"email\":").unwrap_err().status, StatusCode::BAD_REQUEST);
        assert_eq!(parse::<Body>(b"{\"email\":\"\xff\"}").unwrap_err().status, StatusCode::BAD_REQUEST);
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(parse::<Body>(deep.as_bytes()).unwrap_err().status, StatusCode::BAD_REQUEST);
        assert_eq!(parse::<Body>(b"{\"email\":5}").unwrap_err().status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(parse::<Body>(b"{}").unwrap_err().status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(parse::<Body>(b"{\"email\":\"a@b.c\"}").is_ok());
    }
}
