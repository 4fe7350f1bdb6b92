//! Groups and their members. A user's groups are read with the user (the `groups`
//! column of [`Users::from_row`]); here are the groups themselves.

use async_trait::async_trait;
use portcullis_core::groups::{ADMIN, Group, GroupName};
use portcullis_core::store::{GroupStore, Guarded};
use portcullis_core::{User, UserId};
use sqlx::Row as _;
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::{Conflict as _, R, Result, decode};
use crate::rows::ts;
use crate::users::Users;
use crate::webhooks::Webhooks;
use portcullis_core::webhooks::WebhookEvent;

/// The SQL of groups, on `pool`.
pub(crate) struct Groups<DB>(std::marker::PhantomData<DB>);

#[generic_sql]
impl<DB> Groups<DB> {
    /// Reads `name, description, created_at, members` of a row.
    fn from_row(row: &DB::Row) -> Result<Group> {
        let name: String = row.try_get("name")?;
        let members: i64 = row.try_get("members")?;
        Ok(Group {
            name: GroupName::parse(&name).ok_or_else(|| decode(format!("invalid group name {name:?}")))?,
            description: row.try_get("description")?,
            created_at: ts(row.try_get("created_at")?)?,
            members: u64::try_from(members).unwrap_or(0),
        })
    }
}

#[async_trait]
#[generic_sql]
impl<DB> GroupStore for SqlStore<DB> {
    async fn create_group(&self, name: &GroupName, description: &str, now: OffsetDateTime) -> R<Group> {
        self.run(async {
            sqlx::query("INSERT INTO access_groups (name, description, created_at) VALUES ($1, $2, $3)")
                .bind(name.as_str())
                .bind(description)
                .bind(now.unix_timestamp())
                .execute(&self.pool)
                .await
                .conflict_on("group")?;
            Ok(Group {
                name: name.clone(),
                description: description.to_owned(),
                created_at: ts(now.unix_timestamp())?,
                members: 0,
            })
        })
        .await
    }

    async fn list_groups(&self) -> R<Vec<Group>> {
        self.run(async {
            let rows = sqlx::query(
                "SELECT g.name, g.description, g.created_at,
                        (SELECT COUNT(*) FROM group_members m WHERE m.group_name = g.name) AS members
                 FROM access_groups g ORDER BY g.name",
            )
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(Groups::<DB>::from_row).collect()
        })
        .await
    }

    async fn find_group(&self, name: &GroupName) -> R<Option<Group>> {
        self.run(async {
            let row = sqlx::query(
                "SELECT g.name, g.description, g.created_at,
                        (SELECT COUNT(*) FROM group_members m WHERE m.group_name = g.name) AS members
                 FROM access_groups g WHERE g.name = $1",
            )
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(Groups::<DB>::from_row).transpose()
        })
        .await
    }

    async fn delete_group(&self, name: &GroupName) -> R<bool> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            sqlx::query("DELETE FROM group_members WHERE group_name = $1")
                .bind(name.as_str())
                .execute(&mut *tx)
                .await?;
            let deleted = sqlx::query("DELETE FROM access_groups WHERE name = $1")
                .bind(name.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn add_member(
        &self,
        group: &GroupName,
        user: UserId,
        now: OffsetDateTime,
        event: Option<&WebhookEvent>,
    ) -> R<bool> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let added = sqlx::query(
                "INSERT INTO group_members (group_name, user_id, added_at)
                 SELECT g.name, u.id, $3 FROM access_groups g, users u WHERE g.name = $1 AND u.id = $2
                 ON CONFLICT DO NOTHING",
            )
            .bind(group.as_str())
            .bind(user.to_string())
            .bind(now.unix_timestamp())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if added > 0
                && let Some(event) = event
            {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            tx.commit().await?;
            Ok(added > 0)
        })
        .await
    }

    /// Removing an administrator from `admin` is refused when no other enabled
    /// one would be left (decided in the transaction of the removal).
    async fn remove_member(
        &self,
        group: &GroupName,
        user: UserId,
        event: Option<&WebhookEvent>,
    ) -> R<Guarded> {
        self.run(async {
            let user = user.to_string();
            let mut tx = DB::begin_write(&self.pool).await?;
            if group.as_str() == ADMIN && Users::<DB>::is_last_admin(&mut *tx, &user).await? {
                return Ok(Guarded::LastAdmin);
            }
            let removed = sqlx::query("DELETE FROM group_members WHERE group_name = $1 AND user_id = $2")
                .bind(group.as_str())
                .bind(&user)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if removed > 0
                && let Some(event) = event
            {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            tx.commit().await?;
            Ok(if removed > 0 { Guarded::Changed } else { Guarded::Unchanged })
        })
        .await
    }

    async fn group_members(&self, group: &GroupName) -> R<Vec<User>> {
        self.run(async {
            let rows = sqlx::query(
                "SELECT u.id, u.email, u.email_verified, u.disabled, u.mfa_enabled, u.created_at, u.password_hash = '!invited' AS invited,
                        (SELECT string_agg(m.group_name, ',') FROM group_members m WHERE m.user_id = u.id) AS groups
                 FROM group_members gm JOIN users u ON u.id = gm.user_id
                 WHERE gm.group_name = $1 ORDER BY u.email_canonical",
            )
            .bind(group.as_str())
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(Users::<DB>::from_row).collect()
        })
        .await
    }
}
