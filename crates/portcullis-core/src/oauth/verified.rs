//! Access tokens whose signature this node has already checked, keyed by the
//! SHA-256 of the token. Verifying an Ed25519 signature is most of the CPU a
//! bearer-authenticated request costs; a token is presented many times during its
//! few minutes of life, so the second and later uses look its claims up instead.
//!
//! What is cached is only what the signature proves — the token's claims, which
//! never change. Everything that can change is still checked on every use by the
//! caller: expiry (against the injected clock), the family (revoked by a logout, a
//! password change or a replayed refresh token) through the hot cache, the user.
//! The signing keys that verified a token keep verifying until every token they
//! signed has expired (`Keys::rotate`), so an entry is never served past its
//! `exp`, and a rotation empties the map anyway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use crate::keys::jwt::ACCESS_TOKEN_TYP;
use crate::oauth::bearer::AccessClaims;
use crate::service::Auth;

/// Tokens kept at most; the expired ones are dropped first, then everything.
const CAPACITY: usize = 50_000;

/// The verified access tokens of one node.
pub(crate) struct VerifiedTokens {
    map: Mutex<Entries>,
}

struct Entries {
    map: HashMap<[u8; 32], Arc<AccessClaims>>,
    /// The `iss`/`aud` the cached tokens were verified against and the keyring
    /// generation: a change of either empties the map.
    checked_against: (String, u64),
}

impl VerifiedTokens {
    pub(crate) fn new() -> Self {
        Self { map: Mutex::new(Entries { map: HashMap::new(), checked_against: (String::new(), 0) }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, digest: &[u8; 32], audience: &str, ring: u64, now: i64) -> Option<Arc<AccessClaims>> {
        let guard = self.lock();
        if guard.checked_against.0 != audience || guard.checked_against.1 != ring {
            return None;
        }
        guard.map.get(digest).filter(|c| c.exp > now).cloned()
    }

    fn put(&self, digest: [u8; 32], claims: Arc<AccessClaims>, audience: &str, ring: u64, now: i64) {
        let mut guard = self.lock();
        if guard.checked_against.0 != audience || guard.checked_against.1 != ring {
            guard.map.clear();
            guard.checked_against = (audience.to_owned(), ring);
        }
        if guard.map.len() >= CAPACITY {
            guard.map.retain(|_, c| c.exp > now);
            if guard.map.len() >= CAPACITY {
                guard.map.clear();
            }
        }
        guard.map.insert(digest, claims);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().map.len()
    }
}

impl Auth {
    /// The claims of an access token with a valid signature, `typ`, issuer and
    /// audience (the API's), or `None`; unexpired is the caller's to check (the
    /// claims carry `exp`). Returns the token's SHA-256 too, which names it in
    /// [`Authenticated`](crate::service::Authenticated).
    pub(crate) async fn verified_access_claims(&self, raw: &str) -> Option<([u8; 32], Arc<AccessClaims>)> {
        let digest: [u8; 32] = Sha256::digest(raw.as_bytes()).into();
        let audience = self.config.tokens.api_audience();
        let now = self.clock.unix();
        let ring = self.keys.generation();
        if let Some(claims) = self.verified.get(&digest, audience, ring, now) {
            return Some((digest, claims));
        }
        let claims = Arc::new(self.keys.verify::<AccessClaims>(raw, ACCESS_TOKEN_TYP, audience).await?);
        // A token verified after a reload carries the new generation; one read
        // before it is stored under the old one and never served.
        if claims.exp > now {
            self.verified.put(digest, Arc::clone(&claims), audience, ring, now);
        }
        Some((digest, claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Arc<AccessClaims> {
        Arc::new(AccessClaims {
            iss: "i".into(),
            sub: "s".into(),
            aud: "a".into(),
            exp,
            iat: 0,
            jti: "j".into(),
            client_id: "c".into(),
            scope: String::new(),
            sid: None,
            auth_time: None,
            groups: None,
        })
    }

    #[test]
    fn an_entry_is_served_only_before_its_exp_and_for_its_audience_and_keyring() {
        let cache = VerifiedTokens::new();
        cache.put([1; 32], claims(100), "aud", 7, 50);
        assert!(cache.get(&[1; 32], "aud", 7, 99).is_some());
        assert!(cache.get(&[1; 32], "aud", 7, 100).is_none(), "never at or past exp");
        assert!(cache.get(&[1; 32], "other", 7, 50).is_none(), "checked against another audience");
        assert!(cache.get(&[1; 32], "aud", 8, 50).is_none(), "the keys were reloaded since");
        assert!(cache.get(&[2; 32], "aud", 7, 50).is_none(), "another token");
        cache.put([3; 32], claims(100), "aud", 8, 50);
        assert_eq!(cache.len(), 1, "a new keyring empties the map");
    }

    #[test]
    fn a_full_map_drops_expired_entries_first_then_everything() {
        let cache = VerifiedTokens::new();
        for i in 0..CAPACITY {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&(i as u64).to_le_bytes());
            cache.put(key, claims(if i % 2 == 0 { 10 } else { 1000 }), "aud", 1, 5);
        }
        assert_eq!(cache.len(), CAPACITY);
        cache.put([0xff; 32], claims(1000), "aud", 1, 20);
        assert_eq!(cache.len(), CAPACITY / 2 + 1, "the expired half went");
    }
}
