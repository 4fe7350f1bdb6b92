//! Second factors: the TOTP secret (sealed) with its last used step, and recovery
//! codes (hashed). A step or code is spent with one conditional `UPDATE`.

use portcullis_core::UserId;
use portcullis_core::store::TotpRecord;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row as _, Type};
use time::OffsetDateTime;

use crate::backend::{Backend, RowsAffected as _};
use crate::error::Result;

/// The SQL of TOTP and recovery codes, on `pool`.
pub(crate) struct Mfa<'a, DB: sqlx::Database>(pub &'a Pool<DB>);

impl<DB> Mfa<'_, DB>
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
    pub(crate) async fn totp(&self, user: UserId) -> Result<Option<TotpRecord>> {
        let row = sqlx::query("SELECT secret, confirmed, last_step FROM totp WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_optional(self.0)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(TotpRecord {
            sealed_secret: row.try_get("secret")?,
            confirmed: row.try_get("confirmed")?,
            last_step: row.try_get("last_step")?,
        }))
    }

    /// Starts (or restarts) enrolment; a confirmed secret is left alone.
    pub(crate) async fn totp_begin(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        now: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO totp (user_id, secret, confirmed, last_step, created_at) VALUES ($1, $2, FALSE, 0, $3)
             ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, confirmed = FALSE, last_step = 0,
                 created_at = excluded.created_at
             WHERE NOT totp.confirmed",
        )
        .bind(user.to_string())
        .bind(sealed_secret)
        .bind(now.unix_timestamp())
        .execute(self.0)
        .await?;
        Ok(())
    }

    pub(crate) async fn totp_confirm(
        &self,
        user: UserId,
        step: i64,
        recovery_hashes: &[[u8; 32]],
    ) -> Result<()> {
        let mut tx = DB::begin_write(self.0).await?;
        let id = user.to_string();
        sqlx::query("UPDATE totp SET confirmed = TRUE, last_step = $2 WHERE user_id = $1")
            .bind(&id)
            .bind(step)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE users SET mfa_enabled = TRUE WHERE id = $1").bind(&id).execute(&mut *tx).await?;
        Self::insert_recovery_codes(&mut tx, &id, recovery_hashes).await?;
        Ok(tx.commit().await?)
    }

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

    /// Spends `step` if it is later than the last one used.
    pub(crate) async fn totp_use_step(&self, user: UserId, step: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE totp SET last_step = $2 WHERE user_id = $1 AND confirmed AND last_step < $2")
                .bind(user.to_string())
                .bind(step)
                .execute(self.0)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn use_recovery_code(
        &self,
        user: UserId,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(user.to_string())
        .bind(&hash[..])
        .bind(now.unix_timestamp())
        .execute(self.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn replace_recovery_codes(&self, user: UserId, hashes: &[[u8; 32]]) -> Result<()> {
        let mut tx = DB::begin_write(self.0).await?;
        Self::insert_recovery_codes(&mut tx, &user.to_string(), hashes).await?;
        Ok(tx.commit().await?)
    }

    pub(crate) async fn recovery_codes_left(&self, user: UserId) -> Result<i64> {
        let n =
            sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
                .bind(user.to_string())
                .fetch_one(self.0)
                .await?;
        Ok(n)
    }

    pub(crate) async fn disable(&self, user: UserId) -> Result<()> {
        let mut tx = DB::begin_write(self.0).await?;
        for sql in [
            "DELETE FROM totp WHERE user_id = $1",
            "DELETE FROM recovery_codes WHERE user_id = $1",
            "UPDATE users SET mfa_enabled = FALSE WHERE id = $1",
        ] {
            sqlx::query(sql).bind(user.to_string()).execute(&mut *tx).await?;
        }
        Ok(tx.commit().await?)
    }
}
