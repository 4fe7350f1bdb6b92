//! Emailed sign-in requests (issue #21). A request is live while unexpired and not
//! older than its user's last password change; every use repeats those conditions
//! in the one statement that spends or counts it (`$2` is now in each).

use async_trait::async_trait;
use portcullis_core::email_signin::{CodeAttempt, EmailSignInSummary, NewEmailSignIn};
use portcullis_core::mail::NewMail;
use portcullis_core::store::EmailSignInStore;
use portcullis_core::{TokenHash, UserId};
use sqlx::Row as _;
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::{Conflict as _, R};
use crate::outbox::Outbox;
use crate::rows::{hash32, ts, user_id};
use crate::webhooks::Webhooks;
use portcullis_core::webhooks::WebhookEvent;

#[async_trait]
#[generic_sql]
impl<DB> EmailSignInStore for SqlStore<DB> {
    async fn replace_email_signin(&self, r: &NewEmailSignIn, mail: &NewMail) -> R<()> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            // One row per user: concurrent requests each replace it, none fails.
            sqlx::query(
                "INSERT INTO email_signins (user_id, token_hash, code_hash, code_attempts, created_at, expires_at)
                 VALUES ($1, $2, $3, 0, $4, $5)
                 ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash,
                     code_hash = excluded.code_hash, code_attempts = 0,
                     created_at = excluded.created_at, expires_at = excluded.expires_at",
            )
            .bind(r.user_id.to_string())
            .bind(&r.token_hash.as_bytes()[..])
            .bind(&r.code_hash.as_bytes()[..])
            .bind(r.created_at.unix_timestamp())
            .bind(r.expires_at.unix_timestamp())
            .execute(&mut *tx)
            .await
            .conflict_on("email_signin")?;
            Outbox::insert(&mut *tx, mail).await?;
            Ok(tx.commit().await?)
        })
        .await
    }

    async fn find_email_signin(&self, token: TokenHash, now: OffsetDateTime) -> R<Option<UserId>> {
        self.run(async {
            let user: Option<String> = sqlx::query_scalar(
                "SELECT user_id FROM email_signins
                 WHERE token_hash = $1 AND expires_at > $2
                   AND created_at >= (SELECT password_changed_at FROM users WHERE users.id = email_signins.user_id)",
            )
                .bind(&token.as_bytes()[..])
                .bind(now.unix_timestamp())
                .fetch_optional(&self.pool)
                .await?;
            Ok(user.as_deref().map(user_id).transpose()?)
        })
        .await
    }

    async fn spend_email_signin(
        &self,
        token: TokenHash,
        now: OffsetDateTime,
        event: Option<&WebhookEvent>,
    ) -> R<Option<UserId>> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let user: Option<String> = sqlx::query_scalar(
                "DELETE FROM email_signins
                 WHERE token_hash = $1 AND expires_at > $2
                   AND created_at >= (SELECT password_changed_at FROM users WHERE users.id = email_signins.user_id)
                 RETURNING user_id",
            )
                .bind(&token.as_bytes()[..])
                .bind(now.unix_timestamp())
                .fetch_optional(&mut *tx)
                .await?;
            let Some(user) = user else { return Ok(None) };
            // The link or code reached the mailbox: the address is verified. Only
            // an address that was not verified yet makes that an event.
            let newly = sqlx::query(
                "UPDATE users SET email_verified = $1, updated_at = $2 WHERE id = $3 AND email_verified = $4",
            )
            .bind(true)
            .bind(now.unix_timestamp())
            .bind(&user)
            .bind(false)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !newly {
                crate::users::Users::<DB>::set_verified(&mut *tx, &user, true, now).await?;
            }
            if newly
                && let Some(event) = event
                && event.user_id.map(|u| u.to_string()).as_deref() == Some(user.as_str())
            {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            tx.commit().await?;
            Ok(Some(user_id(&user)?))
        })
        .await
    }

    async fn claim_email_signin_code(
        &self,
        user: UserId,
        now: OffsetDateTime,
        max: i64,
    ) -> R<Option<CodeAttempt>> {
        self.run(async {
            let row = sqlx::query(
                "UPDATE email_signins SET code_attempts = code_attempts + 1
                 WHERE user_id = $1 AND code_attempts < $3 AND expires_at > $2
                   AND created_at >= (SELECT password_changed_at FROM users WHERE users.id = email_signins.user_id)
                 RETURNING token_hash, code_hash",
            )
                .bind(user.to_string())
                .bind(now.unix_timestamp())
                .bind(max)
                .fetch_optional(&self.pool)
                .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(CodeAttempt {
                token_hash: hash32(&row.try_get::<Vec<u8>, _>("token_hash")?)?,
                code_hash: hash32(&row.try_get::<Vec<u8>, _>("code_hash")?)?,
            }))
        })
        .await
    }

    async fn email_signin_of(&self, user: UserId) -> R<Option<EmailSignInSummary>> {
        self.run(async {
            let row = sqlx::query(
                "SELECT created_at, expires_at, code_attempts FROM email_signins WHERE user_id = $1",
            )
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(EmailSignInSummary {
                created_at: ts(row.try_get("created_at")?)?,
                expires_at: ts(row.try_get("expires_at")?)?,
                code_attempts: row.try_get("code_attempts")?,
            }))
        })
        .await
    }

    async fn purge_email_signins(&self, before: OffsetDateTime) -> R<u64> {
        self.run(async {
            let done = sqlx::query("DELETE FROM email_signins WHERE expires_at < $1")
                .bind(before.unix_timestamp())
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        })
        .await
    }
}
