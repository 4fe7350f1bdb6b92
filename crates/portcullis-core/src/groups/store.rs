//! What groups need from storage.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::accounts::store::Guarded;
use crate::accounts::user::{User, UserId};
use crate::groups::{Group, GroupName};
use crate::store::StoreError;

/// Groups and their members. A user's groups are read with the user itself (every
/// query that returns a [`User`] fills `User::groups`).
#[async_trait]
pub trait GroupStore: Send + Sync + 'static {
    /// A taken name is `Conflict("group")`.
    async fn create_group(
        &self,
        name: &GroupName,
        description: &str,
        now: OffsetDateTime,
    ) -> Result<Group, StoreError>;
    /// Every group, by name.
    async fn list_groups(&self) -> Result<Vec<Group>, StoreError>;
    async fn find_group(&self, name: &GroupName) -> Result<Option<Group>, StoreError>;
    /// Deletes a group and its memberships; false if there was no such group.
    async fn delete_group(&self, name: &GroupName) -> Result<bool, StoreError>;
    /// Adds the user to an existing group; false if the user was already a member
    /// (or the group is gone). The webhook `event` is written in the same
    /// transaction, only when the user was added.
    async fn add_member(
        &self,
        group: &GroupName,
        user: UserId,
        now: OffsetDateTime,
        event: Option<&crate::webhooks::WebhookEvent>,
    ) -> Result<bool, StoreError>;
    /// `Unchanged` if the user was not a member; removing the last enabled
    /// administrator from `admin` is refused ([`Guarded`]). The webhook `event` is
    /// written in the same transaction, only when the user was removed.
    async fn remove_member(
        &self,
        group: &GroupName,
        user: UserId,
        event: Option<&crate::webhooks::WebhookEvent>,
    ) -> Result<Guarded, StoreError>;
    /// The group's members, by email.
    async fn group_members(&self, group: &GroupName) -> Result<Vec<User>, StoreError>;
}
