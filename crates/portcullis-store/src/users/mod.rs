//! Accounts: creating, finding, listing, disabling and deleting users, and their
//! passwords. Deleting a user removes every row that names it, in one transaction.
//! Disabling or deleting the last enabled administrator is refused in the same
//! transaction that would make the change ([`Users::is_last_admin`]).

use async_trait::async_trait;
use portcullis_core::accounts::user::Credentials;
use portcullis_core::mail::NewMail;
use portcullis_core::store::UserStore;
use portcullis_core::store::{Guarded, NewToken, NewUser};
use portcullis_core::{TokenHash, User, UserId};
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::{Conflict as _, R};
use crate::oauth::families::Families;
use crate::outbox::Outbox;
use crate::tokens::Tokens;
use crate::webhooks::Webhooks;
use portcullis_core::webhooks::WebhookEvent;

mod shared;

pub(crate) use shared::Users;

#[async_trait]
#[generic_sql]
impl<DB> UserStore for SqlStore<DB> {
    async fn create_user(
        &self,
        u: NewUser<'_>,
        verification: Option<(&NewToken, &NewMail)>,
        event: Option<&WebhookEvent>,
    ) -> R<User> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let user = Users::<DB>::insert(&mut tx, &u).await?;
            if let Some((token, mail)) = verification {
                Tokens::insert(&mut *tx, token).await?;
                Outbox::insert(&mut *tx, mail).await?;
            }
            if let Some(event) = event {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            tx.commit().await.conflict_on("email")?;
            Ok(user)
        })
        .await
    }

    async fn find_credentials_by_email(&self, email_canonical: &str) -> R<Option<Credentials>> {
        self.run(async {
            let row = sqlx::query(
                "SELECT u.id, u.email, u.email_verified, u.disabled, u.mfa_enabled, u.created_at, u.password_hash = '!invited' AS invited, u.password_hash,
                        (SELECT string_agg(m.group_name, ',') FROM group_members m WHERE m.user_id = u.id) AS groups
                 FROM users u WHERE u. email_canonical = $1",
            )
            .bind(email_canonical)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(Users::<DB>::credentials).transpose()
        })
        .await
    }

    async fn find_credentials_by_id(&self, id: UserId) -> R<Option<Credentials>> {
        self.run(async {
            let row = sqlx::query(
                "SELECT u.id, u.email, u.email_verified, u.disabled, u.mfa_enabled, u.created_at, u.password_hash = '!invited' AS invited, u.password_hash,
                        (SELECT string_agg(m.group_name, ',') FROM group_members m WHERE m.user_id = u.id) AS groups
                 FROM users u WHERE u. id = $1",
            )
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(Users::<DB>::credentials).transpose()
        })
        .await
    }

    async fn list_users(&self) -> R<Vec<User>> {
        self.run(async {
            let rows = sqlx::query(
                "SELECT u.id, u.email, u.email_verified, u.disabled, u.mfa_enabled, u.created_at, u.password_hash = '!invited' AS invited,
                        (SELECT string_agg(m.group_name, ',') FROM group_members m WHERE m.user_id = u.id) AS groups
                 FROM users u ORDER BY u.created_at, u.email_canonical",
            )
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(Users::<DB>::from_row).collect()
        })
        .await
    }

    /// Disabling also ends the user's sessions and refresh-token families, unless
    /// it would leave no enabled administrator.
    async fn set_user_disabled(
        &self,
        id: UserId,
        disabled: bool,
        now: OffsetDateTime,
        event: Option<&WebhookEvent>,
    ) -> R<Guarded> {
        self.run(async {
            let id = id.to_string();
            let mut tx = DB::begin_write(&self.pool).await?;
            if disabled && Users::<DB>::is_last_admin(&mut *tx, &id).await? {
                return Ok(Guarded::LastAdmin);
            }
            let updated = sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
                .bind(disabled)
                .bind(now.unix_timestamp())
                .bind(&id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if disabled {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(&id).execute(&mut *tx).await?;
                Families::revoke_all_of(&mut *tx, &id).await?;
            }
            if updated == 1
                && let Some(event) = event
            {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            tx.commit().await?;
            Ok(if updated == 1 { Guarded::Changed } else { Guarded::Unchanged })
        })
        .await
    }

    async fn set_email_verified(
        &self,
        id: UserId,
        verified: bool,
        now: OffsetDateTime,
        event: Option<&WebhookEvent>,
    ) -> R<bool> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let found = Users::<DB>::set_verified(&mut *tx, &id.to_string(), verified, now).await?;
            if found && let Some(event) = event {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            tx.commit().await?;
            Ok(found)
        })
        .await
    }

    async fn delete_user(
        &self,
        id: UserId,
        notice: Option<&NewMail>,
        keep_an_admin: bool,
        event: Option<&WebhookEvent>,
    ) -> R<Guarded> {
        self.run(async {
            let id = id.to_string();
            let mut tx = DB::begin_write(&self.pool).await?;
            if keep_an_admin && Users::<DB>::is_last_admin(&mut *tx, &id).await? {
                return Ok(Guarded::LastAdmin);
            }
            for sql in [
                "DELETE FROM sessions WHERE user_id = $1",
                "DELETE FROM token_families WHERE user_id = $1",
                "DELETE FROM oauth_codes WHERE user_id = $1",
                "DELETE FROM oauth_consents WHERE user_id = $1",
                "DELETE FROM events WHERE user_id = $1",
                "DELETE FROM tokens WHERE user_id = $1",
                "DELETE FROM outbox WHERE user_id = $1",
            ] {
                sqlx::query(sql).bind(&id).execute(&mut *tx).await?;
            }
            let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 1
                && let Some(notice) = notice
            {
                Outbox::insert(&mut *tx, notice).await?;
            }
            if deleted == 1
                && let Some(event) = event
            {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            tx.commit().await?;
            Ok(if deleted == 1 { Guarded::Changed } else { Guarded::Unchanged })
        })
        .await
    }

    async fn update_password_hash(&self, id: UserId, password_hash: &str) -> R<()> {
        self.run(async {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(password_hash)
                .bind(id.to_string())
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    /// Ends every other session, pending token and refresh-token family of the user.
    async fn change_password(
        &self,
        id: UserId,
        password_hash: &str,
        now: OffsetDateTime,
        keep: Option<TokenHash>,
        notice: Option<&NewMail>,
        event: Option<&WebhookEvent>,
    ) -> R<()> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let updated = sqlx::query(
                "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2 WHERE id = $3",
            )
            .bind(password_hash)
            .bind(now.unix_timestamp())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // An all-zero hash never matches a real session (SHA-256 preimage).
            let keep = keep.map_or([0u8; 32], |k| *k.as_bytes());
            sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
                .bind(id.to_string())
                .bind(&keep[..])
                .execute(&mut *tx)
                .await?;
            Tokens::delete_killable(&mut *tx, &id.to_string()).await?;
            Families::revoke_all_of(&mut *tx, &id.to_string()).await?;
            if let Some(notice) = notice {
                Outbox::insert(&mut *tx, notice).await?;
            }
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
