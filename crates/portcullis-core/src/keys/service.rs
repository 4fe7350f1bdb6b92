//! Token signing keys: created on first start, rotated by the operator, reloaded by
//! every node (periodically, and at once when a token names a key it has not seen).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::Clock;
use crate::error::AuthError;
use crate::keys::jwt::{self, Keyring, SharedKeyring, StoredKey};
use crate::keys::store::KeyStore;
use crate::mfa::SecretBox;
use crate::oauth::KEY_PUBLISHED_AFTER_RETIREMENT;

/// The token signing keys of this node: what signs and verifies every JWT, and
/// the operator's rotation. Built by [`Auth::new`](crate::Auth::new), reached with
/// [`Auth::keys`](crate::Auth::keys).
#[derive(Clone)]
pub struct Keys {
    store: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    /// Seals the private parts of signing keys.
    sealing: SecretBox,
    ring: SharedKeyring,
    /// The `iss` every verified token must carry.
    issuer: String,
    /// Unix second of the last reload forced by an unknown `kid` (at most one a second).
    forced_reload: Arc<AtomicI64>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl Keys {
    pub(crate) fn new(
        store: Arc<dyn KeyStore>,
        clock: Arc<dyn Clock>,
        sealing: &[u8; 32],
        issuer: String,
    ) -> Self {
        Self {
            store,
            clock,
            sealing: SecretBox::new(sealing),
            ring: SharedKeyring::default(),
            issuer,
            forced_reload: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Makes sure a signing key exists (creating the first one), then loads the keys.
    pub async fn init(&self) -> Result<(), AuthError> {
        let now = self.clock.now();
        let keys = self.store.list_signing_keys(now - KEY_PUBLISHED_AFTER_RETIREMENT).await?;
        if !keys.iter().any(|k| k.retired_at.is_none()) {
            let key = jwt::generate_key(&self.sealing, now);
            self.store.insert_signing_key(&key, false).await?;
            tracing::info!(kid = %key.kid, "created the first token signing key");
        }
        self.reload().await
    }

    /// Reads the published keys again; the newest unretired one signs from now on.
    pub async fn reload(&self) -> Result<(), AuthError> {
        let now = self.clock.now();
        let keys = self.store.list_signing_keys(now - KEY_PUBLISHED_AFTER_RETIREMENT).await?;
        let ring = Keyring::from_stored(&keys, &self.sealing).map_err(AuthError::internal)?;
        self.ring.set(ring);
        Ok(())
    }

    /// A new signing key; the previous ones are retired but stay published (and
    /// keep verifying) until every token they signed has expired. Running nodes
    /// pick the new key up at their next reload (within 30 s).
    pub async fn rotate(&self) -> Result<StoredKey, AuthError> {
        let key = jwt::generate_key(&self.sealing, self.clock.now());
        self.store.insert_signing_key(&key, true).await?;
        self.reload().await?;
        Ok(key)
    }

    /// Stored keys, published ones only (for `portcullis keys list`).
    pub async fn list(&self) -> Result<Vec<StoredKey>, AuthError> {
        let since = self.clock.now() - KEY_PUBLISHED_AFTER_RETIREMENT;
        Ok(self.store.list_signing_keys(since).await?)
    }

    /// Deletes keys retired so long ago that nothing they signed is still valid.
    pub async fn purge_retired(&self) -> Result<u64, AuthError> {
        Ok(self.store.purge_signing_keys(self.clock.now() - KEY_PUBLISHED_AFTER_RETIREMENT).await?)
    }

    /// The JWK set to publish at `/oauth2/jwks`, read from the database so that a key
    /// just rotated elsewhere is published before any node signs with it.
    pub async fn jwks(&self) -> Result<serde_json::Value, AuthError> {
        Ok(jwt::jwks_of(&self.list().await?))
    }

    /// Moves whenever a reload changes which keys this node verifies with.
    pub(crate) fn generation(&self) -> u64 {
        self.ring.generation()
    }

    /// Signs `claims` as a JWT of type `typ` with the current key.
    pub fn sign(&self, typ: &str, claims: &impl Serialize) -> Result<String, AuthError> {
        self.ring
            .get()
            .sign(typ, claims)
            .ok_or_else(|| AuthError::internal(std::io::Error::other("no token signing key loaded")))
    }

    /// Verifies a JWT's signature, `typ`, issuer and `audience` (times are the
    /// caller's to check). A token signed by a key this node has not loaded yet
    /// (rotated on another node) triggers one reload, at most once a second.
    pub async fn verify<T: DeserializeOwned>(&self, token: &str, typ: &str, audience: &str) -> Option<T> {
        let issuer = self.issuer.as_str();
        match self.ring.get().verify(token, typ, issuer, audience) {
            Ok(claims) => Some(claims),
            Err(false) => None,
            Err(true) => {
                let now = self.clock.unix();
                let last = self.forced_reload.load(Ordering::Relaxed);
                if now <= last
                    || self
                        .forced_reload
                        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                        .is_err()
                {
                    return None;
                }
                if let Err(e) = self.reload().await {
                    tracing::warn!(error = %e, "could not reload token signing keys");
                    return None;
                }
                self.ring.get().verify(token, typ, issuer, audience).ok()
            }
        }
    }
}

impl crate::service::Auth {
    /// Rotates the signing key (see [`Keys::rotate`]), audited with `by` as actor.
    pub async fn rotate_signing_key(&self, by: &crate::audit::ActedBy) -> Result<StoredKey, AuthError> {
        let key = self.keys().rotate().await?;
        self.audit_by(
            by,
            crate::audit::EventKind::SigningKeyRotated,
            None,
            Some(&format!("kid={}", key.kid)),
        )
        .await;
        Ok(key)
    }
}
