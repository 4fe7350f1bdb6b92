//! Administrators' (and the command line's) changes to a user, by id: each
//! audited with its actor in the user's own security log, each that ends access
//! emptying this node's hot cache at once. The command line's versions, by email,
//! are in `accounts/admin.rs` and come here.

use crate::accounts::store::Guarded;
use crate::accounts::user::{User, UserId};
use crate::admin::{AdminUser, Page, UserChanges, UserCursor, UserQuery, last_admin};
use crate::audit::{ActedBy, EventKind};
use crate::error::AuthError;
use crate::groups::Group;
use crate::mail::MailMessage;
use crate::service::Auth;

impl Auth {
    /// One page of users, newest first.
    pub async fn admin_users(&self, query: &UserQuery) -> Result<Page<AdminUser>, AuthError> {
        let fetch = query.limit + 1;
        let rows =
            self.store.admin_users(query.email_prefix.as_ref(), query.after, fetch, self.clock.now()).await?;
        Ok(Page::from_rows(rows, query.limit, |u| {
            UserCursor { created_at: u.user.created_at.unix_timestamp(), id: u.user.id }.encode()
        }))
    }

    pub async fn admin_user(&self, id: UserId) -> Result<AdminUser, AuthError> {
        self.store.admin_user(id, self.clock.now()).await?.ok_or(AuthError::NotFound)
    }

    /// Applies what `changes` names and differs from the user as stored; disabling
    /// first, so a refused one (`last_admin`) changes nothing.
    pub async fn update_user(
        &self,
        id: UserId,
        changes: UserChanges,
        by: &ActedBy,
    ) -> Result<AdminUser, AuthError> {
        let before = self.user_by_id(id).await?;
        if let Some(disabled) = changes.disabled.filter(|d| *d != before.disabled) {
            self.set_user_disabled(id, disabled, by).await?;
        }
        if let Some(verified) = changes.email_verified.filter(|v| *v != before.email_verified) {
            // Only verifying is an event; marking the address unverified is not.
            let event = verified.then(|| {
                let data = serde_json::json!({"by": by.detail()});
                self.webhook_event(crate::webhooks::EventType::UserEmailVerified, id, &before.email, data)
            });
            if !self.store.set_email_verified(id, verified, self.clock.now(), event.as_ref()).await? {
                return Err(AuthError::NotFound);
            }
            if event.is_some() {
                self.webhook_queued();
            }
            self.security_state_changed();
            let kind = if verified { EventKind::EmailVerified } else { EventKind::EmailUnverified };
            self.audit_by(by, kind, Some(id), Some(by.detail())).await;
        }
        self.admin_user(id).await
    }

    /// Disabling ends every session and token family of the user at once.
    pub(crate) async fn set_user_disabled(
        &self,
        id: UserId,
        disabled: bool,
        by: &ActedBy,
    ) -> Result<(), AuthError> {
        let user = self.user_by_id(id).await?;
        let kind = if disabled {
            crate::webhooks::EventType::UserDisabled
        } else {
            crate::webhooks::EventType::UserEnabled
        };
        let event = self.webhook_event(kind, id, &user.email, serde_json::json!({"by": by.detail()}));
        guarded(self.store.set_user_disabled(id, disabled, self.clock.now(), Some(&event)).await?)?;
        self.webhook_queued();
        self.security_state_changed();
        let kind = if disabled { EventKind::UserDisabled } else { EventKind::UserEnabled };
        self.audit_by(by, kind, Some(id), Some(by.detail())).await;
        Ok(())
    }

    /// Deletes the user and everything stored about them. The user's own events
    /// go with the account; the trail keeps one that names the actor, not the user.
    pub async fn delete_user_by_id(&self, id: UserId, by: &ActedBy) -> Result<(), AuthError> {
        let user = self.user_by_id(id).await?;
        let data = serde_json::json!({"by": by.detail()});
        let event = self.webhook_event(crate::webhooks::EventType::UserDeleted, id, &user.email, data);
        guarded(self.store.delete_user(id, None, true, Some(&event)).await?)?;
        self.webhook_queued();
        self.security_state_changed();
        self.audit_by(by, EventKind::AccountDeleted, None, Some(by.detail())).await;
        Ok(())
    }

    /// Ends every session and token family of the user (and so the access tokens
    /// of those families).
    pub async fn sign_out_user(&self, id: UserId, by: &ActedBy) -> Result<(), AuthError> {
        let user = self.user_by_id(id).await?;
        let data = serde_json::json!({"all": true, "by": by.detail()});
        let event = self.webhook_event(crate::webhooks::EventType::SessionRevoked, id, &user.email, data);
        self.store.delete_user_sessions(id, Some(&event)).await?;
        self.webhook_queued();
        self.security_state_changed();
        self.audit_by(by, EventKind::SignedOutEverywhere, Some(id), Some(by.detail())).await;
        Ok(())
    }

    /// Turns the user's TOTP off and deletes the recovery codes (a lost device);
    /// passkeys stay. Every sign-in of the user ends, and they are told by mail.
    pub async fn reset_user_mfa(&self, id: UserId, by: &ActedBy) -> Result<User, AuthError> {
        let user = self.user_by_id(id).await?;
        let data = serde_json::json!({"by": by.detail()});
        let event = self.webhook_event(crate::webhooks::EventType::UserMfaDisabled, id, &user.email, data);
        self.store.mfa_disable(id, Some(&event)).await?;
        self.webhook_queued();
        self.store.delete_user_sessions(id, None).await?;
        self.security_state_changed();
        self.notify(&user, &MailMessage::MfaDisabled).await;
        self.audit_by(by, EventKind::MfaDisabled, Some(id), Some(by.detail())).await;
        Ok(User { mfa_enabled: false, ..user })
    }

    /// Mails the user a password-reset link, as "forgot password" does (outside
    /// its per-account limit: an administrator asked). A disabled account could
    /// not use it: 409 `user_disabled`.
    pub async fn send_password_reset(&self, id: UserId, by: &ActedBy) -> Result<(), AuthError> {
        let user = self.user_by_id(id).await?;
        if user.disabled {
            return Err(AuthError::Conflict {
                code: "user_disabled",
                message: "the account is disabled: enable it before sending a reset link",
            });
        }
        self.queue_reset_link(&user).await?;
        self.audit_by(by, EventKind::PasswordResetSent, Some(id), Some(by.detail())).await;
        Ok(())
    }

    /// Adds the user to the group; false if already a member. An invalid group
    /// name is 422, an unknown group or user 404.
    pub async fn add_user_to_group(&self, id: UserId, group: &str, by: &ActedBy) -> Result<bool, AuthError> {
        let group = self.group_to_change(group).await?;
        let user = self.user_by_id(id).await?;
        let event = self.groups_changed_event(&group, &user, "added", by);
        let added = self.store.add_member(&group.name, id, self.clock.now(), Some(&event)).await?;
        if added {
            self.membership_changed(&group, id, EventKind::GroupMemberAdded, by).await;
        }
        Ok(added)
    }

    /// Removes the user from the group; false if not a member. Removing the last
    /// enabled administrator from `admin` is refused (`last_admin`).
    pub async fn remove_user_from_group(
        &self,
        id: UserId,
        group: &str,
        by: &ActedBy,
    ) -> Result<bool, AuthError> {
        let group = self.group_to_change(group).await?;
        let user = self.user_by_id(id).await?;
        let event = self.groups_changed_event(&group, &user, "removed", by);
        let removed = match self.store.remove_member(&group.name, id, Some(&event)).await? {
            Guarded::Changed => true,
            Guarded::Unchanged => false,
            Guarded::LastAdmin => return Err(last_admin()),
        };
        if removed {
            self.membership_changed(&group, id, EventKind::GroupMemberRemoved, by).await;
        }
        Ok(removed)
    }

    /// The `user.groups_changed` event of a membership change (`added` or
    /// `removed`), written by the store with the change itself.
    fn groups_changed_event(
        &self,
        group: &Group,
        user: &User,
        change: &str,
        by: &ActedBy,
    ) -> crate::webhooks::WebhookEvent {
        let data = serde_json::json!({change: [group.name.as_str()], "by": by.detail()});
        self.webhook_event(crate::webhooks::EventType::UserGroupsChanged, user.id, &user.email, data)
    }

    /// A membership changes what someone may reach: this node's hot cache is
    /// emptied at once, and the change is audited in the member's log.
    async fn membership_changed(&self, group: &Group, id: UserId, kind: EventKind, by: &ActedBy) {
        self.webhook_queued();
        self.security_state_changed();
        let detail = format!("group={} actor={}", group.name, by.actor);
        self.audit_by(by, kind, Some(id), Some(&detail)).await;
    }

    pub(crate) async fn user_by_id(&self, id: UserId) -> Result<User, AuthError> {
        let creds = self.store.find_credentials_by_id(id).await?;
        creds.map(|c| c.user).ok_or(AuthError::NotFound)
    }
}

/// A guarded change as a use case's result: not found, or refused as `last_admin`.
fn guarded(outcome: Guarded) -> Result<(), AuthError> {
    match outcome {
        Guarded::Changed => Ok(()),
        Guarded::Unchanged => Err(AuthError::NotFound),
        Guarded::LastAdmin => Err(last_admin()),
    }
}
