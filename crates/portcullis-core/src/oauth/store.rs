//! What the OpenID Connect provider needs from storage. Spending a code or a
//! refresh token is one conditional `UPDATE ... WHERE used_at IS NULL`, so two
//! concurrent uses cannot both succeed.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::user::{User, UserId};
use crate::oauth::{AuthCode, Client, CodeUse, NewRefresh, Rotation, TokenFamily};
use crate::store::StoreError;
use crate::token::TokenHash;

/// What a refresh token's hash finds: its family, when the token expires, and
/// whether it was spent already.
#[derive(Debug, Clone)]
pub struct RefreshTokenState {
    pub family: TokenFamily,
    pub expires_at: OffsetDateTime,
    pub spent: bool,
}

/// A live token family with its (not disabled) user.
#[derive(Debug, Clone)]
pub struct FamilyWithUser {
    pub family: TokenFamily,
    pub user: User,
}

/// OAuth clients, their authorization codes and the consents users gave them.
#[async_trait]
pub trait ClientStore: Send + Sync + 'static {
    /// A taken id is `Conflict("client_id")`.
    async fn create_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError>;
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    /// Deletes a client with its codes, consents and token families.
    async fn delete_client(&self, id: &str) -> Result<bool, StoreError>;

    async fn insert_code(&self, hash: TokenHash, code: &AuthCode) -> Result<(), StoreError>;
    /// Spends a code (recording the family it will be exchanged for), or tells
    /// whether it had been spent already.
    async fn consume_code(
        &self,
        hash: TokenHash,
        family: Uuid,
        now: OffsetDateTime,
    ) -> Result<CodeUse, StoreError>;

    /// The scope the user granted the client, if any.
    async fn find_consent(&self, user: UserId, client: &str) -> Result<Option<String>, StoreError>;
    async fn grant_consent(
        &self,
        user: UserId,
        client: &str,
        scope: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// Refresh-token families: one per sign-in of a client, rotated on every refresh.
#[async_trait]
pub trait FamilyStore: Send + Sync + 'static {
    /// Starts a family with its first refresh token (when given). A first-party
    /// family (no client: `/api/v1/tokens`) begins with a sign-in, so it sets the
    /// user's `last_sign_in_at` in the same transaction; a client's family comes
    /// from a code, whose sign-in was a session's. `rehash` replaces the user's
    /// password hash in the same transaction (a password sign-in's).
    async fn create_family(
        &self,
        family: &TokenFamily,
        first: Option<&NewRefresh>,
        rehash: Option<&crate::accounts::store::Rehash>,
    ) -> Result<(), StoreError>;
    /// Spends refresh token `hash` and stores `next` in its family. A token of
    /// another client than `client`, expired, of a disabled user or of a revoked
    /// family is `Invalid` (and nothing changes); one spent before revokes its family.
    async fn rotate_refresh(
        &self,
        hash: TokenHash,
        client: Option<&str>,
        next: &NewRefresh,
        now: OffsetDateTime,
    ) -> Result<Rotation, StoreError>;
    /// The family of a refresh token, with the token's expiry and whether it was
    /// spent (for introspection and revocation).
    async fn find_refresh_family(&self, hash: TokenHash) -> Result<Option<RefreshTokenState>, StoreError>;
    /// A live family and its user (unless disabled).
    async fn find_family(&self, id: Uuid) -> Result<Option<FamilyWithUser>, StoreError>;
    /// Revokes (deletes) a family and its tokens; false if there was none.
    async fn revoke_family(&self, id: Uuid) -> Result<bool, StoreError>;
    /// The user's families (for the data export).
    async fn list_families(&self, user: UserId) -> Result<Vec<TokenFamily>, StoreError>;
    /// Deletes expired codes, and families whose every token expired before `before`.
    async fn purge_oauth(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
