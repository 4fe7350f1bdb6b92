//! Refresh-token families: each login through a client starts one, each refresh
//! spends the newest token and adds the next. A token presented after it was spent
//! revokes its whole family (reuse detection).

use async_trait::async_trait;
use portcullis_core::oauth::{NewRefresh, Rotation, TokenFamily};
use portcullis_core::store::FamilyStore;
use portcullis_core::store::{FamilyWithUser, RefreshTokenState, Rehash};
use portcullis_core::{TokenHash, UserId};
use sqlx::Row as _;
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::{Conflict as _, R, Result};
use crate::rows::{ts, user_id, uuid};
use crate::users::Users;

/// The SQL of token families and refresh tokens, on `pool`.
/// A user's token families, newest first (`$1` the user). Also read by the account page (`account_page.rs`).
pub(crate) const LIST_SQL: &str = "SELECT f.id AS family_id, f.user_id AS family_user_id, f.client_id AS family_client_id,
                        f.scope AS family_scope, f.auth_time AS family_auth_time, f.two_factor AS family_two_factor, f.created_at AS family_created_at
                 FROM token_families f WHERE f.user_id = $1 ORDER BY f.created_at DESC";

pub(crate) struct Families<DB>(std::marker::PhantomData<DB>);

#[generic_sql]
impl<DB> Families<DB> {
    /// Reads the `family_`-prefixed columns (selected from `token_families f` as
    /// `f.id AS family_id, f.user_id AS family_user_id, ...`).
    pub(crate) fn from_row(row: &DB::Row) -> Result<TokenFamily> {
        Ok(TokenFamily {
            id: uuid(&row.try_get::<String, _>("family_id")?)?,
            user_id: user_id(&row.try_get::<String, _>("family_user_id")?)?,
            client_id: row.try_get("family_client_id")?,
            scope: row.try_get("family_scope")?,
            auth_time: ts(row.try_get("family_auth_time")?)?,
            two_factor: row.try_get("family_two_factor")?,
            created_at: ts(row.try_get("family_created_at")?)?,
        })
    }

    /// Revokes every token family of `user`: a logout everywhere, a password change
    /// or reset, a disabled account.
    pub(crate) async fn revoke_all_of(conn: &mut DB::Connection, user: &str) -> Result<()> {
        sqlx::query("DELETE FROM token_families WHERE user_id = $1").bind(user).execute(conn).await?;
        Ok(())
    }

    /// Stores the family's next refresh token and moves the family's expiry to it.
    async fn insert_refresh(conn: &mut DB::Connection, family: &str, n: &NewRefresh) -> Result<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&n.hash.as_bytes()[..])
        .bind(family)
        .bind(n.created_at.unix_timestamp())
        .bind(n.expires_at.unix_timestamp())
        .execute(&mut *conn)
        .await?;
        sqlx::query("UPDATE token_families SET expires_at = $1 WHERE id = $2")
            .bind(n.expires_at.unix_timestamp())
            .bind(family)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

#[async_trait]
#[generic_sql]
impl<DB> FamilyStore for SqlStore<DB> {
    async fn create_family(
        &self,
        f: &TokenFamily,
        first: Option<&NewRefresh>,
        rehash: Option<&Rehash>,
    ) -> R<()> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            sqlx::query(
                "INSERT INTO token_families (id, user_id, client_id, scope, auth_time, created_at, expires_at,
                     two_factor)
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
            )
            .bind(f.id.to_string())
            .bind(f.user_id.to_string())
            .bind(f.client_id.as_deref())
            .bind(&f.scope)
            .bind(f.auth_time.unix_timestamp())
            .bind(f.created_at.unix_timestamp())
            .bind(f.two_factor)
            .execute(&mut *tx)
            .await
            .conflict_on("family")?;
            if let Some(first) = first {
                Families::<DB>::insert_refresh(&mut tx, &f.id.to_string(), first).await?;
            }
            if f.client_id.is_none() {
                // `/api/v1/tokens`: the family is a sign-in of its own.
                Users::<DB>::record_sign_in(&mut *tx, &f.user_id.to_string(), f.auth_time).await?;
            }
            if let Some(rehash) = rehash {
                Users::<DB>::replace_hash(&mut *tx, rehash).await?;
            }
            Ok(tx.commit().await?)
        })
        .await
    }

    /// Spends the refresh token `hash` of `client` and stores `next` in its family.
    async fn rotate_refresh(
        &self,
        hash: TokenHash,
        client: Option<&str>,
        next: &NewRefresh,
        now: OffsetDateTime,
    ) -> R<Rotation> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let row = sqlx::query(
                "SELECT r.expires_at AS token_expires_at, r.used_at AS token_used_at,
                        f.id AS family_id, f.user_id AS family_user_id, f.client_id AS family_client_id,
                        f.scope AS family_scope, f.auth_time AS family_auth_time, f.two_factor AS family_two_factor, f.created_at AS family_created_at,
                        u.id, u.email, u.email_verified, u.disabled, u.mfa_enabled, u.created_at, u.password_hash = '!invited' AS invited,
                        (SELECT string_agg(m.group_name, ',') FROM group_members m WHERE m.user_id = u.id) AS groups
                 FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id
                 JOIN users u ON u.id = f.user_id
                 WHERE r.hash = $1",
            )
            .bind(&hash.as_bytes()[..])
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { return Ok(Rotation::Invalid) };
            let family = Families::<DB>::from_row(&row)?;
            let user = Users::<DB>::from_row(&row)?;
            let expires_at: i64 = row.try_get("token_expires_at")?;
            let used_at: Option<i64> = row.try_get("token_used_at")?;
            if family.client_id.as_deref() != client || user.disabled {
                return Ok(Rotation::Invalid);
            }
            let family_id = family.id.to_string();
            let spent_now = used_at.is_none()
                && sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE hash = $1 AND used_at IS NULL")
                    .bind(&hash.as_bytes()[..])
                    .bind(now.unix_timestamp())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
            if !spent_now {
                // Presented again after it was spent: whoever holds the family's newest
                // token may be a thief, so the whole family goes.
                sqlx::query("DELETE FROM token_families WHERE id = $1")
                    .bind(&family_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                return Ok(Rotation::Reused { user_id: family.user_id, client_id: family.client_id });
            }
            if expires_at <= now.unix_timestamp() {
                return Ok(Rotation::Invalid);
            }
            Families::<DB>::insert_refresh(&mut tx, &family_id, next).await?;
            tx.commit().await?;
            Ok(Rotation::Rotated(family, user))
        })
        .await
    }

    /// The family of a refresh token, when that token expires, and whether it is spent.
    async fn find_refresh_family(&self, hash: TokenHash) -> R<Option<RefreshTokenState>> {
        self.run(async {
            let row = sqlx::query(
                "SELECT r.expires_at AS token_expires_at, r.used_at AS token_used_at,
                        f.id AS family_id, f.user_id AS family_user_id, f.client_id AS family_client_id,
                        f.scope AS family_scope, f.auth_time AS family_auth_time, f.two_factor AS family_two_factor, f.created_at AS family_created_at
                 FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id WHERE r.hash = $1",
            )
            .bind(&hash.as_bytes()[..])
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let used_at: Option<i64> = row.try_get("token_used_at")?;
            Ok(Some(RefreshTokenState {
                family: Families::<DB>::from_row(&row)?,
                expires_at: ts(row.try_get("token_expires_at")?)?,
                spent: used_at.is_some(),
            }))
        })
        .await
    }

    /// A family and its user, unless the user is disabled.
    async fn find_family(&self, id: uuid::Uuid) -> R<Option<FamilyWithUser>> {
        self.run(async {
            let row = sqlx::query(
                "SELECT f.id AS family_id, f.user_id AS family_user_id, f.client_id AS family_client_id,
                        f.scope AS family_scope, f.auth_time AS family_auth_time, f.two_factor AS family_two_factor, f.created_at AS family_created_at,
                        u.id, u.email, u.email_verified, u.disabled, u.mfa_enabled, u.created_at, u.password_hash = '!invited' AS invited,
                        (SELECT string_agg(m.group_name, ',') FROM group_members m WHERE m.user_id = u.id) AS groups
                 FROM token_families f JOIN users u ON u.id = f.user_id
                 WHERE f.id = $1 AND u.disabled = $2",
            )
            .bind(id.to_string())
            .bind(false)
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(FamilyWithUser { family: Families::<DB>::from_row(&row)?, user: Users::<DB>::from_row(&row)? }))
        })
        .await
    }

    async fn revoke_family(&self, id: uuid::Uuid) -> R<bool> {
        self.run(async {
            let done = sqlx::query("DELETE FROM token_families WHERE id = $1")
                .bind(id.to_string())
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn list_families(&self, user: UserId) -> R<Vec<TokenFamily>> {
        self.run(async {
            let rows = sqlx::query(LIST_SQL).bind(user.to_string()).fetch_all(&self.pool).await?;
            rows.iter().map(Families::<DB>::from_row).collect()
        })
        .await
    }

    /// Deletes expired codes and families (their refresh tokens go with them).
    async fn purge_oauth(&self, before: OffsetDateTime) -> R<u64> {
        self.run(async {
            let mut n = 0;
            for sql in [
                "DELETE FROM oauth_codes WHERE expires_at < $1",
                "DELETE FROM token_families WHERE expires_at < $1",
            ] {
                n +=
                    sqlx::query(sql).bind(before.unix_timestamp()).execute(&self.pool).await?.rows_affected();
            }
            Ok(n)
        })
        .await
    }
}
