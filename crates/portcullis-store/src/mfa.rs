//! Second factors: the TOTP secret (sealed) with its last used step, and recovery
//! codes (hashed). A step or code is spent with one conditional `UPDATE`.

use async_trait::async_trait;
use portcullis_core::UserId;
use portcullis_core::store::MfaStore;
use portcullis_core::store::TotpRecord;
use sqlx::Row as _;
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::{R, Result};
use crate::webhooks::Webhooks;
use portcullis_core::webhooks::WebhookEvent;

/// The SQL of TOTP and recovery codes, on `pool`.
pub(crate) struct Mfa<DB>(std::marker::PhantomData<DB>);

#[generic_sql]
impl<DB> Mfa<DB> {
    /// Replaces the user's recovery codes with `hashes`.
    async fn insert_recovery_codes(conn: &mut DB::Connection, user: &str, hashes: &[[u8; 32]]) -> Result<()> {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user).execute(&mut *conn).await?;
        for hash in hashes {
            sqlx::query("INSERT INTO recovery_codes (code_hash, user_id) VALUES ($1, $2)")
                .bind(&hash[..])
                .bind(user)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
#[generic_sql]
impl<DB> MfaStore for SqlStore<DB> {
    async fn totp(&self, user: UserId) -> R<Option<TotpRecord>> {
        self.run(async {
            let row = sqlx::query("SELECT secret, confirmed, last_step FROM totp WHERE user_id = $1")
                .bind(user.to_string())
                .fetch_optional(&self.pool)
                .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(TotpRecord {
                sealed_secret: row.try_get("secret")?,
                confirmed: row.try_get("confirmed")?,
                last_step: row.try_get("last_step")?,
            }))
        })
        .await
    }

    /// Starts (or restarts) enrolment; a confirmed secret is left alone.
    async fn totp_begin(&self, user: UserId, sealed_secret: &[u8], now: OffsetDateTime) -> R<()> {
        self.run(async {
            sqlx::query(
                "INSERT INTO totp (user_id, secret, confirmed, last_step, created_at) VALUES ($1, $2, FALSE, 0, $3)
                 ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, confirmed = FALSE, last_step = 0,
                     created_at = excluded.created_at
                 WHERE NOT totp.confirmed",
            )
            .bind(user.to_string())
            .bind(sealed_secret)
            .bind(now.unix_timestamp())
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    async fn totp_confirm(
        &self,
        user: UserId,
        step: i64,
        recovery_hashes: &[[u8; 32]],
        event: Option<&WebhookEvent>,
    ) -> R<()> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let id = user.to_string();
            sqlx::query("UPDATE totp SET confirmed = TRUE, last_step = $2 WHERE user_id = $1")
                .bind(&id)
                .bind(step)
                .execute(&mut *tx)
                .await?;
            let updated = sqlx::query("UPDATE users SET mfa_enabled = TRUE WHERE id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            Mfa::<DB>::insert_recovery_codes(&mut tx, &id, recovery_hashes).await?;
            if updated == 1
                && let Some(event) = event
            {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            Ok(tx.commit().await?)
        })
        .await
    }

    /// Spends `step` if it is later than the last one used.
    async fn totp_use_step(&self, user: UserId, step: i64) -> R<bool> {
        self.run(async {
            let done = sqlx::query(
                "UPDATE totp SET last_step = $2 WHERE user_id = $1 AND confirmed AND last_step < $2",
            )
            .bind(user.to_string())
            .bind(step)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn use_recovery_code(&self, user: UserId, hash: &[u8; 32], now: OffsetDateTime) -> R<bool> {
        self.run(async {
            let done = sqlx::query(
                "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
            )
            .bind(user.to_string())
            .bind(&hash[..])
            .bind(now.unix_timestamp())
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn replace_recovery_codes(&self, user: UserId, hashes: &[[u8; 32]]) -> R<()> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            Mfa::<DB>::insert_recovery_codes(&mut tx, &user.to_string(), hashes).await?;
            Ok(tx.commit().await?)
        })
        .await
    }

    async fn recovery_codes_left(&self, user: UserId) -> R<i64> {
        self.run(async {
            let n = sqlx::query_scalar(
                "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
            )
            .bind(user.to_string())
            .fetch_one(&self.pool)
            .await?;
            Ok(n)
        })
        .await
    }

    async fn mfa_disable(&self, user: UserId, event: Option<&WebhookEvent>) -> R<()> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let mut updated = 0;
            for sql in [
                "DELETE FROM totp WHERE user_id = $1",
                "DELETE FROM recovery_codes WHERE user_id = $1",
                "UPDATE users SET mfa_enabled = FALSE WHERE id = $1",
            ] {
                updated = sqlx::query(sql).bind(user.to_string()).execute(&mut *tx).await?.rows_affected();
            }
            // `updated` is the last statement's: whether the user exists.
            if updated == 1
                && let Some(event) = event
            {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            Ok(tx.commit().await?)
        })
        .await
    }
}
