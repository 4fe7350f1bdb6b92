//! Token signing keys: created on first start, rotated by the operator, reloaded by
//! every node (periodically, and at once when a token names a key it has not seen).

use std::sync::atomic::Ordering;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::AuthError;
use crate::keys::jwt::{self, Keyring, StoredKey};
use crate::oauth::KEY_PUBLISHED_AFTER_RETIREMENT;

use crate::service::Auth;

impl Auth {
    /// Makes sure a signing key exists (creating the first one), then loads the keys.
    pub async fn init_signing_keys(&self) -> Result<(), AuthError> {
        let now = self.clock.now();
        let keys = self.store.list_signing_keys(now - KEY_PUBLISHED_AFTER_RETIREMENT).await?;
        if !keys.iter().any(|k| k.retired_at.is_none()) {
            let key = jwt::generate_key(&self.key_box, now);
            self.store.insert_signing_key(&key, false).await?;
            tracing::info!(kid = %key.kid, "created the first token signing key");
        }
        self.reload_signing_keys().await
    }

    /// Reads the published keys again; the newest unretired one signs from now on.
    pub async fn reload_signing_keys(&self) -> Result<(), AuthError> {
        let now = self.clock.now();
        let keys = self.store.list_signing_keys(now - KEY_PUBLISHED_AFTER_RETIREMENT).await?;
        let ring = Keyring::from_stored(&keys, &self.key_box).map_err(AuthError::internal)?;
        self.keyring.set(ring);
        Ok(())
    }

    /// A new signing key; the previous ones are retired but stay published (and
    /// keep verifying) until every token they signed has expired. Running nodes
    /// pick the new key up at their next reload (within 30 s).
    pub async fn rotate_signing_keys(&self) -> Result<StoredKey, AuthError> {
        let key = jwt::generate_key(&self.key_box, self.clock.now());
        self.store.insert_signing_key(&key, true).await?;
        self.reload_signing_keys().await?;
        Ok(key)
    }

    /// Stored keys, published ones only (for `portcullis keys list`).
    pub async fn signing_keys(&self) -> Result<Vec<StoredKey>, AuthError> {
        let since = self.clock.now() - KEY_PUBLISHED_AFTER_RETIREMENT;
        Ok(self.store.list_signing_keys(since).await?)
    }

    /// Deletes keys retired so long ago that nothing they signed is still valid.
    pub async fn purge_signing_keys(&self) -> Result<u64, AuthError> {
        Ok(self.store.purge_signing_keys(self.clock.now() - KEY_PUBLISHED_AFTER_RETIREMENT).await?)
    }

    /// The JWK set to publish at `/oauth2/jwks`, read from the database so that a key
    /// just rotated elsewhere is published before any node signs with it.
    pub async fn jwks(&self) -> Result<serde_json::Value, AuthError> {
        Ok(jwt::jwks_of(&self.signing_keys().await?))
    }

    /// Signs `claims` as a JWT of type `typ` with the current key.
    pub fn sign_jwt(&self, typ: &str, claims: &impl Serialize) -> Result<String, AuthError> {
        self.keyring
            .get()
            .sign(typ, claims)
            .ok_or_else(|| AuthError::internal(std::io::Error::other("no token signing key loaded")))
    }

    /// Verifies a JWT's signature, `typ`, issuer and `audience` (times are the
    /// caller's to check). A token signed by a key this node has not loaded yet
    /// (rotated on another node) triggers one reload, at most once a second.
    pub async fn verify_jwt<T: DeserializeOwned>(&self, token: &str, typ: &str, audience: &str) -> Option<T> {
        let issuer = self.config.tokens.issuer.as_str();
        match self.keyring.get().verify(token, typ, issuer, audience) {
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
                if let Err(e) = self.reload_signing_keys().await {
                    tracing::warn!(error = %e, "could not reload token signing keys");
                    return None;
                }
                self.keyring.get().verify(token, typ, issuer, audience).ok()
            }
        }
    }
}
