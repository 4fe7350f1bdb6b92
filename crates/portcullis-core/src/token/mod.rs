//! Opaque secret tokens (session ids, emailed reset, verification, email-change
//! and invitation links): 256 random bits shown to the client once, stored only as their SHA-256.

pub(crate) mod change_email;
mod reset_password;
pub(crate) mod service;
pub mod store;
mod verify_email;

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// Fills `buf` from the operating system's CSPRNG.
pub fn fill_random(buf: &mut [u8]) {
    // The OS RNG failing is not something a server can recover from.
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

/// A secret token as given to the client.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        fill_random(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts only the exact shape `generate` makes: 43 base64url characters.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() != 43 {
            return None;
        }
        // Decoded on the stack: only whether it decodes to 32 bytes matters (the
        // decoder also refuses non-zero spare bits, so each token has one spelling).
        let mut bytes = [0u8; 48];
        let n = URL_SAFE_NO_PAD.decode_slice(raw, &mut bytes).ok()?;
        (n == 32).then(|| Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken([redacted])")
    }
}

/// SHA-256 of a secret token: what the store keeps.
#[derive(Clone, Copy, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// What an emailed token is for. `as_str` is the stored name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Proves the user reads the mailbox of their address.
    VerifyEmail,
    /// Lets the user set a new password without the old one.
    ResetPassword,
    /// Moves the account to the address the link was sent to.
    ChangeEmail,
    /// Sent to the old address after a change: puts it back and ends every session.
    RevertEmail,
    /// Sent to an invited account: sets its first password, verifies the address
    /// and signs in (SPEC §8).
    Invite,
}

impl TokenKind {
    pub const ALL: [Self; 5] =
        [Self::VerifyEmail, Self::ResetPassword, Self::ChangeEmail, Self::RevertEmail, Self::Invite];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::ChangeEmail => "change_email",
            Self::RevertEmail => "revert_email",
            Self::Invite => "invite",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// Whether a password change kills outstanding tokens of this kind. An undo link
    /// survives it: otherwise whoever took over the account could disarm the undo by
    /// changing the password.
    pub fn dies_with_password_change(self) -> bool {
        !matches!(self, Self::RevertEmail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_round_trip() {
        let t = SecretToken::generate();
        assert_eq!(t.expose().len(), 43);
        assert_eq!(SecretToken::parse(t.expose()), Some(t.clone()));
        assert_ne!(SecretToken::generate(), t);
        assert_eq!(t.hash(), SecretToken::parse(t.expose()).unwrap().hash());
    }

    #[test]
    fn malformed_tokens_are_refused() {
        // The last: 43 characters whose spare bits are not zero (a second spelling
        // of the token ending in `A`), refused by the decoder.
        let spare_bits = format!("{}B", "A".repeat(42));
        for bad in ["", "abc", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", &"A".repeat(44), &spare_bits] {
            assert!(SecretToken::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let t = SecretToken::generate();
        assert!(!format!("{t:?}").contains(t.expose()));
    }
}
