//! The audit log: security events, newest first.

use async_trait::async_trait;
use portcullis_core::UserId;
use portcullis_core::audit::{Event, NewEvent};
use portcullis_core::store::AuditStore;
use sqlx::Row as _;
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::{R, Result};
use crate::rows::{ts, user_id};

/// The SQL of audit events, on `pool`.
/// A user's newest events (`$1` the user, `$2` how many). Also read by the account page (`account_page.rs`).
pub(crate) const LIST_OF_USER_SQL: &str =
    "SELECT id, user_id, actor_id, kind, outcome, ip, user_agent, detail, created_at
                         FROM events WHERE user_id = $1 ORDER BY id DESC LIMIT $2";

pub(crate) struct Events<DB>(std::marker::PhantomData<DB>);

#[generic_sql]
impl<DB> Events<DB> {
    pub(crate) fn from_row(row: &DB::Row) -> Result<Event> {
        let user: Option<String> = row.try_get("user_id")?;
        Ok(Event {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            outcome: row.try_get("outcome")?,
            user_id: user.as_deref().map(user_id).transpose()?,
            actor_id: row.try_get("actor_id")?,
            ip: row.try_get("ip")?,
            user_agent: row.try_get("user_agent")?,
            detail: row.try_get("detail")?,
            created_at: ts(row.try_get("created_at")?)?,
        })
    }
}

#[async_trait]
#[generic_sql]
impl<DB> AuditStore for SqlStore<DB> {
    async fn insert_event(&self, e: &NewEvent) -> R<()> {
        self.run(async {
            sqlx::query(
                "INSERT INTO events (user_id, kind, outcome, ip, user_agent, detail, created_at, actor_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(e.user_id.map(|u| u.to_string()))
            .bind(e.kind.as_str())
            .bind(e.outcome.as_str())
            .bind(e.client.ip.as_deref())
            .bind(e.client.user_agent.as_deref())
            .bind(e.detail.as_deref())
            .bind(e.at.unix_timestamp())
            .bind(e.actor.map(|a| a.to_string()))
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    /// The newest `limit` events, of one user or of everyone.
    async fn list_events(&self, user: Option<UserId>, limit: i64) -> R<Vec<Event>> {
        self.run(async {
            let rows = match user {
                Some(user) => {
                    sqlx::query(LIST_OF_USER_SQL)
                        .bind(user.to_string())
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?
                }
                None => {
                    sqlx::query(
                        "SELECT id, user_id, actor_id, kind, outcome, ip, user_agent, detail, created_at
                         FROM events ORDER BY id DESC LIMIT $1",
                    )
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
                }
            };
            rows.iter().map(Events::<DB>::from_row).collect()
        })
        .await
    }

    async fn purge_events(&self, before: OffsetDateTime) -> R<u64> {
        self.run(async {
            let done = sqlx::query("DELETE FROM events WHERE created_at < $1")
                .bind(before.unix_timestamp())
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        })
        .await
    }
}
