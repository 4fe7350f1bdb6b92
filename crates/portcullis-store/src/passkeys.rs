//! Passkeys and WebAuthn ceremonies. A ceremony is taken with one
//! `DELETE ... RETURNING`, so two nodes finishing the same one cannot both get it.

use async_trait::async_trait;
use portcullis_core::UserId;
use portcullis_core::mail::NewMail;
use portcullis_core::passkeys::{Ceremony, CeremonyKind, PasskeyRecord};
use portcullis_core::store::PasskeyStore;
use portcullis_core::token::TokenHash;
use sqlx::Row as _;
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::{Conflict as _, R, Result, decode};
use crate::outbox::Outbox;
use crate::rows::{ts, user_id, uuid};

/// The SQL of passkeys and ceremonies, on `pool`.
/// A user's passkeys, oldest first (`$1` the user). Also read by the account page (`account_page.rs`).
pub(crate) const LIST_SQL: &str =
    "SELECT id, user_id, credential_id, name, sign_count, credential, created_at, last_used_at
                 FROM passkeys WHERE user_id = $1 ORDER BY created_at, id";

pub(crate) struct Passkeys<DB>(std::marker::PhantomData<DB>);

#[generic_sql]
impl<DB> Passkeys<DB> {
    pub(crate) fn from_row(row: &DB::Row) -> Result<PasskeyRecord> {
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
}

#[async_trait]
#[generic_sql]
impl<DB> PasskeyStore for SqlStore<DB> {
    /// Stores a ceremony, dropping expired ones on the way.
    async fn begin_ceremony(&self, c: &Ceremony, now: OffsetDateTime) -> R<()> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
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
        })
        .await
    }

    async fn take_ceremony(&self, challenge_hash: &[u8; 32]) -> R<Option<Ceremony>> {
        self.run(async {
            let row = sqlx::query(
                "DELETE FROM passkey_ceremonies WHERE challenge_hash = $1
                 RETURNING challenge_hash, kind, user_id, session_hash, state, expires_at",
            )
            .bind(&challenge_hash[..])
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(Passkeys::<DB>::ceremony_from_row).transpose()
        })
        .await
    }

    async fn add_passkey(&self, p: &PasskeyRecord, notice: &NewMail) -> R<()> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
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
        })
        .await
    }

    async fn list_passkeys(&self, user: UserId) -> R<Vec<PasskeyRecord>> {
        self.run(async {
            let rows = sqlx::query(LIST_SQL).bind(user.to_string()).fetch_all(&self.pool).await?;
            rows.iter().map(Passkeys::<DB>::from_row).collect()
        })
        .await
    }

    async fn find_passkey_by_credential_id(&self, credential_id: &[u8]) -> R<Option<PasskeyRecord>> {
        self.run(async {
            let row = sqlx::query(
                "SELECT id, user_id, credential_id, name, sign_count, credential, created_at, last_used_at
                 FROM passkeys WHERE credential_id = $1",
            )
            .bind(credential_id)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(Passkeys::<DB>::from_row).transpose()
        })
        .await
    }

    async fn passkey_used(
        &self,
        id: uuid::Uuid,
        credential: &str,
        sign_count: i64,
        now: OffsetDateTime,
    ) -> R<()> {
        self.run(async {
            sqlx::query(
                "UPDATE passkeys SET credential = $2, sign_count = $3, last_used_at = $4 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(credential)
            .bind(sign_count)
            .bind(now.unix_timestamp())
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    async fn rename_passkey(&self, user: UserId, id: uuid::Uuid, name: &str) -> R<bool> {
        self.run(async {
            let done = sqlx::query("UPDATE passkeys SET name = $3 WHERE id = $1 AND user_id = $2")
                .bind(id.to_string())
                .bind(user.to_string())
                .bind(name)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn delete_passkey(&self, user: UserId, id: uuid::Uuid) -> R<bool> {
        self.run(async {
            let done = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
                .bind(id.to_string())
                .bind(user.to_string())
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }
}
