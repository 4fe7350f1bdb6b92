//! The SQL of every store method, written once and stamped out for each backend by
//! `store_impl!`. Only portable SQL goes here (`$N` parameters, `RETURNING`,
//! `ON CONFLICT`), which SQLite and PostgreSQL both accept.

use portcullis_core::session::Session;
use portcullis_core::user::{User, UserId};
use sqlx::Row;
use time::{Duration, OffsetDateTime};

pub(crate) fn ts(v: i64) -> Result<OffsetDateTime, sqlx::Error> {
    OffsetDateTime::from_unix_timestamp(v).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub(crate) fn user_id(raw: &str) -> Result<UserId, sqlx::Error> {
    UserId::parse(raw).ok_or_else(|| sqlx::Error::Decode(format!("invalid user id {raw:?}").into()))
}

/// Reads the `USER_COLUMNS` of a row.
pub(crate) fn user_from_row<'r, R>(row: &'r R) -> Result<User, sqlx::Error>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(User {
        id: user_id(&row.try_get::<String, _>("id")?)?,
        email: row.try_get("email")?,
        email_verified: row.try_get("email_verified")?,
        is_admin: row.try_get("is_admin")?,
        disabled: row.try_get("disabled")?,
        mfa_enabled: row.try_get("mfa_enabled")?,
        created_at: ts(row.try_get("created_at")?)?,
    })
}

/// Reads the session columns of a row.
pub(crate) fn session_from_row<'r, R>(row: &'r R) -> Result<Session, sqlx::Error>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let public_id: String = row.try_get("public_id")?;
    Ok(Session {
        id: uuid::Uuid::parse_str(&public_id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
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

/// Reads an event row.
pub(crate) fn event_from_row<'r, R>(row: &'r R) -> Result<portcullis_core::Event, sqlx::Error>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let user: Option<String> = row.try_get("user_id")?;
    Ok(portcullis_core::Event {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        outcome: row.try_get("outcome")?,
        user_id: user.as_deref().map(user_id).transpose()?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        detail: row.try_get("detail")?,
        created_at: ts(row.try_get("created_at")?)?,
    })
}

/// Implements `Store` (and its supertraits `TokenStore` and `OutboxStore`) for
/// `$store` (a struct with a `pool: sqlx::Pool<$db>` field). `$begin_write` is how
/// the backend opens a transaction that will write; `$lock_bucket` is an SQL
/// statement taking the bucket name as `$1` that serialises transactions on one
/// throttle bucket ("" where `$begin_write` already serialises every writer, as
/// SQLite's `BEGIN IMMEDIATE` does); `$claim_sql` is its query for claiming outbox
/// mails (see `claim_sql!`).
macro_rules! store_impl {
    ($store:ty, $begin_write:expr, $lock_bucket:expr, $claim_sql:expr) => {
        tokens_impl!($store, $begin_write);
        oauth_impl!($store, $begin_write);
        outbox_impl!($store, $begin_write, $claim_sql);
        passkeys_impl!($store, $begin_write);

        #[async_trait::async_trait]
        impl portcullis_core::Store for $store {
            async fn ping(&self) -> Result<(), portcullis_core::StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(crate::error::other)
            }

            async fn create_user(
                &self,
                u: portcullis_core::store::NewUser<'_>,
                verification: Option<(&portcullis_core::store::NewToken, &portcullis_core::mail::NewMail)>,
            ) -> Result<portcullis_core::User, portcullis_core::StoreError> {
                let at = u.created_at.unix_timestamp();
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                sqlx::query(
                    "INSERT INTO users (id, email, email_canonical, password_hash, email_verified, is_admin,
                         created_at, updated_at, password_changed_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7)",
                )
                .bind(u.id.to_string())
                .bind(u.email)
                .bind(u.email_canonical)
                .bind(u.password_hash)
                .bind(u.email_verified)
                .bind(u.is_admin)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(|e| crate::error::map(e, "email"))?;
                if let Some((token, mail)) = verification {
                    insert_token!(&mut *tx, token).map_err(|e| crate::error::map(e, "token"))?;
                    insert_mail!(&mut *tx, mail).map_err(crate::error::other)?;
                }
                tx.commit().await.map_err(|e| crate::error::map(e, "email"))?;
                Ok(portcullis_core::User {
                    id: u.id,
                    email: u.email.to_owned(),
                    email_verified: u.email_verified,
                    is_admin: u.is_admin,
                    disabled: false,
                    mfa_enabled: false,
                    created_at: crate::queries::ts(at).map_err(crate::error::other)?,
                })
            }

            async fn find_credentials_by_email(
                &self,
                email_canonical: &str,
            ) -> Result<Option<portcullis_core::user::Credentials>, portcullis_core::StoreError> {
                let row = sqlx::query(
                    "SELECT id, email, email_verified, is_admin, disabled, mfa_enabled, created_at, password_hash
                     FROM users WHERE email_canonical = $1",
                )
                .bind(email_canonical)
                .fetch_optional(&self.pool)
                .await
                .map_err(crate::error::other)?;
                row.map(|r| credentials(&r)).transpose().map_err(crate::error::other)
            }

            async fn find_credentials_by_id(
                &self,
                id: portcullis_core::UserId,
            ) -> Result<Option<portcullis_core::user::Credentials>, portcullis_core::StoreError> {
                let row = sqlx::query(
                    "SELECT id, email, email_verified, is_admin, disabled, mfa_enabled, created_at, password_hash
                     FROM users WHERE id = $1",
                )
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(crate::error::other)?;
                row.map(|r| credentials(&r)).transpose().map_err(crate::error::other)
            }

            async fn list_users(&self) -> Result<Vec<portcullis_core::User>, portcullis_core::StoreError> {
                let rows = sqlx::query(
                    "SELECT id, email, email_verified, is_admin, disabled, mfa_enabled, created_at
                     FROM users ORDER BY created_at, email_canonical",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(crate::error::other)?;
                rows.iter().map(crate::queries::user_from_row).collect::<Result<_, _>>().map_err(crate::error::other)
            }

            async fn set_user_disabled(
                &self,
                id: portcullis_core::UserId,
                disabled: bool,
                now: time::OffsetDateTime,
            ) -> Result<bool, portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                let updated = sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
                    .bind(disabled)
                    .bind(now.unix_timestamp())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::other)?
                    .rows_affected();
                if disabled {
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(crate::error::other)?;
                    revoke_user_families!(&mut *tx, id.to_string()).map_err(crate::error::other)?;
                }
                tx.commit().await.map_err(crate::error::other)?;
                Ok(updated == 1)
            }

            async fn delete_user(
                &self,
                id: portcullis_core::UserId,
                notice: Option<&portcullis_core::mail::NewMail>,
            ) -> Result<bool, portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                for sql in [
                    "DELETE FROM sessions WHERE user_id = $1",
                    "DELETE FROM token_families WHERE user_id = $1",
                    "DELETE FROM oauth_codes WHERE user_id = $1",
                    "DELETE FROM oauth_consents WHERE user_id = $1",
                    "DELETE FROM events WHERE user_id = $1",
                    "DELETE FROM tokens WHERE user_id = $1",
                    "DELETE FROM outbox WHERE user_id = $1",
                ] {
                    sqlx::query(sql).bind(id.to_string()).execute(&mut *tx).await.map_err(crate::error::other)?;
                }
                let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::other)?
                    .rows_affected();
                if deleted == 1 && let Some(notice) = notice {
                    insert_mail!(&mut *tx, notice).map_err(crate::error::other)?;
                }
                tx.commit().await.map_err(crate::error::other)?;
                Ok(deleted == 1)
            }

            async fn update_password_hash(
                &self,
                id: portcullis_core::UserId,
                password_hash: &str,
            ) -> Result<(), portcullis_core::StoreError> {
                sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(password_hash)
                    .bind(id.to_string())
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
                    .map_err(crate::error::other)
            }

            async fn change_password(
                &self,
                id: portcullis_core::UserId,
                password_hash: &str,
                now: time::OffsetDateTime,
                keep: Option<portcullis_core::TokenHash>,
                notice: Option<&portcullis_core::mail::NewMail>,
            ) -> Result<(), portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                sqlx::query(
                    "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2 WHERE id = $3",
                )
                .bind(password_hash)
                .bind(now.unix_timestamp())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(crate::error::other)?;
                // An all-zero hash never matches a real session (SHA-256 preimage).
                let keep = keep.map_or([0u8; 32], |k| *k.as_bytes());
                sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
                    .bind(id.to_string())
                    .bind(&keep[..])
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::other)?;
                delete_killable_tokens!(&mut *tx, id.to_string()).map_err(crate::error::other)?;
                revoke_user_families!(&mut *tx, id.to_string()).map_err(crate::error::other)?;
                if let Some(notice) = notice {
                    insert_mail!(&mut *tx, notice).map_err(crate::error::other)?;
                }
                tx.commit().await.map_err(crate::error::other)
            }

            async fn create_session(
                &self,
                new: portcullis_core::store::NewSession<'_>,
            ) -> Result<(), portcullis_core::StoreError> {
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
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(|e| crate::error::map(e, "session"))
            }

            async fn find_session(
                &self,
                token_hash: portcullis_core::TokenHash,
            ) -> Result<Option<(portcullis_core::Session, portcullis_core::User)>, portcullis_core::StoreError>
            {
                let row = sqlx::query(
                    "SELECT s.public_id, s.user_id, s.created_at AS s_created_at, s.last_seen_at, s.expires_at,
                            s.idle_timeout_secs, s.remember, s.authenticated_at, s.ip, s.user_agent, s.mfa_pending,
                            u.id, u.email, u.email_verified, u.is_admin, u.disabled, u.mfa_enabled, u.created_at
                     FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.token_hash = $1 AND NOT u.disabled",
                )
                .bind(&token_hash.as_bytes()[..])
                .fetch_optional(&self.pool)
                .await
                .map_err(crate::error::other)?;
                let Some(row) = row else { return Ok(None) };
                let decode = || -> Result<_, sqlx::Error> {
                    let user = crate::queries::user_from_row(&row)?;
                    let mut session = crate::queries::session_from_row(&row)?;
                    session.created_at = crate::queries::ts(row.try_get("s_created_at")?)?;
                    Ok((session, user))
                };
                decode().map(Some).map_err(crate::error::other)
            }

            async fn touch_session(
                &self,
                token_hash: portcullis_core::TokenHash,
                now: time::OffsetDateTime,
            ) -> Result<(), portcullis_core::StoreError> {
                sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1")
                    .bind(now.unix_timestamp())
                    .bind(&token_hash.as_bytes()[..])
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
                    .map_err(crate::error::other)
            }

            async fn delete_session(
                &self,
                token_hash: portcullis_core::TokenHash,
            ) -> Result<(), portcullis_core::StoreError> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(&token_hash.as_bytes()[..])
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
                    .map_err(crate::error::other)
            }

            async fn delete_user_sessions(&self, user: portcullis_core::UserId) -> Result<u64, portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                let n = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(user.to_string())
                    .execute(&mut *tx)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(crate::error::other)?;
                revoke_user_families!(&mut *tx, user.to_string()).map_err(crate::error::other)?;
                tx.commit().await.map_err(crate::error::other)?;
                Ok(n)
            }

            async fn delete_session_by_id(
                &self,
                user: portcullis_core::UserId,
                id: uuid::Uuid,
            ) -> Result<bool, portcullis_core::StoreError> {
                sqlx::query("DELETE FROM sessions WHERE public_id = $1 AND user_id = $2")
                    .bind(id.to_string())
                    .bind(user.to_string())
                    .execute(&self.pool)
                    .await
                    .map(|r| r.rows_affected() == 1)
                    .map_err(crate::error::other)
            }

            async fn list_sessions(
                &self,
                user: portcullis_core::UserId,
                now: time::OffsetDateTime,
            ) -> Result<Vec<portcullis_core::Session>, portcullis_core::StoreError> {
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
                .fetch_all(&self.pool)
                .await
                .map_err(crate::error::other)?;
                rows.iter().map(crate::queries::session_from_row).collect::<Result<_, _>>().map_err(crate::error::other)
            }

            async fn count_active_sessions(&self, now: time::OffsetDateTime) -> Result<i64, portcullis_core::StoreError> {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sessions WHERE expires_at > $1 AND last_seen_at + idle_timeout_secs >= $1",
                )
                .bind(now.unix_timestamp())
                .fetch_one(&self.pool)
                .await
                .map_err(crate::error::other)
            }

            async fn purge_expired_sessions(
                &self,
                now: time::OffsetDateTime,
            ) -> Result<u64, portcullis_core::StoreError> {
                sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at + idle_timeout_secs < $1")
                    .bind(now.unix_timestamp())
                    .execute(&self.pool)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(crate::error::other)
            }

            async fn totp(
                &self,
                user: portcullis_core::UserId,
            ) -> Result<Option<portcullis_core::store::TotpRecord>, portcullis_core::StoreError> {
                let row = sqlx::query("SELECT secret, confirmed, last_step FROM totp WHERE user_id = $1")
                    .bind(user.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(crate::error::other)?;
                let Some(row) = row else { return Ok(None) };
                (|| -> Result<_, sqlx::Error> {
                    Ok(Some(portcullis_core::store::TotpRecord {
                        sealed_secret: row.try_get("secret")?,
                        confirmed: row.try_get("confirmed")?,
                        last_step: row.try_get("last_step")?,
                    }))
                })()
                .map_err(crate::error::other)
            }

            async fn totp_begin(
                &self,
                user: portcullis_core::UserId,
                sealed_secret: &[u8],
                now: time::OffsetDateTime,
            ) -> Result<(), portcullis_core::StoreError> {
                sqlx::query(
                    "INSERT INTO totp (user_id, secret, confirmed, last_step, created_at) VALUES ($1, $2, FALSE, 0, $3)
                     ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, confirmed = FALSE, last_step = 0,
                         created_at = excluded.created_at
                     WHERE NOT totp.confirmed",
                )
                .bind(user.to_string())
                .bind(sealed_secret)
                .bind(now.unix_timestamp())
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(crate::error::other)
            }

            async fn totp_confirm(
                &self,
                user: portcullis_core::UserId,
                step: i64,
                recovery_hashes: &[[u8; 32]],
            ) -> Result<(), portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                let id = user.to_string();
                sqlx::query("UPDATE totp SET confirmed = TRUE, last_step = $2 WHERE user_id = $1")
                    .bind(&id)
                    .bind(step)
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::other)?;
                sqlx::query("UPDATE users SET mfa_enabled = TRUE WHERE id = $1")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::other)?;
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::other)?;
                for hash in recovery_hashes {
                    sqlx::query("INSERT INTO recovery_codes (code_hash, user_id) VALUES ($1, $2)")
                        .bind(&hash[..])
                        .bind(&id)
                        .execute(&mut *tx)
                        .await
                        .map_err(crate::error::other)?;
                }
                tx.commit().await.map_err(crate::error::other)
            }

            async fn totp_use_step(&self, user: portcullis_core::UserId, step: i64) -> Result<bool, portcullis_core::StoreError> {
                sqlx::query("UPDATE totp SET last_step = $2 WHERE user_id = $1 AND confirmed AND last_step < $2")
                    .bind(user.to_string())
                    .bind(step)
                    .execute(&self.pool)
                    .await
                    .map(|r| r.rows_affected() == 1)
                    .map_err(crate::error::other)
            }

            async fn use_recovery_code(
                &self,
                user: portcullis_core::UserId,
                hash: &[u8; 32],
                now: time::OffsetDateTime,
            ) -> Result<bool, portcullis_core::StoreError> {
                sqlx::query(
                    "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
                )
                .bind(user.to_string())
                .bind(&hash[..])
                .bind(now.unix_timestamp())
                .execute(&self.pool)
                .await
                .map(|r| r.rows_affected() == 1)
                .map_err(crate::error::other)
            }

            async fn replace_recovery_codes(
                &self,
                user: portcullis_core::UserId,
                hashes: &[[u8; 32]],
            ) -> Result<(), portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                    .bind(user.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::other)?;
                for hash in hashes {
                    sqlx::query("INSERT INTO recovery_codes (code_hash, user_id) VALUES ($1, $2)")
                        .bind(&hash[..])
                        .bind(user.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(crate::error::other)?;
                }
                tx.commit().await.map_err(crate::error::other)
            }

            async fn recovery_codes_left(&self, user: portcullis_core::UserId) -> Result<i64, portcullis_core::StoreError> {
                sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
                    .bind(user.to_string())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(crate::error::other)
            }

            async fn mfa_disable(&self, user: portcullis_core::UserId) -> Result<(), portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                for sql in [
                    "DELETE FROM totp WHERE user_id = $1",
                    "DELETE FROM recovery_codes WHERE user_id = $1",
                    "UPDATE users SET mfa_enabled = FALSE WHERE id = $1",
                ] {
                    sqlx::query(sql).bind(user.to_string()).execute(&mut *tx).await.map_err(crate::error::other)?;
                }
                tx.commit().await.map_err(crate::error::other)
            }

            async fn insert_event(
                &self,
                e: &portcullis_core::event::NewEvent,
            ) -> Result<(), portcullis_core::StoreError> {
                sqlx::query(
                    "INSERT INTO events (user_id, kind, outcome, ip, user_agent, detail, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(e.user_id.map(|u| u.to_string()))
                .bind(e.kind.as_str())
                .bind(e.outcome.as_str())
                .bind(e.client.ip.as_deref())
                .bind(e.client.user_agent.as_deref())
                .bind(e.detail)
                .bind(e.at.unix_timestamp())
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(crate::error::other)
            }

            async fn list_events(
                &self,
                user: Option<portcullis_core::UserId>,
                limit: i64,
            ) -> Result<Vec<portcullis_core::Event>, portcullis_core::StoreError> {
                let rows = match user {
                    Some(user) => sqlx::query(
                        "SELECT id, user_id, kind, outcome, ip, user_agent, detail, created_at
                         FROM events WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
                    )
                    .bind(user.to_string())
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await,
                    None => sqlx::query(
                        "SELECT id, user_id, kind, outcome, ip, user_agent, detail, created_at
                         FROM events ORDER BY id DESC LIMIT $1",
                    )
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await,
                }
                .map_err(crate::error::other)?;
                rows.iter().map(crate::queries::event_from_row).collect::<Result<_, _>>().map_err(crate::error::other)
            }

            async fn purge_events(&self, before: time::OffsetDateTime) -> Result<u64, portcullis_core::StoreError> {
                sqlx::query("DELETE FROM events WHERE created_at < $1")
                    .bind(before.unix_timestamp())
                    .execute(&self.pool)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(crate::error::other)
            }

            async fn throttle(
                &self,
                bucket: &str,
                limit: portcullis_core::throttle::Limit,
                escalate: bool,
                now: time::OffsetDateTime,
            ) -> Result<portcullis_core::throttle::Throttle, portcullis_core::StoreError> {
                use portcullis_core::throttle::{BucketState, Decision, Throttle, decide};
                let now = now.unix_timestamp();
                let since = now - limit.window.whole_seconds();
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                if !$lock_bucket.is_empty() {
                    sqlx::query($lock_bucket).bind(bucket).execute(&mut *tx).await.map_err(crate::error::other)?;
                }
                let hits = sqlx::query("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM throttle_hits WHERE bucket = $1 AND at > $2")
                    .bind(bucket)
                    .bind(since)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(crate::error::other)?;
                let lock = sqlx::query("SELECT level, locked_until FROM throttle_state WHERE bucket = $1")
                    .bind(bucket)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(crate::error::other)?;
                let state = (|| -> Result<BucketState, sqlx::Error> {
                    let (level, locked_until) = match &lock {
                        Some(r) => (r.try_get::<i64, _>("level")?, r.try_get::<i64, _>("locked_until")?),
                        None => (0, 0),
                    };
                    Ok(BucketState {
                        hits: u32::try_from(hits.try_get::<i64, _>("n")?).unwrap_or(u32::MAX),
                        oldest_hit: hits.try_get("oldest")?,
                        level: u32::try_from(level).unwrap_or(u32::MAX),
                        locked_until,
                    })
                })()
                .map_err(crate::error::other)?;
                let outcome = match decide(limit, escalate, state, now) {
                    Decision::Allow => {
                        let hit: i64 = sqlx::query_scalar("INSERT INTO throttle_hits (bucket, at) VALUES ($1, $2) RETURNING id")
                            .bind(bucket)
                            .bind(now)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(crate::error::other)?;
                        Throttle::Allowed { hit }
                    }
                    Decision::Deny { retry_after, lock } => {
                        if let Some((level, until)) = lock {
                            sqlx::query(
                                "INSERT INTO throttle_state (bucket, level, locked_until) VALUES ($1, $2, $3)
                                 ON CONFLICT (bucket) DO UPDATE SET level = excluded.level, locked_until = excluded.locked_until",
                            )
                            .bind(bucket)
                            .bind(i64::from(level))
                            .bind(until)
                            .execute(&mut *tx)
                            .await
                            .map_err(crate::error::other)?;
                        }
                        Throttle::Denied { retry_after }
                    }
                };
                tx.commit().await.map_err(crate::error::other)?;
                Ok(outcome)
            }

            async fn unthrottle(&self, hit: i64) -> Result<(), portcullis_core::StoreError> {
                sqlx::query("DELETE FROM throttle_hits WHERE id = $1")
                    .bind(hit)
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
                    .map_err(crate::error::other)
            }

            async fn reset_throttle(&self, bucket: &str) -> Result<(), portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                for sql in ["DELETE FROM throttle_hits WHERE bucket = $1", "DELETE FROM throttle_state WHERE bucket = $1"] {
                    sqlx::query(sql).bind(bucket).execute(&mut *tx).await.map_err(crate::error::other)?;
                }
                tx.commit().await.map_err(crate::error::other)
            }

            async fn purge_throttle(&self, before: time::OffsetDateTime) -> Result<u64, portcullis_core::StoreError> {
                let mut purged = 0;
                for sql in ["DELETE FROM throttle_hits WHERE at < $1", "DELETE FROM throttle_state WHERE locked_until < $1"] {
                    purged += sqlx::query(sql)
                        .bind(before.unix_timestamp())
                        .execute(&self.pool)
                        .await
                        .map_err(crate::error::other)?
                        .rows_affected();
                }
                Ok(purged)
            }

            async fn get_or_create_secret(
                &self,
                name: &str,
                candidate: &[u8],
                now: time::OffsetDateTime,
            ) -> Result<Vec<u8>, portcullis_core::StoreError> {
                sqlx::query("INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
                    .bind(name)
                    .bind(candidate)
                    .bind(now.unix_timestamp())
                    .execute(&self.pool)
                    .await
                    .map_err(crate::error::other)?;
                sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
                    .bind(name)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(crate::error::other)
            }
        }

        fn credentials<'r, R>(row: &'r R) -> Result<portcullis_core::user::Credentials, sqlx::Error>
        where
            R: sqlx::Row,
            &'r str: sqlx::ColumnIndex<R>,
            String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        {
            Ok(portcullis_core::user::Credentials {
                user: crate::queries::user_from_row(row)?,
                password_hash: row.try_get("password_hash")?,
            })
        }
    };
}
