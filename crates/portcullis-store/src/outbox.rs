//! The outbox's SQL, stamped out for each backend by `outbox_impl!` (invoked from
//! `store_impl!`). Only claiming differs between backends, so its SQL is a parameter:
//! PostgreSQL adds `FOR UPDATE SKIP LOCKED`; SQLite runs it in a `BEGIN IMMEDIATE`
//! transaction, which already serialises writers.

use portcullis_core::Email;
use portcullis_core::mail::{MailSummary, OutgoingMail, QueuedMail};
use sqlx::Row;

use crate::queries::ts;

/// Claims due, unclaimed mails: `$1` now, `$2` lease end, `$3` limit. `{lock}` is
/// where a backend adds its row-locking clause.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE outbox SET locked_until = $2
             WHERE id IN (SELECT id FROM outbox
                          WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $1
                            AND (locked_until IS NULL OR locked_until <= $1)
                          ORDER BY id LIMIT $3 ",
            $lock,
            ")
             RETURNING id, recipient, subject, body_text, body_html, created_at, attempts"
        )
    };
}

/// Queues a `&NewMail` on `$conn` (a transaction of the change that causes it).
macro_rules! insert_mail {
    ($conn:expr, $mail:expr) => {{
        let m: &portcullis_core::mail::NewMail = $mail;
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
        .execute($conn)
        .await
        .map(|_| ())
    }};
}

/// Reads a claimed row.
pub(crate) fn queued_from_row<'r, R>(row: &'r R) -> Result<QueuedMail, sqlx::Error>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
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

pub(crate) fn summary_from_row<'r, R>(row: &'r R) -> Result<MailSummary, sqlx::Error>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(MailSummary {
        subject: row.try_get("subject")?,
        created_at: ts(row.try_get("created_at")?)?,
        sent_at: row.try_get::<Option<i64>, _>("sent_at")?.map(ts).transpose()?,
    })
}

/// Implements `OutboxStore` for `$store`; `$claim_sql` is the backend's claim query.
macro_rules! outbox_impl {
    ($store:ty, $begin_write:expr, $claim_sql:expr) => {
        #[async_trait::async_trait]
        impl portcullis_core::OutboxStore for $store {
            async fn enqueue_mail(
                &self,
                mail: &portcullis_core::mail::NewMail,
            ) -> Result<(), portcullis_core::StoreError> {
                insert_mail!(&self.pool, mail).map_err(crate::error::other)
            }

            async fn claim_mails(
                &self,
                now: time::OffsetDateTime,
                lease_until: time::OffsetDateTime,
                limit: i64,
            ) -> Result<Vec<portcullis_core::mail::QueuedMail>, portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                let rows = sqlx::query($claim_sql)
                    .bind(now.unix_timestamp())
                    .bind(lease_until.unix_timestamp())
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(crate::error::other)?;
                tx.commit().await.map_err(crate::error::other)?;
                let mut mails = rows
                    .iter()
                    .map(crate::outbox::queued_from_row)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(crate::error::other)?;
                mails.sort_by_key(|m| m.id);
                Ok(mails)
            }

            async fn mark_mail_sent(
                &self,
                id: i64,
                now: time::OffsetDateTime,
            ) -> Result<(), portcullis_core::StoreError> {
                sqlx::query(
                    "UPDATE outbox SET sent_at = $1, attempts = attempts + 1, locked_until = NULL,
                         last_error = NULL
                     WHERE id = $2",
                )
                .bind(now.unix_timestamp())
                .bind(id)
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(crate::error::other)
            }

            async fn mark_mail_failed(
                &self,
                id: i64,
                error: &str,
                retry_at: Option<time::OffsetDateTime>,
                now: time::OffsetDateTime,
            ) -> Result<(), portcullis_core::StoreError> {
                let query = match retry_at {
                    Some(at) => sqlx::query(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = $1, locked_until = NULL,
                             next_attempt_at = $2
                         WHERE id = $3",
                    )
                    .bind(error)
                    .bind(at.unix_timestamp()),
                    None => sqlx::query(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = $1, locked_until = NULL,
                             gave_up_at = $2
                         WHERE id = $3",
                    )
                    .bind(error)
                    .bind(now.unix_timestamp()),
                };
                query.bind(id).execute(&self.pool).await.map(|_| ()).map_err(crate::error::other)
            }

            async fn outbox_stats(
                &self,
                now: time::OffsetDateTime,
            ) -> Result<portcullis_core::mail::OutboxStats, portcullis_core::StoreError> {
                let row = sqlx::query(
                    "SELECT COUNT(*) FILTER (WHERE sent_at IS NULL AND gave_up_at IS NULL) AS pending,
                            COUNT(*) FILTER (WHERE sent_at IS NULL AND gave_up_at IS NULL
                                             AND next_attempt_at <= $1) AS due,
                            COUNT(*) FILTER (WHERE gave_up_at IS NOT NULL) AS failed
                     FROM outbox",
                )
                .bind(now.unix_timestamp())
                .fetch_one(&self.pool)
                .await
                .map_err(crate::error::other)?;
                let count = |name: &str| -> Result<u64, portcullis_core::StoreError> {
                    let n: i64 = row.try_get(name).map_err(crate::error::other)?;
                    Ok(u64::try_from(n).unwrap_or(0))
                };
                Ok(portcullis_core::mail::OutboxStats {
                    pending: count("pending")?,
                    due: count("due")?,
                    failed: count("failed")?,
                })
            }

            async fn list_mails(
                &self,
                user: portcullis_core::UserId,
            ) -> Result<Vec<portcullis_core::mail::MailSummary>, portcullis_core::StoreError> {
                let rows = sqlx::query(
                    "SELECT subject, created_at, sent_at FROM outbox WHERE user_id = $1 ORDER BY id DESC",
                )
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(crate::error::other)?;
                rows.iter()
                    .map(crate::outbox::summary_from_row)
                    .collect::<Result<_, _>>()
                    .map_err(crate::error::other)
            }

            async fn purge_outbox(
                &self,
                before: time::OffsetDateTime,
            ) -> Result<u64, portcullis_core::StoreError> {
                sqlx::query("DELETE FROM outbox WHERE sent_at < $1 OR gave_up_at < $1")
                    .bind(before.unix_timestamp())
                    .execute(&self.pool)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(crate::error::other)
            }
        }
    };
}
