//! Rate limits: one row per counted attempt, and a lock-out state per bucket. The
//! decision itself is core's `throttle::decide`; this file reads and writes a bucket
//! in one transaction, serialised per bucket by `Backend::LOCK_BUCKET`.

use async_trait::async_trait;
use portcullis_core::store::ThrottleStore;
use portcullis_core::throttle::{BucketState, Decision, Limit, Throttle, decide};
use sqlx::Row as _;
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::{R, Result};

/// The SQL of throttle buckets, on `pool`.
pub(crate) struct Throttles<DB>(std::marker::PhantomData<DB>);

#[generic_sql]
impl<DB> Throttles<DB> {
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
}

#[async_trait]
#[generic_sql]
impl<DB> ThrottleStore for SqlStore<DB> {
    /// Counts an attempt on `bucket` if `limit` allows it, or locks the bucket out.
    async fn throttle(&self, bucket: &str, limit: Limit, escalate: bool, now: OffsetDateTime) -> R<Throttle> {
        self.run(async {
            let now = now.unix_timestamp();
            let mut tx = DB::begin_write(&self.pool).await?;
            if let Some(lock) = DB::LOCK_BUCKET {
                sqlx::query(lock).bind(bucket).execute(&mut *tx).await?;
            }
            let state = Throttles::<DB>::state(&mut tx, bucket, now - limit.window.whole_seconds()).await?;
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
        })
        .await
    }

    /// Takes back a counted attempt (it turned out to be a success that should not count).
    async fn unthrottle(&self, hit: i64) -> R<()> {
        self.run(async {
            sqlx::query("DELETE FROM throttle_hits WHERE id = $1").bind(hit).execute(&self.pool).await?;
            Ok(())
        })
        .await
    }

    async fn reset_throttle(&self, bucket: &str) -> R<()> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            for sql in [
                "DELETE FROM throttle_hits WHERE bucket = $1",
                "DELETE FROM throttle_state WHERE bucket = $1",
            ] {
                sqlx::query(sql).bind(bucket).execute(&mut *tx).await?;
            }
            Ok(tx.commit().await?)
        })
        .await
    }

    async fn purge_throttle(&self, before: OffsetDateTime) -> R<u64> {
        self.run(async {
            let mut purged = 0;
            for sql in [
                "DELETE FROM throttle_hits WHERE at < $1",
                "DELETE FROM throttle_state WHERE locked_until < $1",
            ] {
                purged +=
                    sqlx::query(sql).bind(before.unix_timestamp()).execute(&self.pool).await?.rows_affected();
            }
            Ok(purged)
        })
        .await
    }
}
