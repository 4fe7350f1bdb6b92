//! Managing groups and memberships (the CLI and the admin API). Every change is
//! audited with its actor; a membership change is an event in the member's own
//! security log. Removing a member or a group changes what someone may reach, so
//! it empties this node's hot cache at once, and the other nodes' within
//! [`crate::sessions::hot::HOT_TTL`] (membership is read with the session or token
//! family, per request). Membership changes by user id are in `admin/users.rs`;
//! here are the command line's, by email.

use crate::accounts::user::User;
use crate::audit::EventKind;
use crate::error::{AuthError, FieldError};
use crate::groups::{ADMIN, ActedBy, Group, GroupName, MAX_DESCRIPTION};
use crate::service::Auth;

/// The code of the conflict deleting the group `admin` answers.
pub const PROTECTED: &str = "protected";

impl Auth {
    /// A taken name is 409 `conflict`, an invalid one 422.
    pub async fn create_group(
        &self,
        name: &str,
        description: &str,
        by: impl Into<ActedBy>,
    ) -> Result<Group, AuthError> {
        let by = by.into();
        let name = parse_name(name)?;
        let description = description.trim();
        if description.len() > MAX_DESCRIPTION || description.chars().any(char::is_control) {
            return Err(AuthError::Validation(vec![FieldError::new(
                "description",
                "invalid",
                format!("at most {MAX_DESCRIPTION} bytes, on one line"),
            )]));
        }
        let group = match self.store.create_group(&name, description, self.clock.now()).await {
            Err(crate::store::StoreError::Conflict(_)) => {
                return Err(AuthError::Conflict {
                    code: "conflict",
                    message: "a group with this name exists",
                });
            }
            other => other?,
        };
        let detail = format!("group={name} actor={}", by.actor);
        self.audit_by(&by, EventKind::GroupCreated, None, Some(&detail)).await;
        Ok(group)
    }

    pub async fn list_groups(&self) -> Result<Vec<Group>, AuthError> {
        Ok(self.store.list_groups().await?)
    }

    pub async fn find_group(&self, name: &str) -> Result<Group, AuthError> {
        let name = GroupName::parse(name).ok_or(AuthError::NotFound)?;
        self.store.find_group(&name).await?.ok_or(AuthError::NotFound)
    }

    /// Deletes a group and every membership in it. The group `admin` always
    /// exists: 409 [`PROTECTED`].
    pub async fn delete_group(&self, name: &str, by: impl Into<ActedBy>) -> Result<(), AuthError> {
        let by = by.into();
        let name = GroupName::parse(name).ok_or(AuthError::NotFound)?;
        if name.as_str() == ADMIN {
            return Err(AuthError::Conflict { code: PROTECTED, message: "the group admin always exists" });
        }
        if !self.store.delete_group(&name).await? {
            return Err(AuthError::NotFound);
        }
        self.security_state_changed();
        let detail = format!("group={name} actor={}", by.actor);
        self.audit_by(&by, EventKind::GroupDeleted, None, Some(&detail)).await;
        Ok(())
    }

    /// Adds the user with `email` to the group; `Ok(false)` if already a member.
    pub async fn add_to_group(
        &self,
        group: &str,
        email: &str,
        by: impl Into<ActedBy>,
    ) -> Result<(User, bool), AuthError> {
        let group = self.find_group(group).await?;
        let user = self.find_user(email).await?;
        let added = self.add_user_to_group(user.id, group.name.as_str(), &by.into()).await?;
        Ok((user, added))
    }

    /// Removes the user with `email` from the group; `Ok(false)` if not a member.
    /// Removing the last enabled administrator from `admin` is refused (`last_admin`).
    pub async fn remove_from_group(
        &self,
        group: &str,
        email: &str,
        by: impl Into<ActedBy>,
    ) -> Result<(User, bool), AuthError> {
        let group = self.find_group(group).await?;
        let user = self.find_user(email).await?;
        let removed = self.remove_user_from_group(user.id, group.name.as_str(), &by.into()).await?;
        Ok((user, removed))
    }

    pub async fn group_members(&self, group: &str) -> Result<Vec<User>, AuthError> {
        let group = self.find_group(group).await?;
        Ok(self.store.group_members(&group.name).await?)
    }

    /// The group a membership change names: an invalid name is 422, an unknown
    /// group 404.
    pub(crate) async fn group_to_change(&self, name: &str) -> Result<Group, AuthError> {
        let name = parse_name(name)?;
        self.store.find_group(&name).await?.ok_or(AuthError::NotFound)
    }
}

fn parse_name(raw: &str) -> Result<GroupName, AuthError> {
    GroupName::parse(raw).ok_or_else(|| {
        AuthError::Validation(vec![FieldError::new(
            "name",
            "invalid",
            "a group name is 1 to 64 of a-z, 0-9, '_', '.', '-', starting with a letter or digit",
        )])
    })
}
