//! The transactional outbox: mails are queued in the transaction of the change that
//! causes them and sent later by a worker that claims them with a lease. Only the
//! claim query differs between backends (`Backend::CLAIM_MAILS`).

use portcullis_core::mail::{MailSummary, NewMail, OutboxStats, OutgoingMail, QueuedMail};
use portcullis_core::{Email, UserId};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row as _, Type};
use time::OffsetDateTime;

use crate::backend::{Backend, RowsAffected as _};
use crate::error::Result;
use crate::rows::ts;

/// The SQL of the mail outbox, on `pool`.
pub(crate) struct Outbox<'a, DB: sqlx::Database>(pub &'a Pool<DB>);

impl<DB> Outbox<'_, DB>
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
    /// Reads a claimed row.
    fn queued_from_row(row: &DB::Row) -> Result<QueuedMail> {
        let recipient: String = row.try_get("recipient")?;
        let to = Email::parse(&recipient).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        Ok(QueuedMail {
            id: row.try_get("id")?,
            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
            created_at: ts(row.try_get("created_at")?)?,
            mail: OutgoingMail {
                to,
                subject: row.try_get("subject")?,
                text: row.try_get("body_text")?,
                html: row.try_get("body_html")?,
            },
        })
    }

    /// Queues a mail on `conn` (the transaction of the change that causes it).
    pub(crate) async fn insert(conn: &mut DB::Connection, m: &NewMail) -> Result<()> {
        sqlx::query(
            "INSERT INTO outbox (user_id, recipient, subject, body_text, body_html, created_at, attempts,
                 next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, 0, $6)",
        )
        .bind(m.user_id.map(|u| u.to_string()))
        .bind(m.mail.to.as_str())
        .bind(m.mail.subject.as_str())
        .bind(m.mail.text.as_str())
        .bind(m.mail.html.as_str())
        .bind(m.at.unix_timestamp())
        .execute(conn)
        .await?;
        Ok(())
    }

    pub(crate) async fn enqueue(&self, mail: &NewMail) -> Result<()> {
        let mut conn = self.0.acquire().await?;
        Self::insert(&mut conn, mail).await
    }

    /// Leases up to `limit` due mails until `lease_until`, oldest first.
    pub(crate) async fn claim(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<QueuedMail>> {
        let mut tx = DB::begin_write(self.0).await?;
        let rows = sqlx::query(DB::CLAIM_MAILS)
            .bind(now.unix_timestamp())
            .bind(lease_until.unix_timestamp())
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut mails = rows.iter().map(Self::queued_from_row).collect::<Result<Vec<_>>>()?;
        mails.sort_by_key(|m| m.id);
        Ok(mails)
    }

    pub(crate) async fn mark_sent(&self, id: i64, now: OffsetDateTime) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET sent_at = $1, attempts = attempts + 1, locked_until = NULL, last_error = NULL
             WHERE id = $2",
        )
        .bind(now.unix_timestamp())
        .bind(id)
        .execute(self.0)
        .await?;
        Ok(())
    }

    /// Records a failed attempt: to retry at `retry_at`, or given up on if `None`.
    pub(crate) async fn mark_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<()> {
        let query = match retry_at {
            Some(at) => sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $1, locked_until = NULL, next_attempt_at = $2
                 WHERE id = $3",
            )
            .bind(error)
            .bind(at.unix_timestamp()),
            None => sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $1, locked_until = NULL, gave_up_at = $2
                 WHERE id = $3",
            )
            .bind(error)
            .bind(now.unix_timestamp()),
        };
        query.bind(id).execute(self.0).await?;
        Ok(())
    }

    pub(crate) async fn stats(&self, now: OffsetDateTime) -> Result<OutboxStats> {
        let row = sqlx::query(
            "SELECT COUNT(*) FILTER (WHERE sent_at IS NULL AND gave_up_at IS NULL) AS pending,
                    COUNT(*) FILTER (WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $1) AS due,
                    COUNT(*) FILTER (WHERE gave_up_at IS NOT NULL) AS failed
             FROM outbox",
        )
        .bind(now.unix_timestamp())
        .fetch_one(self.0)
        .await?;
        let count =
            |name: &str| -> Result<u64> { Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0)) };
        Ok(OutboxStats { pending: count("pending")?, due: count("due")?, failed: count("failed")? })
    }

    pub(crate) async fn list(&self, user: UserId) -> Result<Vec<MailSummary>> {
        let rows = sqlx::query(
            "SELECT subject, created_at, sent_at FROM outbox WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user.to_string())
        .fetch_all(self.0)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MailSummary {
                    subject: row.try_get("subject")?,
                    created_at: ts(row.try_get("created_at")?)?,
                    sent_at: row.try_get::<Option<i64>, _>("sent_at")?.map(ts).transpose()?,
                })
            })
            .collect()
    }

    pub(crate) async fn purge(&self, before: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM outbox WHERE sent_at < $1 OR gave_up_at < $1")
            .bind(before.unix_timestamp())
            .execute(self.0)
            .await?;
        Ok(done.rows_affected())
    }
}
