//! The pieces of TOTP multi-factor authentication: secrets sealed with a key
//! Portcullis keeps (XChaCha20-Poly1305), RFC 6238 codes (SHA-1, 6 digits, 30 s,
//! one step of skew), the `otpauth://` URI with its QR code, and recovery codes
//! stored as SHA-256.

pub(crate) mod service;
pub mod store;

use chacha20poly1305::aead::{Aead as _, KeyInit as _};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest as _, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::token::fill_random;

/// How many recovery codes an enrolment hands out.
pub const RECOVERY_CODES: usize = 10;

/// Seals and opens TOTP secrets at rest.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox([redacted])")
    }
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Self {
        Self { cipher: XChaCha20Poly1305::new_from_slice(key).expect("a 32-byte key") }
    }

    /// nonce (24 bytes) || ciphertext+tag.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        fill_random(&mut nonce);
        let sealed = self.cipher.encrypt(&XNonce::from(nonce), plaintext).expect("encryption cannot fail");
        [nonce.as_slice(), &sealed].concat()
    }

    pub fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, body) = sealed.split_at_checked(24)?;
        let nonce: [u8; 24] = nonce.try_into().ok()?;
        self.cipher.decrypt(&XNonce::from(nonce), body).ok()
    }
}

/// A fresh 160-bit TOTP secret (RFC 4226's recommended length).
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    fill_random(&mut secret);
    secret
}

/// The TOTP for `secret`, labelled for authenticator apps.
pub fn totp(secret: &[u8], issuer: &str, account: &str) -> Totp {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::new(secret.to_vec().into_boxed_slice()))
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build_noncompliant()
}

/// The time step a code is valid for at `unix` (one step of skew either way), if any.
pub fn check(totp: &Totp, code: &str, unix: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let time = u64::try_from(unix).ok()?;
    totp.check(&code, time).and_then(|step| i64::try_from(step).ok())
}

/// The secret in base32, as people type it into an authenticator app.
pub fn secret_base32(secret: &[u8]) -> String {
    Secret::new(secret.to_vec().into_boxed_slice()).to_base32()
}

/// `otpauth://totp/...` for QR codes.
pub fn otpauth_uri(totp: &Totp) -> String {
    totp.to_url().unwrap_or_default()
}

/// The URI as an SVG QR code.
pub fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build()
        }
        Err(_) => String::new(),
    }
}

const CODE_ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz23456789z";

/// Ten recovery codes of 80 random bits each, shown as `xxxx-xxxx-xxxx-xxxx`.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 16];
            fill_random(&mut bytes);
            let chars: Vec<char> =
                bytes.iter().map(|b| char::from(CODE_ALPHABET[usize::from(b & 31)])).collect();
            chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
        })
        .collect()
}

/// What is stored for a recovery code: SHA-256 of its letters, lower-cased,
/// without separators (so people may type it with or without dashes).
pub fn recovery_hash(code: &str) -> [u8; 32] {
    let normal: String =
        code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    Sha256::digest(normal.as_bytes()).into()
}

/// Whether `input` looks like a recovery code rather than a TOTP code.
pub fn looks_like_recovery_code(input: &str) -> bool {
    input.chars().filter(char::is_ascii_alphanumeric).count() == 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let key = [7u8; 32];
        let sealed = SecretBox::new(&key).seal(b"secret");
        assert_ne!(&sealed[24..], b"secret");
        assert_eq!(SecretBox::new(&key).open(&sealed).unwrap(), b"secret");
        assert!(SecretBox::new(&[8u8; 32]).open(&sealed).is_none());
        assert!(SecretBox::new(&key).open(&sealed[..10]).is_none());
    }

    #[test]
    fn codes_match_rfc_6238_with_one_step_of_skew() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T = 59 s -> 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let t = totp(b"12345678901234567890", "Portcullis", "a@example.com");
        assert_eq!(check(&t, "287082", 59), Some(1));
        assert_eq!(check(&t, "287 082", 59 + 30), Some(1), "one step late is accepted");
        assert_eq!(check(&t, "287082", 59 + 60), None, "two steps late is not");
        assert_eq!(check(&t, "28708", 59), None);
        assert_eq!(check(&t, "abcdef", 59), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_the_same_with_or_without_dashes() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert!(codes.iter().all(|c| c.len() == 19 && looks_like_recovery_code(c)));
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert_eq!(recovery_hash(&codes[0]), recovery_hash(&codes[0].replace('-', "").to_uppercase()));
    }

    #[test]
    fn the_otpauth_uri_and_qr_code_carry_the_secret() {
        let t = totp(&[1u8; 20], "Portcullis", "a@example.com");
        let uri = otpauth_uri(&t);
        assert!(uri.starts_with("otpauth://totp/Portcullis:a%40example.com?secret="), "{uri}");
        assert!(uri.contains(&secret_base32(&[1u8; 20])));
        assert!(qr_svg(&uri).contains("<svg"));
    }
}
