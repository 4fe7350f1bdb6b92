//! Signing in by email (issue #21): a link and a six-digit code mailed on request,
//! stored only as hashes, one outstanding request per account, ten minutes of life,
//! dead after a password change; the code dies after five wrong tries.

pub(crate) mod service;
pub mod store;

use std::fmt;

use sha2::{Digest as _, Sha256};
use time::{Duration, OffsetDateTime};

use crate::accounts::user::UserId;
use crate::token::{TokenHash, fill_random};

/// How long a mailed link and code work.
pub const EMAIL_SIGNIN_TTL: Duration = Duration::minutes(10);

/// Codes tried against one request; the last of them, if wrong, kills the code.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

/// A six-digit sign-in code as mailed (for signing in on another device than the
/// one reading mail).
#[derive(Clone, PartialEq, Eq)]
pub struct SignInCode(String);

impl SignInCode {
    /// A uniformly random code from the operating system's CSPRNG.
    pub fn generate() -> Self {
        // Rejection sampling: 4_294_000_000 is the largest multiple of 10^6 below 2^32.
        loop {
            let mut bytes = [0u8; 4];
            fill_random(&mut bytes);
            let n = u32::from_le_bytes(bytes);
            if n < 4_294_000_000 {
                return Self(format!("{:06}", n % 1_000_000));
            }
        }
    }

    /// Six ASCII digits; spaces and dashes typed between them are ignored.
    pub fn parse(raw: &str) -> Option<Self> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(Self(digits))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps: SHA-256 over the account and the code, so equal codes
    /// of two accounts hash differently.
    pub fn hash(&self, user: UserId) -> TokenHash {
        let mut h = Sha256::new();
        h.update(b"portcullis email sign-in code\0");
        h.update(user.to_string().as_bytes());
        h.update(b"\0");
        h.update(self.0.as_bytes());
        TokenHash::from_bytes(h.finalize().into())
    }
}

impl fmt::Debug for SignInCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignInCode([redacted])")
    }
}

/// A request to store (hashes only).
#[derive(Debug, Clone)]
pub struct NewEmailSignIn {
    pub user_id: UserId,
    pub token_hash: TokenHash,
    pub code_hash: TokenHash,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// One code attempt claimed against a live request: the hashes to compare with.
#[derive(Debug, Clone, Copy)]
pub struct CodeAttempt {
    pub token_hash: TokenHash,
    pub code_hash: TokenHash,
}

/// What the export shows of an outstanding request: never a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSignInSummary {
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub code_attempts: i64,
}

/// How an emailed sign-in is proven.
#[derive(Debug, Clone, Copy)]
pub enum EmailProof<'a> {
    /// The token of the mailed link.
    Link(&'a str),
    /// The address and the mailed code.
    Code { email: &'a str, code: &'a str },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_parse_back() {
        for _ in 0..200 {
            let c = SignInCode::generate();
            assert_eq!(c.expose().len(), 6);
            assert_eq!(SignInCode::parse(c.expose()), Some(c));
        }
        assert_eq!(SignInCode::parse("123 456").unwrap().expose(), "123456");
        assert_eq!(SignInCode::parse("123-456").unwrap().expose(), "123456");
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", "12 34 5"] {
            assert!(SignInCode::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_code_hashes_differently_for_two_accounts_and_debug_hides_it() {
        let c = SignInCode::parse("123456").unwrap();
        let (a, b) = (UserId::new(), UserId::new());
        assert_eq!(c.hash(a), c.hash(a));
        assert_ne!(c.hash(a), c.hash(b));
        assert!(!format!("{c:?}").contains("123456"));
    }
}
