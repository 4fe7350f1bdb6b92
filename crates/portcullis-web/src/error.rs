//! The only place that turns errors into HTTP statuses: `ApiError` for the JSON API
//! (RFC 9457 problem+json) and `PageError` for HTML pages. A 5xx never carries its
//! cause; the cause is logged once, here.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_core::{AuthError, FieldError, OAuthError};
use serde::Serialize;

/// `Retry-After` (seconds) of a 503 for a database outage: the store lets one
/// probe through each second, so a retry a second later may find it back.
pub const RETRY_UNAVAILABLE: u64 = 1;

/// A problem+json error of the JSON API.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: Option<String>,
    pub errors: Vec<FieldError>,
    pub www_authenticate: bool,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, title: &'static str) -> Self {
        Self {
            status,
            code,
            title,
            detail: None,
            errors: Vec::new(),
            www_authenticate: false,
            retry_after: None,
        }
    }

    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self {
            errors,
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "Validation failed")
        }
        .detail("one or more fields are invalid")
    }

    pub fn unauthenticated() -> Self {
        Self {
            www_authenticate: true,
            ..Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "Authentication required")
                .detail("sign in, or send a valid session cookie")
        }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found")
    }

    /// Signed in, but not in a group the route requires.
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden")
            .detail("you are signed in, but not in a group that may use this")
    }

    pub fn csrf() -> Self {
        Self::new(StatusCode::FORBIDDEN, "csrf", "Cross-site request refused")
            .detail("the request came from another origin")
    }

    /// An administrator without a second factor, where one is required.
    pub fn mfa_enrolment_required() -> Self {
        Self::new(StatusCode::FORBIDDEN, "mfa_enrolment_required", "Two-factor authentication required")
            .detail("administrators must turn on two-factor authentication first: POST /api/v1/mfa/totp")
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal server error")
            .detail("something went wrong on our side; try again later")
    }

    /// The database is away: 503 with `Retry-After` (the store probes for it once
    /// a second).
    pub fn unavailable() -> Self {
        Self {
            retry_after: Some(RETRY_UNAVAILABLE),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable")
                .detail("the service cannot reach its database; try again shortly")
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Validation(errors) => Self::validation(errors),
            AuthError::EmailTaken => Self::new(StatusCode::CONFLICT, "email_taken", "Email taken")
                .detail("an account with this email already exists"),
            AuthError::InvalidCredentials => {
                Self::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "Invalid credentials")
                    .detail("invalid email or password")
            }
            AuthError::AccountDisabled => {
                Self::new(StatusCode::FORBIDDEN, "account_disabled", "Account disabled")
                    .detail("this account has been disabled by an administrator")
            }
            AuthError::EmailUnverified => {
                Self::new(StatusCode::FORBIDDEN, "email_unverified", "Email not verified")
                    .detail("confirm your email address with the link we sent to it, then sign in")
            }
            AuthError::InvalidToken => Self::new(StatusCode::BAD_REQUEST, "invalid_token", "Invalid link")
                .detail("this link is invalid, was already used, or has expired"),
            AuthError::NotFound => Self::not_found(),
            AuthError::InvalidPasskey => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_passkey", "Passkey not accepted").detail(
                    "the passkey response did not verify, or its ceremony expired or was already used; start again",
                )
            }
            AuthError::MfaRequired => Self::new(StatusCode::UNAUTHORIZED, "mfa_required", "Code required")
                .detail("this account has two-factor authentication: send a current code (or a recovery code) as `code`"),
            AuthError::MfaEnrolmentRequired => Self::mfa_enrolment_required(),
            AuthError::InvalidRefreshToken => {
                Self::new(StatusCode::UNAUTHORIZED, "invalid_token", "Invalid refresh token")
                    .detail("the refresh token is invalid, expired, revoked, or was already used; sign in again")
            }
            AuthError::InvalidCode => Self::new(StatusCode::UNAUTHORIZED, "invalid_code", "Invalid code")
                .detail("the code is wrong, expired, or was already used"),
            AuthError::ReauthRequired => {
                Self::new(StatusCode::FORBIDDEN, "reauthentication_required", "Confirmation required").detail(
                    "send your current password (or a current code), or sign in again, to make this change",
                )
            }
            AuthError::PasskeysOff => Self::new(StatusCode::CONFLICT, "passkeys_unavailable", "Conflict")
                .detail("passkeys need a host name (not an IP address) in server.public_url"),
            AuthError::Conflict { code, message } => {
                Self::new(StatusCode::CONFLICT, code, "Conflict").detail(message)
            }
            AuthError::RateLimited { retry_after } => Self {
                retry_after: Some(retry_after),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many attempts")
                    .detail(format!("too many attempts; try again in {}", wait_text(retry_after)))
            },
            AuthError::Unavailable(cause) => {
                // The store logs an outage when it starts and ends, not per request.
                tracing::debug!(error = %cause, "database unavailable");
                Self::unavailable()
            }
            AuthError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: format!("urn:portcullis:problem:{}", self.code),
            title: self.title,
            status: self.status.as_u16(),
            detail: self.detail.as_deref().unwrap_or(self.title),
            code: self.code,
            errors: &self.errors,
        };
        let mut res = (self.status, Json(body)).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.www_authenticate {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer, Cookie"));
        }
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// An error of the OAuth 2.0 endpoints: `{"error", "error_description"}` (RFC 6749
/// §5.2), 401 with `WWW-Authenticate: Basic` for a client that failed to
/// authenticate, 400 for the rest; server trouble maps like the API's.
#[derive(Debug)]
pub struct OAuthErrorResponse(pub OAuthError);

impl From<OAuthError> for OAuthErrorResponse {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

impl From<AuthError> for OAuthErrorResponse {
    fn from(e: AuthError) -> Self {
        Self(OAuthError::Auth(e))
    }
}

impl IntoResponse for OAuthErrorResponse {
    fn into_response(self) -> Response {
        let (status, error, description) = match self.0 {
            OAuthError::Protocol { error: "invalid_client", description } => {
                (StatusCode::UNAUTHORIZED, "invalid_client", description.to_owned())
            }
            OAuthError::Protocol { error, description } => {
                (StatusCode::BAD_REQUEST, error, description.to_owned())
            }
            OAuthError::Auth(e) => {
                let api = ApiError::from(e);
                let mut res = (
                    api.status,
                    Json(serde_json::json!({
                        "error": match api.status {
                            StatusCode::TOO_MANY_REQUESTS => "slow_down",
                            StatusCode::FORBIDDEN => "access_denied",
                            StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
                            _ => "server_error",
                        },
                        "error_description": api.detail.as_deref().unwrap_or(api.title),
                    })),
                )
                    .into_response();
                if let Some(secs) = api.retry_after {
                    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                return res;
            }
        };
        let mut res = (status, Json(serde_json::json!({ "error": error, "error_description": description })))
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"portcullis\""));
        }
        res
    }
}

/// An error shown as a page. The response carries this value as an extension and
/// the page layer renders it with the `error.html` template.
#[derive(Debug, Clone)]
pub struct PageError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), retry_after: None }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "This page does not exist.")
    }

    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "This form has expired or was not sent from this site. Go back, reload the page and try again.",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side. Please try again later.",
        )
    }
}

impl From<AuthError> for PageError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unavailable(cause) => {
                tracing::debug!(error = %cause, "database unavailable");
                Self {
                    retry_after: Some(RETRY_UNAVAILABLE),
                    ..Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "The service is temporarily unavailable. Please try again shortly.",
                    )
                }
            }
            AuthError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                Self::internal()
            }
            AuthError::NotFound => Self::not_found(),
            AuthError::RateLimited { retry_after } => Self {
                retry_after: Some(retry_after),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("Too many attempts. Please try again in {}.", wait_text(retry_after)),
                )
            },
            AuthError::InvalidToken => Self::new(
                StatusCode::BAD_REQUEST,
                "This link is invalid, was already used, or has expired. Ask for a new one.",
            ),
            AuthError::MfaEnrolmentRequired => Self::new(
                StatusCode::FORBIDDEN,
                "Administrators must turn on two-factor authentication before signing in to applications. \
                 Go to your account's two-factor page to set it up.",
            ),
            other => {
                let api = ApiError::from(other);
                Self::new(api.status, api.detail.unwrap_or_else(|| api.title.to_owned()))
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut res = self.status.into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res.extensions_mut().insert(self);
        res
    }
}

/// "45 seconds", "1 minute", "15 minutes", "2 hours" for a wait in seconds.
pub fn wait_text(secs: u64) -> String {
    let plural = |n: u64, unit: &str| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
    match secs {
        0..60 => plural(secs.max(1), "second"),
        60..3600 => plural(secs.div_ceil(60), "minute"),
        _ => plural(secs.div_ceil(3600), "hour"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn waits_are_told_in_words_rounded_up() {
        assert_eq!(super::wait_text(1), "1 second");
        assert_eq!(super::wait_text(61), "2 minutes");
        assert_eq!(super::wait_text(900), "15 minutes");
        assert_eq!(super::wait_text(3601), "2 hours");
    }
}
