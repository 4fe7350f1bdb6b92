//! OAuth clients, their authorization codes (spent with one conditional `UPDATE`)
//! and the consents users gave them.

use portcullis_core::oauth::{AuthCode, Client, CodeUse};
use portcullis_core::{TokenHash, UserId};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row as _, Type};
use time::OffsetDateTime;

use crate::backend::{Backend, RowsAffected as _};
use crate::error::{Conflict as _, Result};
use crate::rows::{hash32, ts, user_id};

/// The SQL of clients, codes and consents, on `pool`.
pub(crate) struct Clients<'a, DB: sqlx::Database>(pub &'a Pool<DB>);

impl<DB> Clients<'_, DB>
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
            created_at: ts(r.try_get("created_at")?)?,
            expires_at: ts(r.try_get("expires_at")?)?,
        })
    }

    pub(crate) async fn create(&self, c: &Client) -> Result<()> {
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
        .execute(self.0)
        .await
        .conflict_on("client_id")?;
        Ok(())
    }

    pub(crate) async fn find(&self, id: &str) -> Result<Option<Client>> {
        let row = sqlx::query(
            "SELECT id, name, secret_hash, redirect_uris, public, first_party, resource_server, created_at
             FROM oauth_clients WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.0)
        .await?;
        row.as_ref().map(Self::from_row).transpose()
    }

    pub(crate) async fn list(&self) -> Result<Vec<Client>> {
        let rows = sqlx::query(
            "SELECT id, name, secret_hash, redirect_uris, public, first_party, resource_server, created_at
             FROM oauth_clients ORDER BY created_at, id",
        )
        .fetch_all(self.0)
        .await?;
        rows.iter().map(Self::from_row).collect()
    }

    /// Deletes the client with its codes, consents and token families.
    pub(crate) async fn delete(&self, id: &str) -> Result<bool> {
        let mut tx = DB::begin_write(self.0).await?;
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
    }

    pub(crate) async fn insert_code(&self, hash: TokenHash, c: &AuthCode) -> Result<()> {
        sqlx::query(
            "INSERT INTO oauth_codes (hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge,
                 auth_time, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
        .execute(self.0)
        .await
        .conflict_on("code")?;
        Ok(())
    }

    /// Spends a code for the family `family`; a code spent before names the family
    /// it started, so that the caller can revoke it.
    pub(crate) async fn consume_code(
        &self,
        hash: TokenHash,
        family: uuid::Uuid,
        now: OffsetDateTime,
    ) -> Result<CodeUse> {
        let mut tx = DB::begin_write(self.0).await?;
        let row = sqlx::query(
            "UPDATE oauth_codes SET used_at = $2, family_id = $3 WHERE hash = $1 AND used_at IS NULL
             RETURNING client_id, user_id, redirect_uri, scope, nonce, code_challenge, auth_time,
                       created_at, expires_at",
        )
        .bind(&hash.as_bytes()[..])
        .bind(now.unix_timestamp())
        .bind(family.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let result = if let Some(r) = row {
            CodeUse::Fresh(Self::code_from_row(&r)?)
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
    }

    pub(crate) async fn find_consent(&self, user: UserId, client: &str) -> Result<Option<String>> {
        let scope =
            sqlx::query_scalar("SELECT scope FROM oauth_consents WHERE user_id = $1 AND client_id = $2")
                .bind(user.to_string())
                .bind(client)
                .fetch_optional(self.0)
                .await?;
        Ok(scope)
    }

    pub(crate) async fn grant_consent(
        &self,
        user: UserId,
        client: &str,
        scope: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO oauth_consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
        )
        .bind(user.to_string())
        .bind(client)
        .bind(scope)
        .bind(now.unix_timestamp())
        .execute(self.0)
        .await?;
        Ok(())
    }
}
