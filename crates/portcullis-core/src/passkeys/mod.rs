//! Passkeys (WebAuthn): the stored credentials, the server-side state of unfinished
//! ceremonies, and what storage must offer for them ([`store::PasskeyStore`]). The
//! ceremonies themselves are use cases in `service.rs` of this folder; the cryptography is
//! `webauthn-rs`, whose browser-facing types are re-exported here so the web layer
//! needs no dependency of its own.

pub(crate) mod service;
pub mod store;

use std::sync::Arc;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::accounts::user::UserId;
use crate::token::TokenHash;

pub use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse,
};

/// How long a started ceremony may be finished (the browser's own timeout is 5 min).
pub const CEREMONY_LIFETIME: Duration = Duration::minutes(5);

/// Longest passkey name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// A stored passkey. `credential` is webauthn-rs' serialised `Passkey` (public key,
/// counter, flags): nothing secret, but not shown to anyone either.
#[derive(Clone, PartialEq, Eq)]
pub struct PasskeyRecord {
    pub id: Uuid,
    pub user_id: UserId,
    pub credential_id: Vec<u8>,
    pub name: String,
    /// The signature counter last seen (0 for authenticators that keep none).
    pub sign_count: i64,
    pub credential: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for PasskeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyRecord")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("sign_count", &self.sign_count)
            .finish_non_exhaustive()
    }
}

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    /// Adding a passkey to a signed-in account.
    Register,
    /// Passwordless sign-in with a discoverable credential.
    Login,
    /// The second step of a password sign-in (a half-authenticated session).
    SecondFactor,
}

impl CeremonyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Login => "login",
            Self::SecondFactor => "second_factor",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Register, Self::Login, Self::SecondFactor].into_iter().find(|k| k.as_str() == raw)
    }
}

/// An unfinished ceremony, kept in the database (any node may finish it) under the
/// SHA-256 of its challenge.
#[derive(Clone)]
pub struct Ceremony {
    pub challenge_hash: [u8; 32],
    pub kind: CeremonyKind,
    pub user_id: Option<UserId>,
    /// What it is bound to: the session that started it (registration, second
    /// factor), or for a passwordless sign-in the browser that started it.
    pub session: Option<TokenHash>,
    /// webauthn-rs' serialised ceremony state.
    pub state: String,
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ceremony")
            .field("kind", &self.kind)
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The SHA-256 of a challenge.
pub fn challenge_hash(challenge: &[u8]) -> [u8; 32] {
    Sha256::digest(challenge).into()
}

/// The challenge a browser signed, read from its `clientDataJSON`; `None` when that
/// is not JSON with a base64url `challenge`. (webauthn-rs checks it again, with the
/// origin and the signature; this only finds the ceremony.)
pub fn challenge_of(client_data_json: &[u8]) -> Option<Vec<u8>> {
    #[derive(serde::Deserialize)]
    struct ClientData {
        challenge: String,
    }
    let data: ClientData = serde_json::from_slice(client_data_json).ok()?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(data.challenge.trim_end_matches('=')).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_read_from_client_data() {
        let json = br#"{"type":"webauthn.get","challenge":"AAEC_w","origin":"http://localhost"}"#;
        assert_eq!(challenge_of(json), Some(vec![0, 1, 2, 255]));
        assert_eq!(challenge_of(b"not json"), None);
        assert_eq!(challenge_of(br#"{"challenge":"!!"}"#), None);
        assert_eq!(challenge_of(br#"{"challenge":5}"#), None);
    }

    #[test]
    fn ceremony_kinds_round_trip() {
        for k in [CeremonyKind::Register, CeremonyKind::Login, CeremonyKind::SecondFactor] {
            assert_eq!(CeremonyKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(CeremonyKind::parse("x"), None);
    }
}

/// Why passkeys cannot be turned on for a public URL.
#[derive(Debug, thiserror::Error)]
#[error("passkeys need a host name in server.public_url (WebAuthn refuses IP addresses): {0}")]
pub struct PasskeyConfigError(String);

/// The WebAuthn relying party of the origin `server.public_url`: its id is the
/// host. Made once at start-up and given to [`Auth`](crate::service::Auth).
#[derive(Clone)]
pub struct RelyingParty(pub(crate) Arc<Webauthn>);

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RelyingParty")
    }
}

impl RelyingParty {
    /// The relying party of `public_url` (`scheme://host[:port]`); an error without
    /// a host name (an IP address cannot be a relying-party id).
    pub fn for_origin(public_url: &str) -> Result<Self, PasskeyConfigError> {
        let url =
            webauthn_rs::prelude::Url::parse(public_url).map_err(|e| PasskeyConfigError(e.to_string()))?;
        let host = url.domain().ok_or_else(|| PasskeyConfigError(public_url.to_owned()))?.to_owned();
        let webauthn = WebauthnBuilder::new(&host, &url)
            .and_then(|b| b.rp_name("Portcullis").timeout(CEREMONY_LIFETIME.unsigned_abs()).build())
            .map_err(|e| PasskeyConfigError(e.to_string()))?;
        Ok(Self(Arc::new(webauthn)))
    }
}
