//! Rate limits: one row per counted attempt, and a lock-out state per bucket. The
//! decision itself is core's `throttle::decide`; this file reads and writes a bucket
//! in one transaction, serialised per bucket by `Backend::LOCK_BUCKET`.

use portcullis_core::throttle::{BucketState, Decision, Limit, Throttle, decide};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row as _, Type};
use time::OffsetDateTime;

use crate::backend::{Backend, RowsAffected as _};
use crate::error::Result;

/// The SQL of throttle buckets, on `pool`.
pub(crate) struct Throttles<'a, DB: sqlx::Database>(pub &'a Pool<DB>);

impl<DB> Throttles<'_, DB>
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
    /// Counts an attempt on `bucket` if `limit` allows it, or locks the bucket out.
    pub(crate) async fn hit(
        &self,
        bucket: &str,
        limit: Limit,
        escalate: bool,
        now: OffsetDateTime,
    ) -> Result<Throttle> {
        let now = now.unix_timestamp();
        let mut tx = DB::begin_write(self.0).await?;
        if let Some(lock) = DB::LOCK_BUCKET {
            sqlx::query(lock).bind(bucket).execute(&mut *tx).await?;
        }
        let state = Self::state(&mut tx, bucket, now - limit.window.whole_seconds()).await?;
        let outcome = match decide(limit, escalate, state, now) {
            Decision::Allow => {
                let hit: i64 =
                    sqlx::query_scalar("INSERT INTO throttle_hits (bucket, at) VALUES ($1, $2) RETURNING id")
                        .bind(bucket)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                Throttle::Allowed { hit }
            }
            Decision::Deny { retry_after, lock } => {
                if let Some((level, until)) = lock {
                    sqlx::query(
                        "INSERT INTO throttle_state (bucket, level, locked_until) VALUES ($1, $2, $3)
                         ON CONFLICT (bucket) DO UPDATE SET level = excluded.level, locked_until = excluded.locked_until",
                    )
                    .bind(bucket)
                    .bind(i64::from(level))
                    .bind(until)
                    .execute(&mut *tx)
                    .await?;
                }
                Throttle::Denied { retry_after }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Reads the bucket inside its transaction: hits after `since`, and its lockout.
    async fn state(conn: &mut DB::Connection, bucket: &str, since: i64) -> Result<BucketState> {
        let hits = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM throttle_hits WHERE bucket = $1 AND at > $2",
        )
        .bind(bucket)
        .bind(since)
        .fetch_one(&mut *conn)
        .await?;
        let lock = sqlx::query("SELECT level, locked_until FROM throttle_state WHERE bucket = $1")
            .bind(bucket)
            .fetch_optional(&mut *conn)
            .await?;
        let (level, locked_until) = match &lock {
            Some(r) => (r.try_get::<i64, _>("level")?, r.try_get::<i64, _>("locked_until")?),
            None => (0, 0),
        };
        Ok(BucketState {
            hits: u32::try_from(hits.try_get::<i64, _>("n")?).unwrap_or(u32::MAX),
            oldest_hit: hits.try_get("oldest")?,
            level: u32::try_from(level).unwrap_or(u32::MAX),
            locked_until,
        })
    }

    /// Takes back a counted attempt (it turned out to be a success that should not count).
    pub(crate) async fn unthrottle(&self, hit: i64) -> Result<()> {
        sqlx::query("DELETE FROM throttle_hits WHERE id = $1").bind(hit).execute(self.0).await?;
        Ok(())
    }

    pub(crate) async fn reset(&self, bucket: &str) -> Result<()> {
        let mut tx = DB::begin_write(self.0).await?;
        for sql in
            ["DELETE FROM throttle_hits WHERE bucket = $1", "DELETE FROM throttle_state WHERE bucket = $1"]
        {
            sqlx::query(sql).bind(bucket).execute(&mut *tx).await?;
        }
        Ok(tx.commit().await?)
    }

    pub(crate) async fn purge(&self, before: OffsetDateTime) -> Result<u64> {
        let mut purged = 0;
        for sql in
            ["DELETE FROM throttle_hits WHERE at < $1", "DELETE FROM throttle_state WHERE locked_until < $1"]
        {
            purged += sqlx::query(sql).bind(before.unix_timestamp()).execute(self.0).await?.rows_affected();
        }
        Ok(purged)
    }
}
