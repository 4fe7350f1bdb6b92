//! Sessions: rows we own, found by the SHA-256 of their cookie token.

use portcullis_core::sessions::Session;
use portcullis_core::store::{NewSession, SessionWithUser};
use portcullis_core::{TokenHash, UserId};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row as _, Type};
use time::{Duration, OffsetDateTime};

use crate::backend::{Backend, RowsAffected as _};
use crate::error::{Conflict as _, Result};
use crate::oauth::families::Families;
use crate::rows::{ts, user_id, uuid};
use crate::users::Users;

/// The SQL of sessions, on `pool`.
pub(crate) struct Sessions<'a, DB: sqlx::Database>(pub &'a Pool<DB>);

impl<DB> Sessions<'_, DB>
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
    /// Reads the session columns of a row.
    fn from_row(row: &DB::Row) -> Result<Session> {
        Ok(Session {
            id: uuid(&row.try_get::<String, _>("public_id")?)?,
            user_id: user_id(&row.try_get::<String, _>("user_id")?)?,
            created_at: ts(row.try_get("created_at")?)?,
            last_seen_at: ts(row.try_get("last_seen_at")?)?,
            expires_at: ts(row.try_get("expires_at")?)?,
            idle_timeout: Duration::seconds(row.try_get("idle_timeout_secs")?),
            remember: row.try_get("remember")?,
            authenticated_at: ts(row.try_get("authenticated_at")?)?,
            ip: row.try_get("ip")?,
            user_agent: row.try_get("user_agent")?,
            mfa_pending: row.try_get("mfa_pending")?,
        })
    }

    pub(crate) async fn create(&self, new: NewSession<'_>) -> Result<()> {
        let s = new.session;
        sqlx::query(
            "INSERT INTO sessions (token_hash, public_id, user_id, created_at, last_seen_at, expires_at,
                 idle_timeout_secs, remember, authenticated_at, ip, user_agent, mfa_pending)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&new.token_hash.as_bytes()[..])
        .bind(s.id.to_string())
        .bind(s.user_id.to_string())
        .bind(s.created_at.unix_timestamp())
        .bind(s.last_seen_at.unix_timestamp())
        .bind(s.expires_at.unix_timestamp())
        .bind(s.idle_timeout.whole_seconds())
        .bind(s.remember)
        .bind(s.authenticated_at.unix_timestamp())
        .bind(s.ip.as_deref())
        .bind(s.user_agent.as_deref())
        .bind(s.mfa_pending)
        .execute(self.0)
        .await
        .conflict_on("session")?;
        Ok(())
    }

    /// The session and its user, unless the user is disabled.
    pub(crate) async fn find(&self, token_hash: TokenHash) -> Result<Option<SessionWithUser>> {
        let row = sqlx::query(
            "SELECT s.public_id, s.user_id, s.created_at AS s_created_at, s.last_seen_at, s.expires_at,
                    s.idle_timeout_secs, s.remember, s.authenticated_at, s.ip, s.user_agent, s.mfa_pending,
                    u.id, u.email, u.email_verified, u.is_admin, u.disabled, u.mfa_enabled, u.created_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND NOT u.disabled",
        )
        .bind(&token_hash.as_bytes()[..])
        .fetch_optional(self.0)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = Users::from_row(&row)?;
        let mut session = Self::from_row(&row)?;
        session.created_at = ts(row.try_get("s_created_at")?)?;
        Ok(Some(SessionWithUser { session, user }))
    }

    pub(crate) async fn touch(&self, token_hash: TokenHash, now: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1")
            .bind(now.unix_timestamp())
            .bind(&token_hash.as_bytes()[..])
            .execute(self.0)
            .await?;
        Ok(())
    }

    pub(crate) async fn delete(&self, token_hash: TokenHash) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(&token_hash.as_bytes()[..])
            .execute(self.0)
            .await?;
        Ok(())
    }

    /// Signs the user out everywhere: sessions and refresh-token families.
    pub(crate) async fn delete_all_of(&self, user: UserId) -> Result<u64> {
        let mut tx = DB::begin_write(self.0).await?;
        let n = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        Families::revoke_all_of(&mut *tx, &user.to_string()).await?;
        tx.commit().await?;
        Ok(n)
    }

    pub(crate) async fn delete_by_id(&self, user: UserId, id: uuid::Uuid) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE public_id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(self.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The user's live, fully signed-in sessions, newest first.
    pub(crate) async fn list(&self, user: UserId, now: OffsetDateTime) -> Result<Vec<Session>> {
        let rows = sqlx::query(
            "SELECT public_id, user_id, created_at, last_seen_at, expires_at, idle_timeout_secs, remember,
                    authenticated_at, ip, user_agent, mfa_pending
             FROM sessions
             WHERE user_id = $1 AND expires_at > $2 AND last_seen_at + idle_timeout_secs >= $2
               AND NOT mfa_pending
             ORDER BY created_at DESC, public_id",
        )
        .bind(user.to_string())
        .bind(now.unix_timestamp())
        .fetch_all(self.0)
        .await?;
        rows.iter().map(Self::from_row).collect()
    }

    pub(crate) async fn count_active(&self, now: OffsetDateTime) -> Result<i64> {
        let n = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sessions WHERE expires_at > $1 AND last_seen_at + idle_timeout_secs >= $1",
        )
        .bind(now.unix_timestamp())
        .fetch_one(self.0)
        .await?;
        Ok(n)
    }

    pub(crate) async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at + idle_timeout_secs < $1",
        )
        .bind(now.unix_timestamp())
        .execute(self.0)
        .await?;
        Ok(done.rows_affected())
    }
}
