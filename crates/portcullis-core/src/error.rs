//! The errors of the use cases. The web layer maps each variant to a status once.

use crate::store::StoreError;

/// One invalid input field, with a stable machine code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self { field, code, message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the input is invalid")]
    Validation(Vec<FieldError>),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("this account is disabled")]
    AccountDisabled,
    #[error("too many attempts; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("invalid code")]
    InvalidCode,
    #[error("confirm with your password (or sign in again) to make this change")]
    ReauthRequired,
    #[error("{message}")]
    Conflict { code: &'static str, message: &'static str },
    /// Sign-in refused until the address is verified (`email.require_verification`).
    #[error("the email address is not verified yet")]
    EmailUnverified,
    /// An emailed link that is unknown, used, expired, or killed by a password change.
    #[error("the link is invalid or has expired")]
    InvalidToken,
    /// The account has MFA: a token request must carry a current `code`.
    #[error("a second-factor code is required")]
    MfaRequired,
    /// An administrator without a second factor, while one is required for them.
    #[error("administrators must turn on two-factor authentication first")]
    MfaEnrolmentRequired,
    /// A refresh token that is unknown, spent, expired or revoked.
    #[error("the refresh token is invalid")]
    InvalidRefreshToken,
    #[error("not found")]
    NotFound,
    /// A WebAuthn ceremony that is unknown, expired, already finished, bound to
    /// someone else, or whose response does not verify (origin, signature, counter).
    #[error("the passkey could not be verified")]
    InvalidPasskey,
    /// Passkeys are off: `server.public_url` has no host name.
    #[error("passkeys need a host name (not an IP address) in server.public_url")]
    PasskeysOff,
    #[error("the database is unavailable")]
    Unavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AuthError {
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::Unavailable(e),
            StoreError::Conflict(_) | StoreError::Other(_) => Self::Internal(Box::new(e)),
        }
    }
}

/// An error of the OAuth 2.0 endpoints (RFC 6749 §5.2 `error` codes).
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{error}: {description}")]
    Protocol { error: &'static str, description: &'static str },
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl OAuthError {
    pub fn new(error: &'static str, description: &'static str) -> Self {
        Self::Protocol { error, description }
    }

    pub fn invalid_client() -> Self {
        Self::new("invalid_client", "client authentication failed")
    }

    pub fn invalid_grant(description: &'static str) -> Self {
        Self::new("invalid_grant", description)
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        Self::Auth(e.into())
    }
}
