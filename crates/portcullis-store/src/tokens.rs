//! Emailed tokens and the changes they authorise. Every use spends the token with
//! one conditional `UPDATE` inside the transaction of its effect, so a token works
//! once however many nodes race for it.

use async_trait::async_trait;
use portcullis_core::accounts::user::INVITED_PASSWORD_HASH;
use portcullis_core::mail::NewMail;
use portcullis_core::store::TokenStore;
use portcullis_core::store::{NewAddress, NewToken, StoredToken};
use portcullis_core::{TokenHash, TokenKind, UserId};
use sqlx::Row as _;
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::{Conflict as _, R, Result, decode};
use crate::oauth::families::Families;
use crate::outbox::Outbox;
use crate::rows::{ts, user_id};
use crate::webhooks::Webhooks;
use portcullis_core::webhooks::WebhookEvent;

/// The SQL of emailed tokens, on `pool`.
pub(crate) struct Tokens<DB>(std::marker::PhantomData<DB>);

#[generic_sql]
impl<DB> Tokens<DB> {
    /// Reads a row of tokens `t` joined with their user `u` (for `password_changed_at`).
    fn from_row(row: &DB::Row) -> Result<StoredToken> {
        let kind: String = row.try_get("kind")?;
        Ok(StoredToken {
            kind: TokenKind::parse(&kind).ok_or_else(|| decode(format!("unknown token kind {kind:?}")))?,
            user_id: user_id(&row.try_get::<String, _>("user_id")?)?,
            new_email: row.try_get("new_email")?,
            created_at: ts(row.try_get("created_at")?)?,
            expires_at: ts(row.try_get("expires_at")?)?,
            used_at: row.try_get::<Option<i64>, _>("used_at")?.map(ts).transpose()?,
            password_changed_at: ts(row.try_get("password_changed_at")?)?,
        })
    }

    /// Stores a token in the transaction of the change that issues it.
    pub(crate) async fn insert(conn: &mut DB::Connection, t: &NewToken) -> Result<()> {
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
        .execute(conn)
        .await
        .conflict_on("token")?;
        Ok(())
    }

    /// Spends the token if it is unused, unexpired and (unless its kind survives
    /// it) not older than the user's last password change; returns its user's id.
    async fn spend(
        conn: &mut DB::Connection,
        hash: TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<Option<String>> {
        let user = sqlx::query_scalar(
            "UPDATE tokens SET used_at = $2
             WHERE hash = $1 AND kind = $3 AND used_at IS NULL AND expires_at > $2
               AND ($4 OR created_at >= (SELECT password_changed_at FROM users WHERE users.id = tokens.user_id))
             RETURNING user_id",
        )
        .bind(&hash.as_bytes()[..])
        .bind(now.unix_timestamp())
        .bind(kind.as_str())
        .bind(!kind.dies_with_password_change())
        .fetch_optional(conn)
        .await?;
        Ok(user)
    }

    /// Deletes the user's unused tokens whose kind dies with a password change.
    pub(crate) async fn delete_killable(conn: &mut DB::Connection, user: &str) -> Result<()> {
        sqlx::query("DELETE FROM tokens WHERE user_id = $1 AND used_at IS NULL AND kind <> $2")
            .bind(user)
            .bind(TokenKind::RevertEmail.as_str())
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Gives the user the new, verified address `to` (a taken one is a conflict).
    async fn set_address(
        conn: &mut DB::Connection,
        user: &str,
        to: NewAddress<'_>,
        now: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE users SET email = $1, email_canonical = $2, email_verified = $3, updated_at = $4
             WHERE id = $5",
        )
        .bind(to.email)
        .bind(to.email_canonical)
        .bind(true)
        .bind(now.unix_timestamp())
        .bind(user)
        .execute(conn)
        .await
        .conflict_on("email")?;
        Ok(())
    }
}

#[async_trait]
#[generic_sql]
impl<DB> TokenStore for SqlStore<DB> {
    async fn issue_token(&self, token: &NewToken, mail: &NewMail) -> R<()> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            Tokens::<DB>::insert(&mut tx, token).await?;
            Outbox::insert(&mut *tx, mail).await?;
            Ok(tx.commit().await?)
        })
        .await
    }

    async fn replace_token(&self, token: &NewToken, mail: &NewMail) -> R<()> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            sqlx::query("DELETE FROM tokens WHERE user_id = $1 AND kind = $2 AND used_at IS NULL")
                .bind(token.user_id.to_string())
                .bind(token.kind.as_str())
                .execute(&mut *tx)
                .await?;
            Tokens::<DB>::insert(&mut tx, token).await?;
            Outbox::insert(&mut *tx, mail).await?;
            Ok(tx.commit().await?)
        })
        .await
    }

    async fn find_token(&self, hash: TokenHash) -> R<Option<StoredToken>> {
        self.run(async {
            let row = sqlx::query(
                "SELECT t.kind, t.user_id, t.new_email, t.created_at, t.expires_at, t.used_at, u.password_changed_at
                 FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1",
            )
            .bind(&hash.as_bytes()[..])
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(Tokens::<DB>::from_row).transpose()
        })
        .await
    }

    async fn list_tokens(&self, user: UserId) -> R<Vec<StoredToken>> {
        self.run(async {
            let rows = sqlx::query(
                "SELECT t.kind, t.user_id, t.new_email, t.created_at, t.expires_at, t.used_at, u.password_changed_at
                 FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.user_id = $1 ORDER BY t.created_at DESC",
            )
            .bind(user.to_string())
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(Tokens::<DB>::from_row).collect()
        })
        .await
    }

    /// Sets a new password and ends everything the old one opened.
    async fn reset_password(
        &self,
        hash: TokenHash,
        password_hash: &str,
        now: OffsetDateTime,
        notice: &NewMail,
        event: Option<&WebhookEvent>,
    ) -> R<Option<UserId>> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let Some(user) = Tokens::<DB>::spend(&mut tx, hash, TokenKind::ResetPassword, now).await? else {
                return Ok(None);
            };
            sqlx::query(
                "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2, email_verified = $3
                 WHERE id = $4",
            )
            .bind(password_hash)
            .bind(now.unix_timestamp())
            .bind(true)
            .bind(&user)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(&user).execute(&mut *tx).await?;
            Families::revoke_all_of(&mut *tx, &user).await?;
            Tokens::<DB>::delete_killable(&mut tx, &user).await?;
            Outbox::insert(&mut *tx, notice).await?;
            if let Some(event) = event {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            tx.commit().await?;
            Ok(Some(user_id(&user)?))
        })
        .await
    }

    /// Sets the first password of a user who is still invited; nothing changes
    /// (the spend is rolled back) for one who is not.
    async fn accept_invitation(
        &self,
        hash: TokenHash,
        password_hash: &str,
        now: OffsetDateTime,
        event: Option<&WebhookEvent>,
    ) -> R<Option<UserId>> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let Some(user) = Tokens::<DB>::spend(&mut tx, hash, TokenKind::Invite, now).await? else {
                return Ok(None);
            };
            let updated = sqlx::query(
                "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2, email_verified = $3
                 WHERE id = $4 AND password_hash = $5",
            )
            .bind(password_hash)
            .bind(now.unix_timestamp())
            .bind(true)
            .bind(&user)
            .bind(INVITED_PASSWORD_HASH)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated != 1 {
                // No longer invited (an operator set a password): the link stays unspent.
                tx.rollback().await?;
                return Ok(None);
            }
            Tokens::<DB>::delete_killable(&mut tx, &user).await?;
            if let Some(event) = event {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            tx.commit().await?;
            Ok(Some(user_id(&user)?))
        })
        .await
    }

    async fn verify_email(
        &self,
        hash: TokenHash,
        now: OffsetDateTime,
        event: Option<&WebhookEvent>,
    ) -> R<Option<UserId>> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let Some(user) = Tokens::<DB>::spend(&mut tx, hash, TokenKind::VerifyEmail, now).await? else {
                return Ok(None);
            };
            crate::users::Users::<DB>::set_verified(&mut *tx, &user, true, now).await?;
            if let Some(event) = event {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            tx.commit().await?;
            Ok(Some(user_id(&user)?))
        })
        .await
    }

    /// Moves the user to the new address and stores the undo token sent to the old one.
    async fn change_email(
        &self,
        hash: TokenHash,
        to: NewAddress<'_>,
        now: OffsetDateTime,
        undo: &NewToken,
        notice: &NewMail,
        event: Option<&WebhookEvent>,
    ) -> R<Option<UserId>> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let Some(user) = Tokens::<DB>::spend(&mut tx, hash, TokenKind::ChangeEmail, now).await? else {
                return Ok(None);
            };
            Tokens::<DB>::set_address(&mut tx, &user, to, now).await?;
            sqlx::query("DELETE FROM tokens WHERE user_id = $1 AND used_at IS NULL AND kind IN ($2, $3)")
                .bind(&user)
                .bind(TokenKind::VerifyEmail.as_str())
                .bind(TokenKind::ChangeEmail.as_str())
                .execute(&mut *tx)
                .await?;
            Tokens::<DB>::insert(&mut tx, undo).await?;
            Outbox::insert(&mut *tx, notice).await?;
            if let Some(event) = event {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            tx.commit().await?;
            Ok(Some(user_id(&user)?))
        })
        .await
    }

    /// Restores the old address and ends everything the account had open.
    async fn revert_email(
        &self,
        hash: TokenHash,
        to: NewAddress<'_>,
        now: OffsetDateTime,
        event: Option<&WebhookEvent>,
    ) -> R<Option<UserId>> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let Some(user) = Tokens::<DB>::spend(&mut tx, hash, TokenKind::RevertEmail, now).await? else {
                return Ok(None);
            };
            Tokens::<DB>::set_address(&mut tx, &user, to, now).await?;
            for sql in [
                "DELETE FROM sessions WHERE user_id = $1",
                "DELETE FROM token_families WHERE user_id = $1",
                "DELETE FROM tokens WHERE user_id = $1 AND used_at IS NULL",
            ] {
                sqlx::query(sql).bind(&user).execute(&mut *tx).await?;
            }
            if let Some(event) = event {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            tx.commit().await?;
            Ok(Some(user_id(&user)?))
        })
        .await
    }

    async fn purge_tokens(&self, before: OffsetDateTime) -> R<u64> {
        self.run(async {
            let done = sqlx::query("DELETE FROM tokens WHERE expires_at < $1")
                .bind(before.unix_timestamp())
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        })
        .await
    }
}
