//! Keys: signing keys for ID and access tokens (the private half sealed, old keys
//! kept retired while tokens they signed may still be checked), and the named
//! secrets every node shares.

use async_trait::async_trait;
use portcullis_core::keys::jwt::StoredKey;
use portcullis_core::store::KeyStore;
use sqlx::Row as _;
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::{Conflict as _, R, Result};
use crate::rows::ts;

/// The SQL of signing keys, on `pool`.
pub(crate) struct Keys<DB>(std::marker::PhantomData<DB>);

#[generic_sql]
impl<DB> Keys<DB> {
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
}

#[async_trait]
#[generic_sql]
impl<DB> KeyStore for SqlStore<DB> {
    /// Stores a new key, retiring the current ones if asked (a rotation).
    async fn insert_signing_key(&self, key: &StoredKey, retire_others: bool) -> R<()> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
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
        })
        .await
    }

    /// Current keys and those retired after `retired_after`, newest first.
    async fn list_signing_keys(&self, retired_after: OffsetDateTime) -> R<Vec<StoredKey>> {
        self.run(async {
            let rows = sqlx::query(
                "SELECT kid, alg, public_key, sealed_private, created_at, retired_at FROM signing_keys
                 WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, kid",
            )
            .bind(retired_after.unix_timestamp())
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(Keys::<DB>::from_row).collect()
        })
        .await
    }

    async fn purge_signing_keys(&self, before: OffsetDateTime) -> R<u64> {
        self.run(async {
            let done =
                sqlx::query("DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1")
                    .bind(before.unix_timestamp())
                    .execute(&self.pool)
                    .await?;
            Ok(done.rows_affected())
        })
        .await
    }

    /// Named server secrets (e.g. the key that seals TOTP secrets): the first node
    /// to start stores its candidate, every node then uses the stored one.
    async fn get_or_create_secret(&self, name: &str, candidate: &[u8], now: OffsetDateTime) -> R<Vec<u8>> {
        self.run(async {
            sqlx::query(
                "INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(candidate)
            .bind(now.unix_timestamp())
            .execute(&self.pool)
            .await?;
            let value = sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?;
            Ok(value)
        })
        .await
    }
}
