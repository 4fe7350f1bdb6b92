//! The transactional outbox: mails are queued in the transaction of the change that
//! causes them and sent later by a worker that claims them with a lease. Only the
//! claim query differs between backends (`Backend::CLAIM_MAILS`).

use async_trait::async_trait;
use portcullis_core::mail::{MailSummary, NewMail, OutboxStats, OutgoingMail, QueuedMail};
use portcullis_core::store::OutboxStore;
use portcullis_core::{Email, UserId};
use sqlx::Row as _;
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::{R, Result};
use crate::rows::ts;

/// The SQL of the mail outbox, on `pool`.
pub(crate) struct Outbox<DB>(std::marker::PhantomData<DB>);

#[generic_sql]
impl<DB> Outbox<DB> {
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
}

#[async_trait]
#[generic_sql]
impl<DB> OutboxStore for SqlStore<DB> {
    async fn enqueue_mail(&self, mail: &NewMail) -> R<()> {
        self.run(async {
            let mut conn = self.pool.acquire().await?;
            Outbox::<DB>::insert(&mut conn, mail).await
        })
        .await
    }

    /// Leases up to `limit` due mails until `lease_until`, oldest first.
    async fn claim_mails(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: i64,
    ) -> R<Vec<QueuedMail>> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let rows = sqlx::query(DB::CLAIM_MAILS)
                .bind(now.unix_timestamp())
                .bind(lease_until.unix_timestamp())
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            let mut mails = rows.iter().map(Outbox::<DB>::queued_from_row).collect::<Result<Vec<_>>>()?;
            mails.sort_by_key(|m| m.id);
            Ok(mails)
        })
        .await
    }

    async fn mark_mail_sent(&self, id: i64, now: OffsetDateTime) -> R<()> {
        self.run(async {
            sqlx::query(
                "UPDATE outbox SET sent_at = $1, attempts = attempts + 1, locked_until = NULL, last_error = NULL
                 WHERE id = $2",
            )
            .bind(now.unix_timestamp())
            .bind(id)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    /// Records a failed attempt: to retry at `retry_at`, or given up on if `None`.
    async fn mark_mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> R<()> {
        self.run(async {
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
            query.bind(id).execute(&self.pool).await?;
            Ok(())
        })
        .await
    }

    async fn outbox_stats(&self, now: OffsetDateTime) -> R<OutboxStats> {
        self.run(async {
            let row = sqlx::query(
                "SELECT COUNT(*) FILTER (WHERE sent_at IS NULL AND gave_up_at IS NULL) AS pending,
                        COUNT(*) FILTER (WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $1) AS due,
                        COUNT(*) FILTER (WHERE gave_up_at IS NOT NULL) AS failed
                 FROM outbox",
            )
            .bind(now.unix_timestamp())
            .fetch_one(&self.pool)
            .await?;
            let count =
                |name: &str| -> Result<u64> { Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0)) };
            Ok(OutboxStats { pending: count("pending")?, due: count("due")?, failed: count("failed")? })
        })
        .await
    }

    async fn list_mails(&self, user: UserId) -> R<Vec<MailSummary>> {
        self.run(async {
            let rows = sqlx::query(
                "SELECT subject, created_at, sent_at FROM outbox WHERE user_id = $1 ORDER BY id DESC",
            )
            .bind(user.to_string())
            .fetch_all(&self.pool)
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
        })
        .await
    }

    async fn purge_outbox(&self, before: OffsetDateTime) -> R<u64> {
        self.run(async {
            let done = sqlx::query("DELETE FROM outbox WHERE sent_at < $1 OR gave_up_at < $1")
                .bind(before.unix_timestamp())
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        })
        .await
    }
}
