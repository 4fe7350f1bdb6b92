//! Upstream identities (SPEC §10): links to accounts, started flows and pending
//! links. Flows and pending links are taken with one `DELETE ... RETURNING`, so
//! two nodes finishing the same one cannot both get it. Unlinking decides what
//! the account has left in the transaction that deletes the link (on PostgreSQL
//! holding the user's row).

use async_trait::async_trait;
use portcullis_core::accounts::user::User;
use portcullis_core::store::{IdentityStore, NewUser};
use portcullis_core::upstream::{FlowState, LinkedIdentity, PendingLink, Unlinked, UpstreamIdentity};
use portcullis_core::{TokenHash, UserId};
use sqlx::Row as _;
use time::OffsetDateTime;
use uuid::Uuid;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::{Conflict as _, R, Result};
use crate::rows::{hash32, ts, user_id, uuid};
use crate::users::Users;
use crate::webhooks::Webhooks;
use portcullis_core::webhooks::WebhookEvent;

/// The SQL of identities, on `pool`.
/// A user's linked identities, oldest first (`$1` the user). Also read by the account page (`account_page.rs`).
pub(crate) const LIST_SQL: &str =
    "SELECT id AS identity_id, user_id, provider, issuer, subject, email AS identity_email,
                        created_at AS linked_at, last_used_at
                 FROM identities WHERE user_id = $1 ORDER BY created_at, id";

pub(crate) struct Identities<DB>(std::marker::PhantomData<DB>);

/// The identity's columns, then the user's (as `Users::from_row` reads them).
const IDENTITY_WITH_USER: &str = "SELECT i.id AS identity_id, i.user_id, i.provider, i.issuer, i.subject,
        i.email AS identity_email, i.created_at AS linked_at, i.last_used_at,
        u.id, u.email, u.email_verified, u.disabled, u.mfa_enabled, u.created_at,
        u.password_hash = '!invited' AS invited,
        (SELECT string_agg(m.group_name, ',') FROM group_members m WHERE m.user_id = u.id) AS groups
     FROM identities i JOIN users u ON u.id = i.user_id
     WHERE i.issuer = $1 AND i.subject = $2";

#[generic_sql]
impl<DB> Identities<DB> {
    pub(crate) fn from_row(row: &DB::Row) -> Result<LinkedIdentity> {
        Ok(LinkedIdentity {
            id: uuid(&row.try_get::<String, _>("identity_id")?)?,
            user_id: user_id(&row.try_get::<String, _>("user_id")?)?,
            provider: row.try_get("provider")?,
            issuer: row.try_get("issuer")?,
            subject: row.try_get("subject")?,
            email: row.try_get("identity_email")?,
            created_at: ts(row.try_get("linked_at")?)?,
            last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(ts).transpose()?,
        })
    }

    async fn insert(conn: &mut DB::Connection, i: &LinkedIdentity) -> Result<()> {
        sqlx::query(
            "INSERT INTO identities (id, user_id, provider, issuer, subject, email, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(i.id.to_string())
        .bind(i.user_id.to_string())
        .bind(&i.provider)
        .bind(&i.issuer)
        .bind(&i.subject)
        .bind(&i.email)
        .bind(i.created_at.unix_timestamp())
        .execute(&mut *conn)
        .await
        .conflict_on("identity")?;
        Ok(())
    }

    /// Drops flows and pending links that died before `now`.
    async fn purge(conn: &mut DB::Connection, now: OffsetDateTime) -> Result<()> {
        for sql in [
            "DELETE FROM upstream_flows WHERE expires_at < $1",
            "DELETE FROM upstream_links WHERE expires_at < $1",
        ] {
            sqlx::query(sql).bind(now.unix_timestamp()).execute(&mut *conn).await?;
        }
        Ok(())
    }
}

#[async_trait]
#[generic_sql]
impl<DB> IdentityStore for SqlStore<DB> {
    async fn save_flow(&self, f: &FlowState, now: OffsetDateTime) -> R<()> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            Identities::<DB>::purge(&mut tx, now).await?;
            sqlx::query(
                "INSERT INTO upstream_flows
                     (state_hash, provider, browser_hash, nonce, code_verifier, next, link_to, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&f.state_hash.as_bytes()[..])
            .bind(&f.provider)
            .bind(&f.browser.as_bytes()[..])
            .bind(&f.nonce)
            .bind(&f.code_verifier)
            .bind(&f.next)
            .bind(f.link_to.map(|u| u.to_string()))
            .bind(f.expires_at.unix_timestamp())
            .execute(&mut *tx)
            .await
            .conflict_on("flow")?;
            Ok(tx.commit().await?)
        })
        .await
    }

    async fn take_flow(&self, state_hash: &TokenHash) -> R<Option<FlowState>> {
        self.run(async {
            let row = sqlx::query(
                "DELETE FROM upstream_flows WHERE state_hash = $1
                 RETURNING state_hash, provider, browser_hash, nonce, code_verifier, next, link_to, expires_at",
            )
            .bind(&state_hash.as_bytes()[..])
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(FlowState {
                state_hash: hash32(&row.try_get::<Vec<u8>, _>("state_hash")?)?,
                provider: row.try_get("provider")?,
                browser: hash32(&row.try_get::<Vec<u8>, _>("browser_hash")?)?,
                nonce: row.try_get("nonce")?,
                code_verifier: row.try_get("code_verifier")?,
                next: row.try_get("next")?,
                link_to: row.try_get::<Option<String>, _>("link_to")?.as_deref().map(user_id).transpose()?,
                expires_at: ts(row.try_get("expires_at")?)?,
            }))
        })
        .await
    }

    async fn save_pending_link(&self, l: &PendingLink, now: OffsetDateTime) -> R<()> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            Identities::<DB>::purge(&mut tx, now).await?;
            sqlx::query(
                "INSERT INTO upstream_links (token_hash, provider, user_id, issuer, subject, email,
                     email_verified, second_factor, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&l.token_hash.as_bytes()[..])
            .bind(&l.provider)
            .bind(l.user_id.to_string())
            .bind(&l.identity.issuer)
            .bind(&l.identity.subject)
            .bind(&l.identity.email)
            .bind(l.identity.email_verified)
            .bind(l.identity.second_factor)
            .bind(l.expires_at.unix_timestamp())
            .execute(&mut *tx)
            .await
            .conflict_on("link")?;
            Ok(tx.commit().await?)
        })
        .await
    }

    async fn take_pending_link(&self, token_hash: &TokenHash) -> R<Option<PendingLink>> {
        self.run(async {
            let row = sqlx::query(
                "DELETE FROM upstream_links WHERE token_hash = $1
                 RETURNING token_hash, provider, user_id, issuer, subject, email, email_verified,
                           second_factor, expires_at",
            )
            .bind(&token_hash.as_bytes()[..])
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(PendingLink {
                token_hash: hash32(&row.try_get::<Vec<u8>, _>("token_hash")?)?,
                provider: row.try_get("provider")?,
                user_id: user_id(&row.try_get::<String, _>("user_id")?)?,
                identity: UpstreamIdentity {
                    issuer: row.try_get("issuer")?,
                    subject: row.try_get("subject")?,
                    email: row.try_get("email")?,
                    email_verified: row.try_get("email_verified")?,
                    second_factor: row.try_get("second_factor")?,
                },
                expires_at: ts(row.try_get("expires_at")?)?,
            }))
        })
        .await
    }

    async fn find_identity(&self, issuer: &str, subject: &str) -> R<Option<(LinkedIdentity, User)>> {
        self.run(async {
            let row =
                sqlx::query(IDENTITY_WITH_USER).bind(issuer).bind(subject).fetch_optional(&self.pool).await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some((Identities::<DB>::from_row(&row)?, Users::<DB>::from_row(&row)?)))
        })
        .await
    }

    async fn link_identity(&self, identity: &LinkedIdentity) -> R<()> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            Identities::<DB>::insert(&mut tx, identity).await?;
            tx.commit().await.conflict_on("identity")
        })
        .await
    }

    async fn create_user_with_identity(
        &self,
        user: NewUser<'_>,
        identity: &LinkedIdentity,
        event: Option<&WebhookEvent>,
    ) -> R<User> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let made = Users::<DB>::insert(&mut tx, &user).await?;
            Identities::<DB>::insert(&mut tx, identity).await?;
            if let Some(event) = event {
                Webhooks::<DB>::insert(&mut tx, event).await?;
            }
            tx.commit().await.conflict_on("identity")?;
            Ok(made)
        })
        .await
    }

    async fn identity_used(&self, id: Uuid, now: OffsetDateTime) -> R<()> {
        self.run(async {
            sqlx::query("UPDATE identities SET last_used_at = $1 WHERE id = $2")
                .bind(now.unix_timestamp())
                .bind(id.to_string())
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    async fn list_identities(&self, user: UserId) -> R<Vec<LinkedIdentity>> {
        self.run(async {
            let rows = sqlx::query(LIST_SQL).bind(user.to_string()).fetch_all(&self.pool).await?;
            rows.iter().map(Identities::<DB>::from_row).collect()
        })
        .await
    }

    async fn unlink_identity(&self, user: UserId, id: Uuid) -> R<Unlinked> {
        self.run(async {
            let user = user.to_string();
            let mut tx = DB::begin_write(&self.pool).await?;
            if let Some(lock) = DB::LOCK_USER {
                sqlx::query(lock).bind(&user).execute(&mut *tx).await?;
            }
            // What else signs in: a password (not a marker), a passkey, another identity.
            let row = sqlx::query(
                "SELECT EXISTS (SELECT 1 FROM identities WHERE id = $2 AND user_id = $1) AS mine,
                        EXISTS (SELECT 1 FROM users WHERE id = $1 AND password_hash NOT LIKE '!%') AS password,
                        EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1) AS passkey,
                        EXISTS (SELECT 1 FROM identities WHERE user_id = $1 AND id <> $2) AS other",
            )
            .bind(&user)
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?;
            let has = |name: &str| row.try_get::<bool, _>(name);
            if !has("mine")? {
                return Ok(Unlinked::NotFound);
            }
            if !(has("password")? || has("passkey")? || has("other")?) {
                return Ok(Unlinked::LastSignInMethod);
            }
            let done = sqlx::query("DELETE FROM identities WHERE id = $1 AND user_id = $2")
                .bind(id.to_string())
                .bind(&user)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(if done.rows_affected() == 1 { Unlinked::Done } else { Unlinked::NotFound })
        })
        .await
    }
}
