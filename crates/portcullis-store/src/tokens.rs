//! The SQL of emailed tokens and the changes they authorise, stamped out for each
//! backend by `tokens_impl!` (invoked from `store_impl!`). Every use spends the token
//! with one conditional `UPDATE` inside the transaction of its effect.

use portcullis_core::TokenKind;
use portcullis_core::store::StoredToken;
use sqlx::Row;

use crate::queries::{ts, user_id};

/// `SELECT`s the columns `token_from_row` reads (tokens `t` joined with their user
/// `u`), followed by `$rest`.
macro_rules! select_tokens {
    ($rest:literal) => {
        concat!(
            "SELECT t.kind, t.user_id, t.new_email, t.created_at, t.expires_at, t.used_at,
                    u.password_changed_at
             FROM tokens t JOIN users u ON u.id = t.user_id ",
            $rest
        )
    };
}

pub(crate) fn token_from_row<'r, R>(row: &'r R) -> Result<StoredToken, sqlx::Error>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let kind: String = row.try_get("kind")?;
    Ok(StoredToken {
        kind: TokenKind::parse(&kind)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown token kind {kind:?}").into()))?,
        user_id: user_id(&row.try_get::<String, _>("user_id")?)?,
        new_email: row.try_get("new_email")?,
        created_at: ts(row.try_get("created_at")?)?,
        expires_at: ts(row.try_get("expires_at")?)?,
        used_at: row.try_get::<Option<i64>, _>("used_at")?.map(ts).transpose()?,
        password_changed_at: ts(row.try_get("password_changed_at")?)?,
    })
}

/// Stores a `&NewToken` on `$conn`.
macro_rules! insert_token {
    ($conn:expr, $token:expr) => {{
        let t: &portcullis_core::store::NewToken = $token;
        sqlx::query(
            "INSERT INTO tokens (hash, kind, user_id, new_email, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&t.hash.as_bytes()[..])
        .bind(t.kind.as_str())
        .bind(t.user_id.to_string())
        .bind(t.new_email.as_deref())
        .bind(t.created_at.unix_timestamp())
        .bind(t.expires_at.unix_timestamp())
        .execute($conn)
        .await
        .map(|_| ())
    }};
}

/// Spends the token `$hash` of `$kind` at `$now` on `$conn` if it is unused,
/// unexpired and (unless its kind survives it) not older than the user's last
/// password change. Evaluates to `Result<Option<String /* user id */>, sqlx::Error>`.
macro_rules! spend_token {
    ($conn:expr, $hash:expr, $kind:expr, $now:expr) => {{
        let kind: portcullis_core::TokenKind = $kind;
        sqlx::query_scalar::<_, String>(
            "UPDATE tokens SET used_at = $2
             WHERE hash = $1 AND kind = $3 AND used_at IS NULL AND expires_at > $2
               AND ($4 OR created_at >= (SELECT password_changed_at FROM users WHERE users.id = tokens.user_id))
             RETURNING user_id",
        )
        .bind(&$hash.as_bytes()[..])
        .bind($now.unix_timestamp())
        .bind(kind.as_str())
        .bind(!kind.dies_with_password_change())
        .fetch_optional($conn)
        .await
    }};
}

/// Deletes the user's unused tokens whose kind dies with a password change.
macro_rules! delete_killable_tokens {
    ($conn:expr, $user:expr) => {
        sqlx::query("DELETE FROM tokens WHERE user_id = $1 AND used_at IS NULL AND kind <> $2")
            .bind($user)
            .bind(portcullis_core::TokenKind::RevertEmail.as_str())
            .execute($conn)
            .await
    };
}

/// Gives the user `$user` the new, verified address `$to` on `$conn` (a taken one is
/// a unique violation).
macro_rules! set_address {
    ($conn:expr, $user:expr, $to:expr, $now:expr) => {{
        let to: portcullis_core::store::NewAddress<'_> = $to;
        sqlx::query(
            "UPDATE users SET email = $1, email_canonical = $2, email_verified = $3, updated_at = $4
             WHERE id = $5",
        )
        .bind(to.email)
        .bind(to.email_canonical)
        .bind(true)
        .bind($now.unix_timestamp())
        .bind($user)
        .execute($conn)
        .await
        .map(|_| ())
    }};
}

/// Implements `TokenStore` for `$store`.
macro_rules! tokens_impl {
    ($store:ty, $begin_write:expr) => {
        #[async_trait::async_trait]
        impl portcullis_core::TokenStore for $store {
            async fn issue_token(
                &self,
                token: &portcullis_core::store::NewToken,
                mail: &portcullis_core::mail::NewMail,
            ) -> Result<(), portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                insert_token!(&mut *tx, token).map_err(|e| crate::error::map(e, "token"))?;
                insert_mail!(&mut *tx, mail).map_err(crate::error::other)?;
                tx.commit().await.map_err(crate::error::other)
            }

            async fn find_token(
                &self,
                hash: portcullis_core::TokenHash,
            ) -> Result<Option<portcullis_core::store::StoredToken>, portcullis_core::StoreError> {
                let row = sqlx::query(select_tokens!("WHERE t.hash = $1"))
                    .bind(&hash.as_bytes()[..])
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(crate::error::other)?;
                row.map(|r| crate::tokens::token_from_row(&r)).transpose().map_err(crate::error::other)
            }

            async fn list_tokens(
                &self,
                user: portcullis_core::UserId,
            ) -> Result<Vec<portcullis_core::store::StoredToken>, portcullis_core::StoreError> {
                let rows = sqlx::query(select_tokens!("WHERE t.user_id = $1 ORDER BY t.created_at DESC"))
                    .bind(user.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(crate::error::other)?;
                rows.iter()
                    .map(crate::tokens::token_from_row)
                    .collect::<Result<_, _>>()
                    .map_err(crate::error::other)
            }

            async fn reset_password(
                &self,
                hash: portcullis_core::TokenHash,
                password_hash: &str,
                now: time::OffsetDateTime,
                notice: &portcullis_core::mail::NewMail,
            ) -> Result<Option<portcullis_core::UserId>, portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                let kind = portcullis_core::TokenKind::ResetPassword;
                let Some(user) = spend_token!(&mut *tx, hash, kind, now).map_err(crate::error::other)? else {
                    return Ok(None);
                };
                sqlx::query(
                    "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2,
                         email_verified = $3
                     WHERE id = $4",
                )
                .bind(password_hash)
                .bind(now.unix_timestamp())
                .bind(true)
                .bind(&user)
                .execute(&mut *tx)
                .await
                .map_err(crate::error::other)?;
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(&user)
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::other)?;
                revoke_user_families!(&mut *tx, &user).map_err(crate::error::other)?;
                delete_killable_tokens!(&mut *tx, &user).map_err(crate::error::other)?;
                insert_mail!(&mut *tx, notice).map_err(crate::error::other)?;
                tx.commit().await.map_err(crate::error::other)?;
                crate::queries::user_id(&user).map(Some).map_err(crate::error::other)
            }

            async fn verify_email(
                &self,
                hash: portcullis_core::TokenHash,
                now: time::OffsetDateTime,
            ) -> Result<Option<portcullis_core::UserId>, portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                let kind = portcullis_core::TokenKind::VerifyEmail;
                let Some(user) = spend_token!(&mut *tx, hash, kind, now).map_err(crate::error::other)? else {
                    return Ok(None);
                };
                sqlx::query("UPDATE users SET email_verified = $1, updated_at = $2 WHERE id = $3")
                    .bind(true)
                    .bind(now.unix_timestamp())
                    .bind(&user)
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::other)?;
                tx.commit().await.map_err(crate::error::other)?;
                crate::queries::user_id(&user).map(Some).map_err(crate::error::other)
            }

            async fn change_email(
                &self,
                hash: portcullis_core::TokenHash,
                to: portcullis_core::store::NewAddress<'_>,
                now: time::OffsetDateTime,
                undo: &portcullis_core::store::NewToken,
                notice: &portcullis_core::mail::NewMail,
            ) -> Result<Option<portcullis_core::UserId>, portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                let kind = portcullis_core::TokenKind::ChangeEmail;
                let Some(user) = spend_token!(&mut *tx, hash, kind, now).map_err(crate::error::other)? else {
                    return Ok(None);
                };
                set_address!(&mut *tx, &user, to, now).map_err(|e| crate::error::map(e, "email"))?;
                sqlx::query("DELETE FROM tokens WHERE user_id = $1 AND used_at IS NULL AND kind IN ($2, $3)")
                    .bind(&user)
                    .bind(portcullis_core::TokenKind::VerifyEmail.as_str())
                    .bind(portcullis_core::TokenKind::ChangeEmail.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::other)?;
                insert_token!(&mut *tx, undo).map_err(|e| crate::error::map(e, "token"))?;
                insert_mail!(&mut *tx, notice).map_err(crate::error::other)?;
                tx.commit().await.map_err(crate::error::other)?;
                crate::queries::user_id(&user).map(Some).map_err(crate::error::other)
            }

            async fn revert_email(
                &self,
                hash: portcullis_core::TokenHash,
                to: portcullis_core::store::NewAddress<'_>,
                now: time::OffsetDateTime,
            ) -> Result<Option<portcullis_core::UserId>, portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                let kind = portcullis_core::TokenKind::RevertEmail;
                let Some(user) = spend_token!(&mut *tx, hash, kind, now).map_err(crate::error::other)? else {
                    return Ok(None);
                };
                set_address!(&mut *tx, &user, to, now).map_err(|e| crate::error::map(e, "email"))?;
                for sql in [
                    "DELETE FROM sessions WHERE user_id = $1",
                    "DELETE FROM token_families WHERE user_id = $1",
                    "DELETE FROM tokens WHERE user_id = $1 AND used_at IS NULL",
                ] {
                    sqlx::query(sql).bind(&user).execute(&mut *tx).await.map_err(crate::error::other)?;
                }
                tx.commit().await.map_err(crate::error::other)?;
                crate::queries::user_id(&user).map(Some).map_err(crate::error::other)
            }

            async fn purge_tokens(
                &self,
                before: time::OffsetDateTime,
            ) -> Result<u64, portcullis_core::StoreError> {
                sqlx::query("DELETE FROM tokens WHERE expires_at < $1")
                    .bind(before.unix_timestamp())
                    .execute(&self.pool)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(crate::error::other)
            }
        }
    };
}
