//! What passkeys need from storage.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::user::UserId;
use crate::mail::NewMail;
use crate::passkeys::{Ceremony, PasskeyRecord};
use crate::store::StoreError;

/// Storage of passkeys and ceremonies.
#[async_trait]
pub trait PasskeyStore: Send + Sync + 'static {
    /// Stores a started ceremony, deleting ceremonies that expired before `now`.
    async fn begin_ceremony(&self, ceremony: &Ceremony, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Deletes and returns the ceremony with this challenge hash (expired or not:
    /// the caller checks), so that it can be finished only once.
    async fn take_ceremony(&self, challenge_hash: &[u8; 32]) -> Result<Option<Ceremony>, StoreError>;
    /// Stores a new passkey and queues `notice` in one transaction; a credential id
    /// stored already is `Conflict("passkey")`.
    async fn add_passkey(&self, passkey: &PasskeyRecord, notice: &NewMail) -> Result<(), StoreError>;
    /// The user's passkeys, oldest first.
    async fn list_passkeys(&self, user: UserId) -> Result<Vec<PasskeyRecord>, StoreError>;
    async fn find_passkey_by_credential_id(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<PasskeyRecord>, StoreError>;
    /// Records a use: the updated credential (counter, flags) and when.
    async fn passkey_used(
        &self,
        id: Uuid,
        credential: &str,
        sign_count: i64,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Renames one of the user's passkeys; false if it is not theirs.
    async fn rename_passkey(&self, user: UserId, id: Uuid, name: &str) -> Result<bool, StoreError>;
    /// Deletes one of the user's passkeys; false if it is not theirs.
    async fn delete_passkey(&self, user: UserId, id: Uuid) -> Result<bool, StoreError>;
}
