//! What upstream sign-in needs from storage: flows and pending links (each taken
//! once), and the linked identities.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::store::NewUser;
use crate::accounts::user::{User, UserId};
use crate::store::StoreError;
use crate::token::TokenHash;
use crate::upstream::{FlowState, LinkedIdentity, PendingLink, Unlinked};

#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    /// Stores a started flow, deleting flows and pending links that expired
    /// before `now`.
    async fn save_flow(&self, flow: &FlowState, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Deletes and returns the flow with this state hash (expired or not: the
    /// caller checks), so that a callback is finished once.
    async fn take_flow(&self, state_hash: &TokenHash) -> Result<Option<FlowState>, StoreError>;
    async fn save_pending_link(&self, link: &PendingLink, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Deletes and returns the pending link with this hash.
    async fn take_pending_link(&self, token_hash: &TokenHash) -> Result<Option<PendingLink>, StoreError>;
    /// The account the identity is linked to, with the link.
    async fn find_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<(LinkedIdentity, User)>, StoreError>;
    /// Links an identity; one linked already (to anyone) is `Conflict("identity")`.
    async fn link_identity(&self, identity: &LinkedIdentity) -> Result<(), StoreError>;
    /// Creates a verified account with no password and links the identity to it,
    /// with the webhook `event`, in one transaction; a taken address is
    /// `Conflict("email")`, a linked identity `Conflict("identity")` (and no event).
    async fn create_user_with_identity(
        &self,
        user: NewUser<'_>,
        identity: &LinkedIdentity,
        event: Option<&crate::webhooks::WebhookEvent>,
    ) -> Result<User, StoreError>;
    /// Records a sign-in through the identity.
    async fn identity_used(&self, id: Uuid, now: OffsetDateTime) -> Result<(), StoreError>;
    /// The user's identities, oldest first.
    async fn list_identities(&self, user: UserId) -> Result<Vec<LinkedIdentity>, StoreError>;
    /// Unlinks one of the user's identities unless it is the account's last way to
    /// sign in (no usable password, no passkey, no other identity), decided in the
    /// transaction that deletes it.
    async fn unlink_identity(&self, user: UserId, id: Uuid) -> Result<Unlinked, StoreError>;
}
