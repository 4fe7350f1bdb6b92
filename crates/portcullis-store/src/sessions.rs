//! Sessions: rows we own, found by the SHA-256 of their cookie token.

use async_trait::async_trait;
use portcullis_core::sessions::Session;
use portcullis_core::store::SessionStore;
use portcullis_core::store::{NewSession, SessionWithUser};
use portcullis_core::{TokenHash, UserId};
use sqlx::Row as _;
use time::{Duration, OffsetDateTime};

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::{Conflict as _, R, Result};
use crate::oauth::families::Families;
use crate::rows::{ts, user_id, uuid};
use crate::users::Users;
use crate::webhooks::Webhooks;
use portcullis_core::webhooks::WebhookEvent;

/// The SQL of sessions, on `pool`.
/// A user's live, fully signed-in sessions, newest first (`$1` the user, `$2` now). Also read by the account page (`account_page.rs`).
pub(crate) const LIST_SQL: &str =
    "SELECT public_id, user_id, created_at, last_seen_at, expires_at, idle_timeout_secs, remember,
                        authenticated_at, ip, user_agent, mfa_pending, two_factor
                 FROM sessions
                 WHERE user_id = $1 AND expires_at > $2 AND last_seen_at + idle_timeout_secs >= $2
                   AND NOT mfa_pending
                 ORDER BY created_at DESC, public_id";

pub(crate) struct Sessions<DB>(std::marker::PhantomData<DB>);

#[generic_sql]
impl<DB> Sessions<DB> {
    /// Reads the session columns of a row.
    pub(crate) fn from_row(row: &DB::Row) -> Result<Session> {
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
            two_factor: row.try_get("two_factor")?,
        })
    }
}

#[async_trait]
#[generic_sql]
impl<DB> SessionStore for SqlStore<DB> {
    /// A full session is a sign-in: the user's `last_sign_in_at` moves in the
    /// same transaction. A half one (second factor owed) is only the session.
    /// Either replaces the password hash when asked (the password step passed).
    async fn create_session(&self, new: NewSession<'_>) -> R<()> {
        self.run(async {
            let s = new.session;
            let mut tx = DB::begin_write(&self.pool).await?;
            sqlx::query(
                "INSERT INTO sessions (token_hash, public_id, user_id, created_at, last_seen_at, expires_at,
                     idle_timeout_secs, remember, authenticated_at, ip, user_agent, mfa_pending, two_factor)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
            .bind(s.two_factor)
            .execute(&mut *tx)
            .await
            .conflict_on("session")?;
            if !s.mfa_pending {
                Users::<DB>::record_sign_in(&mut *tx, &s.user_id.to_string(), s.authenticated_at).await?;
            }
            if let Some(rehash) = new.rehash {
                Users::<DB>::replace_hash(&mut *tx, rehash).await?;
            }
            Ok(tx.commit().await?)
        })
        .await
    }

    /// The session and its user, unless the user is disabled.
    async fn find_session(&self, token_hash: TokenHash) -> R<Option<SessionWithUser>> {
        self.run(async {
            let row = sqlx::query(
                "SELECT s.public_id, s.user_id, s.created_at AS s_created_at, s.last_seen_at, s.expires_at,
                        s.idle_timeout_secs, s.remember, s.authenticated_at, s.ip, s.user_agent, s.mfa_pending,
                        s.two_factor, u.id, u.email, u.email_verified, u.disabled, u.mfa_enabled, u.created_at, u.password_hash = '!invited' AS invited,
                        (SELECT string_agg(m.group_name, ',') FROM group_members m WHERE m.user_id = u.id) AS groups
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = $1 AND NOT u.disabled",
            )
            .bind(&token_hash.as_bytes()[..])
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let user = Users::from_row(&row)?;
            let mut session = Sessions::<DB>::from_row(&row)?;
            session.created_at = ts(row.try_get("s_created_at")?)?;
            Ok(Some(SessionWithUser { session, user }))
        })
        .await
    }

    async fn touch_session(&self, token_hash: TokenHash, now: OffsetDateTime) -> R<()> {
        self.run(async {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1")
                .bind(now.unix_timestamp())
                .bind(&token_hash.as_bytes()[..])
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    async fn delete_session(&self, token_hash: TokenHash) -> R<()> {
        self.run(async {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(&token_hash.as_bytes()[..])
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    /// Signs the user out everywhere: sessions and refresh-token families.
    async fn delete_user_sessions(&self, user: UserId, event: Option<&WebhookEvent>) -> R<u64> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let n = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            Families::revoke_all_of(&mut *tx, &user.to_string()).await?;
            if let Some(event) = event {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            tx.commit().await?;
            Ok(n)
        })
        .await
    }

    async fn delete_session_by_id(
        &self,
        user: UserId,
        id: uuid::Uuid,
        event: Option<&WebhookEvent>,
    ) -> R<bool> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let done = sqlx::query("DELETE FROM sessions WHERE public_id = $1 AND user_id = $2")
                .bind(id.to_string())
                .bind(user.to_string())
                .execute(&mut *tx)
                .await?;
            let deleted = done.rows_affected() == 1;
            if deleted && let Some(event) = event {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            tx.commit().await?;
            Ok(deleted)
        })
        .await
    }

    /// The user's live, fully signed-in sessions, newest first.
    async fn list_sessions(&self, user: UserId, now: OffsetDateTime) -> R<Vec<Session>> {
        self.run(async {
            let rows = sqlx::query(LIST_SQL)
                .bind(user.to_string())
                .bind(now.unix_timestamp())
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(Sessions::<DB>::from_row).collect()
        })
        .await
    }

    async fn count_active_sessions(&self, now: OffsetDateTime) -> R<i64> {
        self.run(async {
            let n = sqlx::query_scalar(
                "SELECT COUNT(*) FROM sessions WHERE expires_at > $1 AND last_seen_at + idle_timeout_secs >= $1",
            )
            .bind(now.unix_timestamp())
            .fetch_one(&self.pool)
            .await?;
            Ok(n)
        })
        .await
    }

    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> R<u64> {
        self.run(async {
            let done = sqlx::query(
                "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at + idle_timeout_secs < $1",
            )
            .bind(now.unix_timestamp())
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected())
        })
        .await
    }
}
