//! What other areas' transactions share with accounts: reading a user row,
//! inserting a user, recording a sign-in, replacing a password hash, marking an
//! address verified, and the last-administrator check.

use portcullis_core::User;
use portcullis_core::accounts::user::{Credentials, INVITED_PASSWORD_HASH};
use portcullis_core::store::{NewUser, Rehash};
use sqlx::Row as _;
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::backend::RowsAffected as _;
use crate::error::{Conflict as _, Result};
use crate::rows::{ts, user_id};

/// The SQL of accounts, on `pool`.
pub(crate) struct Users<DB>(std::marker::PhantomData<DB>);

#[generic_sql]
impl<DB> Users<DB> {
    /// Reads the user columns (`id, email, email_verified, disabled, mfa_enabled,
    /// created_at`, [`INVITED`], and `groups`: the user's group names joined by
    /// commas, from the subquery [`GROUPS`]) of a row.
    pub(crate) fn from_row(row: &DB::Row) -> Result<User> {
        Ok(User {
            id: user_id(&row.try_get::<String, _>("id")?)?,
            email: row.try_get("email")?,
            email_verified: row.try_get("email_verified")?,
            disabled: row.try_get("disabled")?,
            mfa_enabled: row.try_get("mfa_enabled")?,
            created_at: ts(row.try_get("created_at")?)?,
            groups: split_groups(row.try_get("groups")?),
            invited: row.try_get("invited")?,
        })
    }

    pub(super) fn credentials(row: &DB::Row) -> Result<Credentials> {
        Ok(Credentials { user: Self::from_row(row)?, password_hash: row.try_get("password_hash")? })
    }

    /// Records a successful sign-in of `user` at `at` (`last_sign_in_at`), inside
    /// the transaction that stores what the sign-in gave (a session, a token family).
    pub(crate) async fn record_sign_in(
        conn: &mut DB::Connection,
        user: &str,
        at: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query("UPDATE users SET last_sign_in_at = $1 WHERE id = $2")
            .bind(at.unix_timestamp())
            .bind(user)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Inserts a user and its memberships, inside the caller's transaction; a
    /// taken address is `Conflict("email")`.
    pub(crate) async fn insert(conn: &mut DB::Connection, u: &NewUser<'_>) -> Result<User> {
        let at = u.created_at.unix_timestamp();
        sqlx::query(
            "INSERT INTO users (id, email, email_canonical, password_hash, email_verified,
                 created_at, updated_at, password_changed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $6)",
        )
        .bind(u.id.to_string())
        .bind(u.email)
        .bind(u.email_canonical)
        .bind(u.password_hash)
        .bind(u.email_verified)
        .bind(at)
        .execute(&mut *conn)
        .await
        .conflict_on("email")?;
        for group in u.groups {
            sqlx::query("INSERT INTO group_members (group_name, user_id, added_at) VALUES ($1, $2, $3)")
                .bind(group.as_str())
                .bind(u.id.to_string())
                .bind(at)
                .execute(&mut *conn)
                .await?;
        }
        Ok(User {
            id: u.id,
            email: u.email.to_owned(),
            email_verified: u.email_verified,
            disabled: false,
            mfa_enabled: false,
            created_at: ts(at)?,
            groups: sorted(u.groups.iter().map(|g| g.as_str().to_owned()).collect()),
            invited: u.password_hash == INVITED_PASSWORD_HASH,
        })
    }

    /// Replaces a user's password hash at a sign-in, inside the transaction that
    /// records it, unless the stored hash is no longer the one the password was
    /// checked against (a password change won meanwhile: it stays).
    pub(crate) async fn replace_hash(conn: &mut DB::Connection, rehash: &Rehash) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
            .bind(&rehash.new)
            .bind(rehash.user.to_string())
            .bind(&rehash.old)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Marks the address of `user` verified or not, on `conn` (a pool or the
    /// caller's transaction); whether the user exists.
    pub(crate) async fn set_verified<'c, E>(
        conn: E,
        user: &str,
        verified: bool,
        now: OffsetDateTime,
    ) -> Result<bool>
    where
        E: sqlx::Executor<'c, Database = DB>,
    {
        let done = sqlx::query("UPDATE users SET email_verified = $1, updated_at = $2 WHERE id = $3")
            .bind(verified)
            .bind(now.unix_timestamp())
            .bind(user)
            .execute(conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether taking `user` away (disabled, deleted, out of `admin`) would leave
    /// no enabled administrator: `user` is one, and the only one. Called first in
    /// the change's write transaction; on PostgreSQL it takes `LOCK_ADMINS`, so
    /// the count it reads cannot change before the transaction ends, except by
    /// changes that add administrators.
    pub(crate) async fn is_last_admin(conn: &mut DB::Connection, user: &str) -> Result<bool> {
        if let Some(lock) = DB::LOCK_ADMINS {
            sqlx::query(lock).execute(&mut *conn).await?;
        }
        let row = sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM group_members m JOIN users u ON u.id = m.user_id
                            WHERE m.group_name = 'admin' AND m.user_id = $1 AND NOT u.disabled) AS target,
                    EXISTS (SELECT 1 FROM group_members m JOIN users u ON u.id = m.user_id
                            WHERE m.group_name = 'admin' AND m.user_id <> $1 AND NOT u.disabled) AS others",
        )
        .bind(user)
        .fetch_one(&mut *conn)
        .await?;
        Ok(row.try_get::<bool, _>("target")? && !row.try_get::<bool, _>("others")?)
    }
}

/// The column that says whether a user (`u`) is invited and has not accepted yet:
/// the stored hash is the marker [`INVITED_PASSWORD_HASH`] (no column of its own,
/// so no migration). Every query that returns a user selects it.
#[cfg(doc)]
pub(crate) const INVITED: &str = "u.password_hash = '!invited' AS invited";

/// The subquery that reads a user's groups (the user is `u`), for every query that
/// returns a user: `string_agg` (PostgreSQL, and SQLite since 3.44) joins the names
/// with commas, which no group name contains.
#[cfg(doc)]
pub(crate) const GROUPS: &str =
    "(SELECT string_agg(m.group_name, ',') FROM group_members m WHERE m.user_id = u.id) AS groups";

/// The names of a `groups` column, sorted by byte order (SPEC §7).
pub(crate) fn split_groups(joined: Option<String>) -> Vec<String> {
    sorted(
        joined
            .map(|j| j.split(',').filter(|g| !g.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default(),
    )
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invited_column_spells_the_core_marker() {
        // The SQL of every user query writes the marker as a literal.
        assert_eq!(INVITED_PASSWORD_HASH, "!invited");
    }
}
