//! What keys need from storage.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::keys::jwt::StoredKey;
use crate::store::StoreError;

/// Token signing keys (private parts sealed) and the node-shared secrets.
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Returns the secret stored under `name`, storing `candidate` first if there is
    /// none. Race-free: when several nodes start at once, all get the same value.
    async fn get_or_create_secret(
        &self,
        name: &str,
        candidate: &[u8],
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, StoreError>;
    /// Stores a new signing key; with `retire_others`, every older unretired key is
    /// retired at the new key's creation time (rotation).
    async fn insert_signing_key(&self, key: &StoredKey, retire_others: bool) -> Result<(), StoreError>;
    /// Keys not retired, or retired after `retired_after`.
    async fn list_signing_keys(&self, retired_after: OffsetDateTime) -> Result<Vec<StoredKey>, StoreError>;
    /// Deletes keys retired before `before`; returns how many.
    async fn purge_signing_keys(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
