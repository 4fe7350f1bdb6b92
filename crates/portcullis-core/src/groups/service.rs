//! Managing groups and memberships (the CLI, later the admin API). Every change is
//! audited with its actor; a membership change is an event in the member's own
//! security log. Removing a member or a group changes what someone may reach, so
//! it empties this node's hot cache at once, and the other nodes' within
//! [`crate::sessions::hot::HOT_TTL`] (membership is read with the session or token
//! family, per request).

use crate::accounts::user::User;
use crate::audit::{EventKind, Outcome};
use crate::error::{AuthError, FieldError};
use crate::groups::{ADMIN, Actor, Group, GroupName, MAX_DESCRIPTION};
use crate::service::{Auth, ClientMeta};

impl Auth {
    pub async fn create_group(
        &self,
        name: &str,
        description: &str,
        actor: Actor,
    ) -> Result<Group, AuthError> {
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
                    code: "group_exists",
                    message: "a group with this name exists",
                });
            }
            other => other?,
        };
        let detail = format!("group={name} actor={actor}");
        self.audit(EventKind::GroupCreated, Outcome::Success, None, &meta(actor), Some(&detail)).await;
        Ok(group)
    }

    pub async fn list_groups(&self) -> Result<Vec<Group>, AuthError> {
        Ok(self.store.list_groups().await?)
    }

    pub async fn find_group(&self, name: &str) -> Result<Group, AuthError> {
        let name = GroupName::parse(name).ok_or(AuthError::NotFound)?;
        self.store.find_group(&name).await?.ok_or(AuthError::NotFound)
    }

    /// Deletes a group and every membership in it. The group `admin` always exists.
    pub async fn delete_group(&self, name: &str, actor: Actor) -> Result<(), AuthError> {
        let name = GroupName::parse(name).ok_or(AuthError::NotFound)?;
        if name.as_str() == ADMIN {
            return Err(AuthError::Validation(vec![FieldError::new(
                "name",
                "protected",
                "the group admin always exists",
            )]));
        }
        if !self.store.delete_group(&name).await? {
            return Err(AuthError::NotFound);
        }
        self.security_state_changed();
        let detail = format!("group={name} actor={actor}");
        self.audit(EventKind::GroupDeleted, Outcome::Success, None, &meta(actor), Some(&detail)).await;
        Ok(())
    }

    /// Adds the user with `email` to the group; `Ok(false)` if already a member.
    pub async fn add_to_group(
        &self,
        group: &str,
        email: &str,
        actor: Actor,
    ) -> Result<(User, bool), AuthError> {
        self.change_membership(group, email, actor, Change::Add).await
    }

    /// Removes the user with `email` from the group; `Ok(false)` if not a member.
    pub async fn remove_from_group(
        &self,
        group: &str,
        email: &str,
        actor: Actor,
    ) -> Result<(User, bool), AuthError> {
        self.change_membership(group, email, actor, Change::Remove).await
    }

    /// Adds or removes; whether anything changed. A change empties this node's hot
    /// cache at once (a new membership grants, a removal takes away).
    async fn change_membership(
        &self,
        group: &str,
        email: &str,
        actor: Actor,
        change: Change,
    ) -> Result<(User, bool), AuthError> {
        let group = self.find_group(group).await?;
        let user = self.find_user(email).await?;
        let (changed, kind) = match change {
            Change::Add => (
                self.store.add_member(&group.name, user.id, self.clock.now()).await?,
                EventKind::GroupMemberAdded,
            ),
            Change::Remove => {
                (self.store.remove_member(&group.name, user.id).await?, EventKind::GroupMemberRemoved)
            }
        };
        if changed {
            self.security_state_changed();
            let detail = format!("group={} actor={actor}", group.name);
            self.audit(kind, Outcome::Success, Some(user.id), &meta(actor), Some(&detail)).await;
        }
        Ok((user, changed))
    }

    pub async fn group_members(&self, group: &str) -> Result<Vec<User>, AuthError> {
        let group = self.find_group(group).await?;
        Ok(self.store.group_members(&group.name).await?)
    }
}

#[derive(Clone, Copy)]
enum Change {
    Add,
    Remove,
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

pub(crate) fn meta(actor: Actor) -> ClientMeta {
    match actor {
        Actor::Cli => ClientMeta::operator(),
        Actor::User(_) => ClientMeta::default(),
    }
}
