//! Passkeys and WebAuthn ceremonies. A ceremony is taken with one
//! `DELETE ... RETURNING`, so two nodes finishing the same one cannot both get it.

use portcullis_core::UserId;
use portcullis_core::mail::NewMail;
use portcullis_core::passkeys::{Ceremony, CeremonyKind, PasskeyRecord};
use portcullis_core::token::TokenHash;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row as _, Type};
use time::OffsetDateTime;

use crate::backend::{Backend, RowsAffected as _};
use crate::error::{Conflict as _, Result, decode};
use crate::outbox::Outbox;
use crate::rows::{ts, user_id, uuid};

/// The SQL of passkeys and ceremonies, on `pool`.
pub(crate) struct Passkeys<'a, DB: sqlx::Database>(pub &'a Pool<DB>);

impl<DB> Passkeys<'_, DB>
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
    fn from_row(row: &DB::Row) -> Result<PasskeyRecord> {
        Ok(PasskeyRecord {
            id: uuid(&row.try_get::<String, _>("id")?)?,
            user_id: user_id(&row.try_get::<String, _>("user_id")?)?,
            credential_id: row.try_get("credential_id")?,
            name: row.try_get("name")?,
            sign_count: row.try_get("sign_count")?,
            credential: row.try_get("credential")?,
            created_at: ts(row.try_get("created_at")?)?,
            last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(ts).transpose()?,
        })
    }

    fn ceremony_from_row(row: &DB::Row) -> Result<Ceremony> {
        let invalid = |what: &str| decode(format!("invalid ceremony {what}"));
        let kind: String = row.try_get("kind")?;
        let hash: Vec<u8> = row.try_get("challenge_hash")?;
        let session = match row.try_get::<Option<Vec<u8>>, _>("session_hash")? {
            Some(s) => Some(TokenHash::from_bytes(s.try_into().map_err(|_| invalid("session"))?)),
            None => None,
        };
        Ok(Ceremony {
            challenge_hash: hash.try_into().map_err(|_| invalid("hash"))?,
            kind: CeremonyKind::parse(&kind).ok_or_else(|| invalid("kind"))?,
            user_id: row.try_get::<Option<String>, _>("user_id")?.as_deref().map(user_id).transpose()?,
            session,
            state: row.try_get("state")?,
            expires_at: ts(row.try_get("expires_at")?)?,
        })
    }

    /// Stores a ceremony, dropping expired ones on the way.
    pub(crate) async fn begin_ceremony(&self, c: &Ceremony, now: OffsetDateTime) -> Result<()> {
        let mut tx = DB::begin_write(self.0).await?;
        sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at < $1")
            .bind(now.unix_timestamp())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO passkey_ceremonies (challenge_hash, kind, user_id, session_hash, state, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&c.challenge_hash[..])
        .bind(c.kind.as_str())
        .bind(c.user_id.map(|u| u.to_string()))
        .bind(c.session.map(|s| s.as_bytes().to_vec()))
        .bind(&c.state)
        .bind(c.expires_at.unix_timestamp())
        .execute(&mut *tx)
        .await
        .conflict_on("ceremony")?;
        Ok(tx.commit().await?)
    }

    pub(crate) async fn take_ceremony(&self, challenge_hash: &[u8; 32]) -> Result<Option<Ceremony>> {
        let row = sqlx::query(
            "DELETE FROM passkey_ceremonies WHERE challenge_hash = $1
             RETURNING challenge_hash, kind, user_id, session_hash, state, expires_at",
        )
        .bind(&challenge_hash[..])
        .fetch_optional(self.0)
        .await?;
        row.as_ref().map(Self::ceremony_from_row).transpose()
    }

    pub(crate) async fn add(&self, p: &PasskeyRecord, notice: &NewMail) -> Result<()> {
        let mut tx = DB::begin_write(self.0).await?;
        sqlx::query(
            "INSERT INTO passkeys (id, user_id, credential_id, name, sign_count, credential, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(p.id.to_string())
        .bind(p.user_id.to_string())
        .bind(&p.credential_id)
        .bind(&p.name)
        .bind(p.sign_count)
        .bind(&p.credential)
        .bind(p.created_at.unix_timestamp())
        .execute(&mut *tx)
        .await
        .conflict_on("passkey")?;
        Outbox::<DB>::insert(&mut tx, notice).await?;
        tx.commit().await.conflict_on("passkey")
    }

    pub(crate) async fn list(&self, user: UserId) -> Result<Vec<PasskeyRecord>> {
        let rows = sqlx::query(
            "SELECT id, user_id, credential_id, name, sign_count, credential, created_at, last_used_at
             FROM passkeys WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user.to_string())
        .fetch_all(self.0)
        .await?;
        rows.iter().map(Self::from_row).collect()
    }

    pub(crate) async fn find_by_credential_id(&self, credential_id: &[u8]) -> Result<Option<PasskeyRecord>> {
        let row = sqlx::query(
            "SELECT id, user_id, credential_id, name, sign_count, credential, created_at, last_used_at
             FROM passkeys WHERE credential_id = $1",
        )
        .bind(credential_id)
        .fetch_optional(self.0)
        .await?;
        row.as_ref().map(Self::from_row).transpose()
    }

    pub(crate) async fn used(
        &self,
        id: uuid::Uuid,
        credential: &str,
        sign_count: i64,
        now: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query("UPDATE passkeys SET credential = $2, sign_count = $3, last_used_at = $4 WHERE id = $1")
            .bind(id.to_string())
            .bind(credential)
            .bind(sign_count)
            .bind(now.unix_timestamp())
            .execute(self.0)
            .await?;
        Ok(())
    }

    pub(crate) async fn rename(&self, user: UserId, id: uuid::Uuid, name: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE passkeys SET name = $3 WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.to_string())
            .bind(name)
            .execute(self.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn delete(&self, user: UserId, id: uuid::Uuid) -> Result<bool> {
        let done = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(self.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
