//! Signing keys for ID and access tokens: the private half sealed, old keys kept
//! (retired) while tokens they signed may still be checked.

use portcullis_core::keys::jwt::StoredKey;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row as _, Type};
use time::OffsetDateTime;

use crate::backend::{Backend, RowsAffected as _};
use crate::error::{Conflict as _, Result};
use crate::rows::ts;

/// The SQL of signing keys, on `pool`.
pub(crate) struct Keys<'a, DB: sqlx::Database>(pub &'a Pool<DB>);

impl<DB> Keys<'_, DB>
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
    fn from_row(row: &DB::Row) -> Result<StoredKey> {
        Ok(StoredKey {
            kid: row.try_get("kid")?,
            alg: row.try_get("alg")?,
            public_key: row.try_get("public_key")?,
            sealed_private: row.try_get("sealed_private")?,
            created_at: ts(row.try_get("created_at")?)?,
            retired_at: row.try_get::<Option<i64>, _>("retired_at")?.map(ts).transpose()?,
        })
    }

    /// Stores a new key, retiring the current ones if asked (a rotation).
    pub(crate) async fn insert(&self, key: &StoredKey, retire_others: bool) -> Result<()> {
        let mut tx = DB::begin_write(self.0).await?;
        if retire_others {
            sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
                .bind(key.created_at.unix_timestamp())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, public_key, sealed_private, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.public_key)
        .bind(&key.sealed_private)
        .bind(key.created_at.unix_timestamp())
        .execute(&mut *tx)
        .await
        .conflict_on("kid")?;
        Ok(tx.commit().await?)
    }

    /// Current keys and those retired after `retired_after`, newest first.
    pub(crate) async fn list(&self, retired_after: OffsetDateTime) -> Result<Vec<StoredKey>> {
        let rows = sqlx::query(
            "SELECT kid, alg, public_key, sealed_private, created_at, retired_at FROM signing_keys
             WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, kid",
        )
        .bind(retired_after.unix_timestamp())
        .fetch_all(self.0)
        .await?;
        rows.iter().map(Self::from_row).collect()
    }

    pub(crate) async fn purge(&self, before: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1")
            .bind(before.unix_timestamp())
            .execute(self.0)
            .await?;
        Ok(done.rows_affected())
    }
}
