//! The audit log: security events, newest first.

use portcullis_core::UserId;
use portcullis_core::audit::{Event, NewEvent};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row as _, Type};
use time::OffsetDateTime;

use crate::backend::{Backend, RowsAffected as _};
use crate::error::Result;
use crate::rows::{ts, user_id};

/// The SQL of audit events, on `pool`.
pub(crate) struct Events<'a, DB: sqlx::Database>(pub &'a Pool<DB>);

impl<DB> Events<'_, DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<Vec<u8>>: Encode<'q, DB>,
{
    fn from_row(row: &DB::Row) -> Result<Event> {
        let user: Option<String> = row.try_get("user_id")?;
        Ok(Event {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            outcome: row.try_get("outcome")?,
            user_id: user.as_deref().map(user_id).transpose()?,
            ip: row.try_get("ip")?,
            user_agent: row.try_get("user_agent")?,
            detail: row.try_get("detail")?,
            created_at: ts(row.try_get("created_at")?)?,
        })
    }

    pub(crate) async fn insert(&self, e: &NewEvent) -> Result<()> {
        sqlx::query(
            "INSERT INTO events (user_id, kind, outcome, ip, user_agent, detail, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(e.user_id.map(|u| u.to_string()))
        .bind(e.kind.as_str())
        .bind(e.outcome.as_str())
        .bind(e.client.ip.as_deref())
        .bind(e.client.user_agent.as_deref())
        .bind(e.detail)
        .bind(e.at.unix_timestamp())
        .execute(self.0)
        .await?;
        Ok(())
    }

    /// The newest `limit` events, of one user or of everyone.
    pub(crate) async fn list(&self, user: Option<UserId>, limit: i64) -> Result<Vec<Event>> {
        let rows = match user {
            Some(user) => {
                sqlx::query(
                    "SELECT id, user_id, kind, outcome, ip, user_agent, detail, created_at
                     FROM events WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(user.to_string())
                .bind(limit)
                .fetch_all(self.0)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT id, user_id, kind, outcome, ip, user_agent, detail, created_at
                     FROM events ORDER BY id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(self.0)
                .await?
            }
        };
        rows.iter().map(Self::from_row).collect()
    }

    pub(crate) async fn purge(&self, before: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM events WHERE created_at < $1")
            .bind(before.unix_timestamp())
            .execute(self.0)
            .await?;
        Ok(done.rows_affected())
    }
}
