//! Signing keys and JSON Web Tokens (access and ID tokens). Keys are Ed25519 (JWS
//! `EdDSA`), generated here, stored in the database with the private part sealed,
//! and published as a JWK set. Signing and verification are jsonwebtoken's (on
//! RustCrypto); this module only decides which key, which claims, and when.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::mfa::SecretBox;

/// The JWS algorithm of every key.
pub const ALG: &str = "EdDSA";
/// `typ` of access tokens (RFC 9068); ID tokens carry `JWT`.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
pub const ID_TOKEN_TYP: &str = "JWT";

/// A signing key as stored: the public half in clear, the private half sealed.
#[derive(Clone)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub public_key: Vec<u8>,
    pub sealed_private: Vec<u8>,
    pub created_at: OffsetDateTime,
    /// Set when a newer key replaced it; it stays published for a while after.
    pub retired_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// A new key pair, sealed for storage with `seal`.
pub fn generate_key(sealer: &SecretBox, now: OffsetDateTime) -> StoredKey {
    let mut seed = Zeroizing::new([0u8; 32]);
    crate::token::fill_random(seed.as_mut());
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let mut kid = [0u8; 12];
    crate::token::fill_random(&mut kid);
    StoredKey {
        kid: URL_SAFE_NO_PAD.encode(kid),
        alg: ALG.to_owned(),
        public_key: signing.verifying_key().to_bytes().to_vec(),
        sealed_private: sealer.seal(seed.as_ref()),
        created_at: now,
        retired_at: None,
    }
}

/// The JWK set (RFC 7517) of `keys`: current key first, then newest first; only
/// public parts.
pub fn jwks_of(keys: &[StoredKey]) -> serde_json::Value {
    let mut sorted: Vec<&StoredKey> =
        keys.iter().filter(|k| k.alg == ALG && k.public_key.len() == 32).collect();
    sort_keys(&mut sorted);
    let keys: Vec<serde_json::Value> = sorted
        .iter()
        .map(|k| {
            serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(&k.public_key),
                "kid": k.kid, "alg": ALG, "use": "sig",
            })
        })
        .collect();
    serde_json::json!({ "keys": keys })
}

/// Unretired first (the current key, even when a rotation fell in the second of its
/// predecessor's creation), then newest first.
fn sort_keys(keys: &mut [&StoredKey]) {
    keys.sort_by(|a, b| {
        (a.retired_at.is_some(), b.created_at, b.retired_at)
            .cmp(&(b.retired_at.is_some(), a.created_at, a.retired_at))
            .then_with(|| b.kid.cmp(&a.kid))
    });
}

/// A key that verifies (and is published).
struct PublicKey {
    x: String,
    decoding: DecodingKey,
}

/// The keys in use: the newest signs; all published ones verify.
#[derive(Default)]
pub struct Keyring {
    signing: Option<(String, EncodingKey)>,
    public: HashMap<String, PublicKey>,
    /// kids in publication order (newest first), for a stable JWK set.
    order: Vec<String>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("kids", &self.order).finish_non_exhaustive()
    }
}

/// Why a keyring could not be built.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("signing key {0} cannot be opened (was the database's key-encryption secret replaced?)")]
    Sealed(String),
    #[error("signing key {0} is malformed")]
    Malformed(String),
}

impl Keyring {
    /// Builds the ring from stored keys (any order); the newest unretired key signs.
    pub fn from_stored(keys: &[StoredKey], opener: &SecretBox) -> Result<Self, KeyError> {
        let mut sorted: Vec<&StoredKey> = keys.iter().filter(|k| k.alg == ALG).collect();
        sort_keys(&mut sorted);
        let mut ring = Self::default();
        for key in sorted {
            let public: [u8; 32] =
                key.public_key.as_slice().try_into().map_err(|_| KeyError::Malformed(key.kid.clone()))?;
            let x = URL_SAFE_NO_PAD.encode(public);
            let decoding =
                DecodingKey::from_ed_components(&x).map_err(|_| KeyError::Malformed(key.kid.clone()))?;
            if ring.signing.is_none() && key.retired_at.is_none() {
                let seed = Zeroizing::new(
                    opener.open(&key.sealed_private).ok_or_else(|| KeyError::Sealed(key.kid.clone()))?,
                );
                let seed: [u8; 32] =
                    seed.as_slice().try_into().map_err(|_| KeyError::Malformed(key.kid.clone()))?;
                let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
                if signing.verifying_key().to_bytes() != public {
                    return Err(KeyError::Malformed(key.kid.clone()));
                }
                let der = signing.to_pkcs8_der().map_err(|_| KeyError::Malformed(key.kid.clone()))?;
                ring.signing = Some((key.kid.clone(), EncodingKey::from_ed_der(der.as_bytes())));
            }
            ring.order.push(key.kid.clone());
            ring.public.insert(key.kid.clone(), PublicKey { x, decoding });
        }
        Ok(ring)
    }

    pub fn signing_kid(&self) -> Option<&str> {
        self.signing.as_ref().map(|(kid, _)| kid.as_str())
    }

    pub fn knows(&self, kid: &str) -> bool {
        self.public.contains_key(kid)
    }

    /// The JWK set (RFC 7517) of every published key.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .order
            .iter()
            .filter_map(|kid| {
                let k = self.public.get(kid)?;
                Some(serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "x": k.x, "kid": kid, "alg": ALG, "use": "sig",
                }))
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Signs `claims` with the current key, `typ` in the header.
    pub fn sign(&self, typ: &str, claims: &impl Serialize) -> Option<String> {
        let (kid, key) = self.signing.as_ref()?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(typ.to_owned());
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, claims, key).ok()
    }

    /// Verifies signature, `typ`, `iss` and `aud` of `token`; times are the caller's
    /// to check (against its own clock). `Err(true)` when the key is unknown (the
    /// caller may reload and retry).
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        issuer: &str,
        audience: &str,
    ) -> Result<T, bool> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| false)?;
        if header.alg != Algorithm::EdDSA
            || !header.typ.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(typ))
        {
            return Err(false);
        }
        let kid = header.kid.ok_or(false)?;
        let key = self.public.get(&kid).ok_or(true)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        jsonwebtoken::decode::<T>(token, &key.decoding, &validation).map(|d| d.claims).map_err(|_| false)
    }
}

/// The keyring shared by the requests of a node, replaced whole on reload, with a
/// generation that moves whenever the set of keys (or the signing one) changes.
#[derive(Clone, Default)]
pub struct SharedKeyring(Arc<std::sync::RwLock<Arc<Keyring>>>, Arc<std::sync::atomic::AtomicU64>);

impl std::fmt::Debug for SharedKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedKeyring(..)")
    }
}

impl SharedKeyring {
    pub fn get(&self) -> Arc<Keyring> {
        match self.0.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    pub fn set(&self, ring: Keyring) {
        let ring = Arc::new(ring);
        let mut g = self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let signing = |r: &Keyring| r.signing.as_ref().map(|(kid, _)| kid.clone());
        if g.order != ring.order || signing(&g) != signing(&ring) {
            self.1.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        *g = ring;
    }

    /// Moves whenever [`set`](Self::set) changes which keys there are.
    pub fn generation(&self) -> u64 {
        self.1.load(std::sync::atomic::Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq)]
    struct Claims {
        iss: String,
        aud: String,
        sub: String,
    }

    fn claims() -> Claims {
        Claims { iss: "https://issuer".into(), aud: "api".into(), sub: "u1".into() }
    }

    fn ring(now: OffsetDateTime) -> (Keyring, Vec<StoredKey>, SecretBox) {
        let sealer = SecretBox::new(&[7u8; 32]);
        let keys = vec![generate_key(&sealer, now)];
        (Keyring::from_stored(&keys, &sealer).unwrap(), keys, sealer)
    }

    #[test]
    fn a_signed_token_verifies_and_its_private_key_is_sealed() {
        let (ring, keys, _) = ring(OffsetDateTime::UNIX_EPOCH);
        let token = ring.sign(ACCESS_TOKEN_TYP, &claims()).unwrap();
        let back: Claims = ring.verify(&token, ACCESS_TOKEN_TYP, "https://issuer", "api").unwrap();
        assert_eq!(back, claims());
        assert_eq!(keys[0].sealed_private.len(), 24 + 32 + 16, "nonce + sealed seed + tag");
        let jwks = ring.jwks();
        assert_eq!(jwks["keys"][0]["kid"], keys[0].kid.as_str());
        assert!(jwks["keys"][0].get("d").is_none(), "never the private part");
    }

    #[test]
    fn tampering_wrong_audience_issuer_or_type_is_refused() {
        let (ring, _, _) = ring(OffsetDateTime::UNIX_EPOCH);
        let token = ring.sign(ACCESS_TOKEN_TYP, &claims()).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let forged = Claims { sub: "admin".into(), ..claims() };
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert!(ring.verify::<Claims>(&parts.join("."), ACCESS_TOKEN_TYP, "https://issuer", "api").is_err());
        assert!(ring.verify::<Claims>(&token, ACCESS_TOKEN_TYP, "https://issuer", "other").is_err());
        assert!(ring.verify::<Claims>(&token, ACCESS_TOKEN_TYP, "https://evil", "api").is_err());
        assert!(ring.verify::<Claims>(&token, ID_TOKEN_TYP, "https://issuer", "api").is_err());
    }

    #[test]
    fn after_rotation_the_new_key_signs_and_the_old_still_verifies() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let (old_ring, mut keys, sealer) = ring(t0);
        let old_token = old_ring.sign(ID_TOKEN_TYP, &claims()).unwrap();
        keys[0].retired_at = Some(t0 + time::Duration::seconds(5));
        keys.push(generate_key(&sealer, t0 + time::Duration::seconds(5)));
        let ring = Keyring::from_stored(&keys, &sealer).unwrap();
        assert_eq!(ring.signing_kid(), Some(keys[1].kid.as_str()));
        assert!(ring.verify::<Claims>(&old_token, ID_TOKEN_TYP, "https://issuer", "api").is_ok());
        assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 2);
        // A ring without the old key reports it as unknown, so the caller can reload.
        let fresh = Keyring::from_stored(&keys[1..], &sealer).unwrap();
        assert_eq!(fresh.verify::<Claims>(&old_token, ID_TOKEN_TYP, "https://issuer", "api"), Err(true));
    }

    #[test]
    fn a_key_sealed_under_another_secret_is_an_error_not_a_panic() {
        let (_, keys, _) = ring(OffsetDateTime::UNIX_EPOCH);
        let other = SecretBox::new(&[8u8; 32]);
        assert!(matches!(Keyring::from_stored(&keys, &other), Err(KeyError::Sealed(_))));
    }
}
