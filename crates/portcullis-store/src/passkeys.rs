//! The SQL of passkeys and WebAuthn ceremonies, stamped out for each backend by
//! `passkeys_impl!` (invoked from `store_impl!`). A ceremony is taken with one
//! `DELETE ... RETURNING`, so two nodes finishing the same one cannot both get it.

use portcullis_core::passkey::{Ceremony, CeremonyKind, PasskeyRecord};
use portcullis_core::token::TokenHash;
use sqlx::Row;

use crate::queries::{ts, user_id};

/// `SELECT`s the columns `passkey_from_row` reads, followed by `$rest`.
macro_rules! select_passkeys {
    ($rest:literal) => {
        concat!(
            "SELECT id, user_id, credential_id, name, sign_count, credential, created_at, last_used_at
             FROM passkeys ",
            $rest
        )
    };
}

pub(crate) fn passkey_from_row<'r, R>(row: &'r R) -> Result<PasskeyRecord, sqlx::Error>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: String = row.try_get("id")?;
    Ok(PasskeyRecord {
        id: uuid::Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        user_id: user_id(&row.try_get::<String, _>("user_id")?)?,
        credential_id: row.try_get("credential_id")?,
        name: row.try_get("name")?,
        sign_count: row.try_get("sign_count")?,
        credential: row.try_get("credential")?,
        created_at: ts(row.try_get("created_at")?)?,
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(ts).transpose()?,
    })
}

pub(crate) fn ceremony_from_row<'r, R>(row: &'r R) -> Result<Ceremony, sqlx::Error>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let decode = |what: &str| sqlx::Error::Decode(format!("invalid ceremony {what}").into());
    let kind: String = row.try_get("kind")?;
    let hash: Vec<u8> = row.try_get("challenge_hash")?;
    let session: Option<Vec<u8>> = row.try_get("session_hash")?;
    let session = match session {
        Some(s) => Some(TokenHash::from_bytes(s.try_into().map_err(|_| decode("session"))?)),
        None => None,
    };
    Ok(Ceremony {
        challenge_hash: hash.try_into().map_err(|_| decode("hash"))?,
        kind: CeremonyKind::parse(&kind).ok_or_else(|| decode("kind"))?,
        user_id: row.try_get::<Option<String>, _>("user_id")?.as_deref().map(user_id).transpose()?,
        session,
        state: row.try_get("state")?,
        expires_at: ts(row.try_get("expires_at")?)?,
    })
}

/// Implements `PasskeyStore` for `$store`.
macro_rules! passkeys_impl {
    ($store:ty, $begin_write:expr) => {
        #[async_trait::async_trait]
        impl portcullis_core::PasskeyStore for $store {
            async fn begin_ceremony(
                &self,
                c: &portcullis_core::passkey::Ceremony,
                now: time::OffsetDateTime,
            ) -> Result<(), portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at < $1")
                    .bind(now.unix_timestamp())
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::other)?;
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
                .map_err(|e| crate::error::map(e, "ceremony"))?;
                tx.commit().await.map_err(crate::error::other)
            }

            async fn take_ceremony(
                &self,
                challenge_hash: &[u8; 32],
            ) -> Result<Option<portcullis_core::passkey::Ceremony>, portcullis_core::StoreError> {
                let row = sqlx::query(
                    "DELETE FROM passkey_ceremonies WHERE challenge_hash = $1
                     RETURNING challenge_hash, kind, user_id, session_hash, state, expires_at",
                )
                .bind(&challenge_hash[..])
                .fetch_optional(&self.pool)
                .await
                .map_err(crate::error::other)?;
                row.map(|r| crate::passkeys::ceremony_from_row(&r)).transpose().map_err(crate::error::other)
            }

            async fn add_passkey(
                &self,
                p: &portcullis_core::passkey::PasskeyRecord,
                notice: &portcullis_core::mail::NewMail,
            ) -> Result<(), portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
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
                .map_err(|e| crate::error::map(e, "passkey"))?;
                insert_mail!(&mut *tx, notice).map_err(crate::error::other)?;
                tx.commit().await.map_err(|e| crate::error::map(e, "passkey"))
            }

            async fn list_passkeys(
                &self,
                user: portcullis_core::UserId,
            ) -> Result<Vec<portcullis_core::passkey::PasskeyRecord>, portcullis_core::StoreError> {
                let rows = sqlx::query(select_passkeys!("WHERE user_id = $1 ORDER BY created_at, id"))
                    .bind(user.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(crate::error::other)?;
                rows.iter()
                    .map(crate::passkeys::passkey_from_row)
                    .collect::<Result<_, _>>()
                    .map_err(crate::error::other)
            }

            async fn find_passkey_by_credential_id(
                &self,
                credential_id: &[u8],
            ) -> Result<Option<portcullis_core::passkey::PasskeyRecord>, portcullis_core::StoreError> {
                let row = sqlx::query(select_passkeys!("WHERE credential_id = $1"))
                    .bind(credential_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(crate::error::other)?;
                row.map(|r| crate::passkeys::passkey_from_row(&r)).transpose().map_err(crate::error::other)
            }

            async fn passkey_used(
                &self,
                id: uuid::Uuid,
                credential: &str,
                sign_count: i64,
                now: time::OffsetDateTime,
            ) -> Result<(), portcullis_core::StoreError> {
                sqlx::query(
                    "UPDATE passkeys SET credential = $2, sign_count = $3, last_used_at = $4 WHERE id = $1",
                )
                .bind(id.to_string())
                .bind(credential)
                .bind(sign_count)
                .bind(now.unix_timestamp())
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(crate::error::other)
            }

            async fn rename_passkey(
                &self,
                user: portcullis_core::UserId,
                id: uuid::Uuid,
                name: &str,
            ) -> Result<bool, portcullis_core::StoreError> {
                sqlx::query("UPDATE passkeys SET name = $3 WHERE id = $1 AND user_id = $2")
                    .bind(id.to_string())
                    .bind(user.to_string())
                    .bind(name)
                    .execute(&self.pool)
                    .await
                    .map(|r| r.rows_affected() == 1)
                    .map_err(crate::error::other)
            }

            async fn delete_passkey(
                &self,
                user: portcullis_core::UserId,
                id: uuid::Uuid,
            ) -> Result<bool, portcullis_core::StoreError> {
                sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
                    .bind(id.to_string())
                    .bind(user.to_string())
                    .execute(&self.pool)
                    .await
                    .map(|r| r.rows_affected() == 1)
                    .map_err(crate::error::other)
            }
        }
    };
}
