//! OAuth clients, their authorization codes (spent with one conditional `UPDATE`)
//! and the consents users gave them.

use async_trait::async_trait;
use portcullis_core::oauth::{AuthCode, Client, CodeUse};
use portcullis_core::store::ClientStore;
use portcullis_core::{TokenHash, UserId};
use sqlx::Row as _;
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::{Conflict as _, R, Result};
use crate::rows::{hash32, ts, user_id};

/// The SQL of clients, codes and consents, on `pool`.
pub(crate) struct Clients<DB>(std::marker::PhantomData<DB>);

#[generic_sql]
impl<DB> Clients<DB> {
    fn from_row(row: &DB::Row) -> Result<Client> {
        let uris: String = row.try_get("redirect_uris")?;
        Ok(Client {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            secret_hash: row
                .try_get::<Option<Vec<u8>>, _>("secret_hash")?
                .as_deref()
                .map(hash32)
                .transpose()?,
            redirect_uris: uris.lines().map(str::to_owned).collect(),
            public: row.try_get("public")?,
            first_party: row.try_get("first_party")?,
            resource_server: row.try_get("resource_server")?,
            created_at: ts(row.try_get("created_at")?)?,
        })
    }

    fn code_from_row(r: &DB::Row) -> Result<AuthCode> {
        Ok(AuthCode {
            client_id: r.try_get("client_id")?,
            user_id: user_id(&r.try_get::<String, _>("user_id")?)?,
            redirect_uri: r.try_get("redirect_uri")?,
            scope: r.try_get("scope")?,
            nonce: r.try_get("nonce")?,
            code_challenge: r.try_get("code_challenge")?,
            auth_time: ts(r.try_get("auth_time")?)?,
            two_factor: r.try_get("two_factor")?,
            created_at: ts(r.try_get("created_at")?)?,
            expires_at: ts(r.try_get("expires_at")?)?,
        })
    }
}

#[async_trait]
#[generic_sql]
impl<DB> ClientStore for SqlStore<DB> {
    async fn create_client(&self, c: &Client) -> R<()> {
        self.run(async {
            sqlx::query(
                "INSERT INTO oauth_clients (id, name, secret_hash, redirect_uris, public, first_party, resource_server,
                                            created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&c.id)
            .bind(&c.name)
            .bind(c.secret_hash.map(|h| h.as_bytes().to_vec()))
            .bind(c.redirect_uris.join("\n"))
            .bind(c.public)
            .bind(c.first_party)
            .bind(c.resource_server)
            .bind(c.created_at.unix_timestamp())
            .execute(&self.pool)
            .await
            .conflict_on("client_id")?;
            Ok(())
        })
        .await
    }

    async fn find_client(&self, id: &str) -> R<Option<Client>> {
        self.run(async {
            let row = sqlx::query(
                "SELECT id, name, secret_hash, redirect_uris, public, first_party, resource_server, created_at
                 FROM oauth_clients WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(Clients::<DB>::from_row).transpose()
        })
        .await
    }

    async fn list_clients(&self) -> R<Vec<Client>> {
        self.run(async {
            let rows = sqlx::query(
                "SELECT id, name, secret_hash, redirect_uris, public, first_party, resource_server, created_at
                 FROM oauth_clients ORDER BY created_at, id",
            )
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(Clients::<DB>::from_row).collect()
        })
        .await
    }

    /// Deletes the client with its codes, consents and token families.
    async fn delete_client(&self, id: &str) -> R<bool> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            for sql in [
                "DELETE FROM oauth_codes WHERE client_id = $1",
                "DELETE FROM oauth_consents WHERE client_id = $1",
                "DELETE FROM token_families WHERE client_id = $1",
            ] {
                sqlx::query(sql).bind(id).execute(&mut *tx).await?;
            }
            let n = sqlx::query("DELETE FROM oauth_clients WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(n == 1)
        })
        .await
    }

    async fn insert_code(&self, hash: TokenHash, c: &AuthCode) -> R<()> {
        self.run(async {
            sqlx::query(
                "INSERT INTO oauth_codes (hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge,
                     auth_time, created_at, expires_at, two_factor)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&hash.as_bytes()[..])
            .bind(&c.client_id)
            .bind(c.user_id.to_string())
            .bind(&c.redirect_uri)
            .bind(&c.scope)
            .bind(c.nonce.as_deref())
            .bind(c.code_challenge.as_deref())
            .bind(c.auth_time.unix_timestamp())
            .bind(c.created_at.unix_timestamp())
            .bind(c.expires_at.unix_timestamp())
            .bind(c.two_factor)
            .execute(&self.pool)
            .await
            .conflict_on("code")?;
            Ok(())
        })
        .await
    }

    /// Spends a code for the family `family`; a code spent before names the family
    /// it started, so that the caller can revoke it.
    async fn consume_code(&self, hash: TokenHash, family: uuid::Uuid, now: OffsetDateTime) -> R<CodeUse> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let row = sqlx::query(
                "UPDATE oauth_codes SET used_at = $2, family_id = $3 WHERE hash = $1 AND used_at IS NULL
                 RETURNING client_id, user_id, redirect_uri, scope, nonce, code_challenge, auth_time,
                           created_at, expires_at, two_factor",
            )
            .bind(&hash.as_bytes()[..])
            .bind(now.unix_timestamp())
            .bind(family.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            let result = if let Some(r) = row {
                CodeUse::Fresh(Clients::<DB>::code_from_row(&r)?)
            } else {
                let spent: Option<Option<String>> =
                    sqlx::query_scalar("SELECT family_id FROM oauth_codes WHERE hash = $1")
                        .bind(&hash.as_bytes()[..])
                        .fetch_optional(&mut *tx)
                        .await?;
                match spent {
                    Some(family) => {
                        CodeUse::Replayed { family: family.and_then(|f| uuid::Uuid::parse_str(&f).ok()) }
                    }
                    None => CodeUse::Unknown,
                }
            };
            tx.commit().await?;
            Ok(result)
        })
        .await
    }

    async fn find_consent(&self, user: UserId, client: &str) -> R<Option<String>> {
        self.run(async {
            let scope =
                sqlx::query_scalar("SELECT scope FROM oauth_consents WHERE user_id = $1 AND client_id = $2")
                    .bind(user.to_string())
                    .bind(client)
                    .fetch_optional(&self.pool)
                    .await?;
            Ok(scope)
        })
        .await
    }

    async fn grant_consent(&self, user: UserId, client: &str, scope: &str, now: OffsetDateTime) -> R<()> {
        self.run(async {
            sqlx::query(
                "INSERT INTO oauth_consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
            )
            .bind(user.to_string())
            .bind(client)
            .bind(scope)
            .bind(now.unix_timestamp())
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }
}
