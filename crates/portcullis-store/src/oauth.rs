//! The SQL of signing keys, OAuth clients, codes, consents and refresh-token
//! families, stamped out for each backend by `oauth_impl!` (invoked from
//! `store_impl!`). Codes and refresh tokens are spent with one conditional `UPDATE`.

use portcullis_core::TokenHash;
use portcullis_core::jwt::StoredKey;
use portcullis_core::oauth::{Client, TokenFamily};
use sqlx::Row;

use crate::queries::{ts, user_id};

fn hash32(raw: &[u8]) -> Result<TokenHash, sqlx::Error> {
    let bytes: [u8; 32] =
        raw.try_into().map_err(|_| sqlx::Error::Decode("a stored hash is not 32 bytes".into()))?;
    Ok(TokenHash::from_bytes(bytes))
}

pub(crate) fn key_from_row<'r, R>(row: &'r R) -> Result<StoredKey, sqlx::Error>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(StoredKey {
        kid: row.try_get("kid")?,
        alg: row.try_get("alg")?,
        public_key: row.try_get("public_key")?,
        sealed_private: row.try_get("sealed_private")?,
        created_at: ts(row.try_get("created_at")?)?,
        retired_at: row.try_get::<Option<i64>, _>("retired_at")?.map(ts).transpose()?,
    })
}

pub(crate) fn client_from_row<'r, R>(row: &'r R) -> Result<Client, sqlx::Error>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let uris: String = row.try_get("redirect_uris")?;
    Ok(Client {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        secret_hash: row.try_get::<Option<Vec<u8>>, _>("secret_hash")?.as_deref().map(hash32).transpose()?,
        redirect_uris: uris.lines().map(str::to_owned).collect(),
        public: row.try_get("public")?,
        first_party: row.try_get("first_party")?,
        resource_server: row.try_get("resource_server")?,
        created_at: ts(row.try_get("created_at")?)?,
    })
}

/// Reads the `f.`-prefixed family columns of `select_family!`.
pub(crate) fn family_from_row<'r, R>(row: &'r R) -> Result<TokenFamily, sqlx::Error>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: String = row.try_get("family_id")?;
    Ok(TokenFamily {
        id: uuid::Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        user_id: user_id(&row.try_get::<String, _>("family_user_id")?)?,
        client_id: row.try_get("family_client_id")?,
        scope: row.try_get("family_scope")?,
        auth_time: ts(row.try_get("family_auth_time")?)?,
        created_at: ts(row.try_get("family_created_at")?)?,
    })
}

/// The family columns `family_from_row` reads, from `token_families f`.
macro_rules! family_columns {
    () => {
        "f.id AS family_id, f.user_id AS family_user_id, f.client_id AS family_client_id,
         f.scope AS family_scope, f.auth_time AS family_auth_time, f.created_at AS family_created_at"
    };
}

/// Revokes every token family of the user `$user` (a `String`) on `$conn`: a logout
/// everywhere, a password change or reset, a disabled account.
macro_rules! revoke_user_families {
    ($conn:expr, $user:expr) => {
        sqlx::query("DELETE FROM token_families WHERE user_id = $1").bind($user).execute($conn).await
    };
}

/// Inserts a `&NewRefresh` of family `$family` (a `String`) and moves the family's
/// expiry to it.
macro_rules! insert_refresh {
    ($conn:expr, $family:expr, $new:expr) => {{
        let n: &portcullis_core::oauth::NewRefresh = $new;
        let family: &str = $family;
        let r = sqlx::query(
            "INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&n.hash.as_bytes()[..])
        .bind(family)
        .bind(n.created_at.unix_timestamp())
        .bind(n.expires_at.unix_timestamp())
        .execute(&mut *$conn)
        .await;
        match r {
            Ok(_) => sqlx::query("UPDATE token_families SET expires_at = $1 WHERE id = $2")
                .bind(n.expires_at.unix_timestamp())
                .bind(family)
                .execute(&mut *$conn)
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        }
    }};
}

/// Implements `OAuthStore` for `$store`.
macro_rules! oauth_impl {
    ($store:ty, $begin_write:expr) => {
        #[async_trait::async_trait]
        impl portcullis_core::OAuthStore for $store {
            async fn insert_signing_key(
                &self,
                key: &portcullis_core::jwt::StoredKey,
                retire_others: bool,
            ) -> Result<(), portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                if retire_others {
                    sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
                        .bind(key.created_at.unix_timestamp())
                        .execute(&mut *tx)
                        .await
                        .map_err(crate::error::other)?;
                }
                sqlx::query(
                    "INSERT INTO signing_keys (kid, alg, public_key, sealed_private, created_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&key.kid)
                .bind(&key.alg)
                .bind(&key.public_key)
                .bind(&key.sealed_private)
                .bind(key.created_at.unix_timestamp())
                .execute(&mut *tx)
                .await
                .map_err(|e| crate::error::map(e, "kid"))?;
                tx.commit().await.map_err(crate::error::other)
            }

            async fn list_signing_keys(
                &self,
                retired_after: time::OffsetDateTime,
            ) -> Result<Vec<portcullis_core::jwt::StoredKey>, portcullis_core::StoreError> {
                let rows = sqlx::query(
                    "SELECT kid, alg, public_key, sealed_private, created_at, retired_at FROM signing_keys
                     WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, kid",
                )
                .bind(retired_after.unix_timestamp())
                .fetch_all(&self.pool)
                .await
                .map_err(crate::error::other)?;
                rows.iter().map(crate::oauth::key_from_row).collect::<Result<_, _>>().map_err(crate::error::other)
            }

            async fn purge_signing_keys(&self, before: time::OffsetDateTime) -> Result<u64, portcullis_core::StoreError> {
                sqlx::query("DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1")
                    .bind(before.unix_timestamp())
                    .execute(&self.pool)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(crate::error::other)
            }

            async fn create_client(&self, c: &portcullis_core::oauth::Client) -> Result<(), portcullis_core::StoreError> {
                sqlx::query(
                    "INSERT INTO oauth_clients (id, name, secret_hash, redirect_uris, public, first_party,
                                                resource_server, created_at)
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
                .map(|_| ())
                .map_err(|e| crate::error::map(e, "client_id"))
            }

            async fn find_client(
                &self,
                id: &str,
            ) -> Result<Option<portcullis_core::oauth::Client>, portcullis_core::StoreError> {
                let row = sqlx::query(
                    "SELECT id, name, secret_hash, redirect_uris, public, first_party, resource_server, created_at
                     FROM oauth_clients WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(crate::error::other)?;
                row.map(|r| crate::oauth::client_from_row(&r)).transpose().map_err(crate::error::other)
            }

            async fn list_clients(&self) -> Result<Vec<portcullis_core::oauth::Client>, portcullis_core::StoreError> {
                let rows = sqlx::query(
                    "SELECT id, name, secret_hash, redirect_uris, public, first_party, resource_server, created_at
                     FROM oauth_clients ORDER BY created_at, id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(crate::error::other)?;
                rows.iter().map(crate::oauth::client_from_row).collect::<Result<_, _>>().map_err(crate::error::other)
            }

            async fn delete_client(&self, id: &str) -> Result<bool, portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                for sql in [
                    "DELETE FROM oauth_codes WHERE client_id = $1",
                    "DELETE FROM oauth_consents WHERE client_id = $1",
                    "DELETE FROM token_families WHERE client_id = $1",
                ] {
                    sqlx::query(sql).bind(id).execute(&mut *tx).await.map_err(crate::error::other)?;
                }
                let n = sqlx::query("DELETE FROM oauth_clients WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::other)?
                    .rows_affected();
                tx.commit().await.map_err(crate::error::other)?;
                Ok(n == 1)
            }

            async fn insert_code(
                &self,
                hash: portcullis_core::TokenHash,
                c: &portcullis_core::oauth::AuthCode,
            ) -> Result<(), portcullis_core::StoreError> {
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
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(|e| crate::error::map(e, "code"))
            }

            async fn consume_code(
                &self,
                hash: portcullis_core::TokenHash,
                family: uuid::Uuid,
                now: time::OffsetDateTime,
            ) -> Result<portcullis_core::oauth::CodeUse, portcullis_core::StoreError> {
                use sqlx::Row as _;
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                let row = sqlx::query(
                    "UPDATE oauth_codes SET used_at = $2, family_id = $3 WHERE hash = $1 AND used_at IS NULL
                     RETURNING client_id, user_id, redirect_uri, scope, nonce, code_challenge, auth_time,
                               created_at, expires_at",
                )
                .bind(&hash.as_bytes()[..])
                .bind(now.unix_timestamp())
                .bind(family.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(crate::error::other)?;
                let result = if let Some(r) = row {
                    let code = (|| -> Result<portcullis_core::oauth::AuthCode, sqlx::Error> {
                        Ok(portcullis_core::oauth::AuthCode {
                            client_id: r.try_get("client_id")?,
                            user_id: crate::queries::user_id(&r.try_get::<String, _>("user_id")?)?,
                            redirect_uri: r.try_get("redirect_uri")?,
                            scope: r.try_get("scope")?,
                            nonce: r.try_get("nonce")?,
                            code_challenge: r.try_get("code_challenge")?,
                            auth_time: crate::queries::ts(r.try_get("auth_time")?)?,
                            created_at: crate::queries::ts(r.try_get("created_at")?)?,
                            expires_at: crate::queries::ts(r.try_get("expires_at")?)?,
                        })
                    })()
                    .map_err(crate::error::other)?;
                    portcullis_core::oauth::CodeUse::Fresh(code)
                } else {
                    let spent: Option<Option<String>> =
                        sqlx::query_scalar("SELECT family_id FROM oauth_codes WHERE hash = $1")
                            .bind(&hash.as_bytes()[..])
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(crate::error::other)?;
                    match spent {
                        Some(family) => portcullis_core::oauth::CodeUse::Replayed {
                            family: family.and_then(|f| uuid::Uuid::parse_str(&f).ok()),
                        },
                        None => portcullis_core::oauth::CodeUse::Unknown,
                    }
                };
                tx.commit().await.map_err(crate::error::other)?;
                Ok(result)
            }

            async fn find_consent(
                &self,
                user: portcullis_core::UserId,
                client: &str,
            ) -> Result<Option<String>, portcullis_core::StoreError> {
                sqlx::query_scalar("SELECT scope FROM oauth_consents WHERE user_id = $1 AND client_id = $2")
                    .bind(user.to_string())
                    .bind(client)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(crate::error::other)
            }

            async fn grant_consent(
                &self,
                user: portcullis_core::UserId,
                client: &str,
                scope: &str,
                now: time::OffsetDateTime,
            ) -> Result<(), portcullis_core::StoreError> {
                sqlx::query(
                    "INSERT INTO oauth_consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope,
                         granted_at = excluded.granted_at",
                )
                .bind(user.to_string())
                .bind(client)
                .bind(scope)
                .bind(now.unix_timestamp())
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(crate::error::other)
            }

            async fn create_family(
                &self,
                f: &portcullis_core::oauth::TokenFamily,
                first: Option<&portcullis_core::oauth::NewRefresh>,
            ) -> Result<(), portcullis_core::StoreError> {
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                sqlx::query(
                    "INSERT INTO token_families (id, user_id, client_id, scope, auth_time, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(f.id.to_string())
                .bind(f.user_id.to_string())
                .bind(f.client_id.as_deref())
                .bind(&f.scope)
                .bind(f.auth_time.unix_timestamp())
                .bind(f.created_at.unix_timestamp())
                .execute(&mut *tx)
                .await
                .map_err(|e| crate::error::map(e, "family"))?;
                if let Some(first) = first {
                    let conn = &mut *tx;
                    insert_refresh!(conn, &f.id.to_string(), first).map_err(crate::error::other)?;
                }
                tx.commit().await.map_err(crate::error::other)
            }

            async fn rotate_refresh(
                &self,
                hash: portcullis_core::TokenHash,
                client: Option<&str>,
                next: &portcullis_core::oauth::NewRefresh,
                now: time::OffsetDateTime,
            ) -> Result<portcullis_core::oauth::Rotation, portcullis_core::StoreError> {
                use portcullis_core::oauth::Rotation;
                use sqlx::Row as _;
                let mut tx = $begin_write(&self.pool).await.map_err(crate::error::other)?;
                let row = sqlx::query(concat!(
                    "SELECT r.expires_at AS token_expires_at, r.used_at AS token_used_at, ",
                    family_columns!(),
                    ", u.id, u.email, u.email_verified, u.is_admin, u.disabled, u.mfa_enabled, u.created_at
                     FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id
                     JOIN users u ON u.id = f.user_id
                     WHERE r.hash = $1"
                ))
                .bind(&hash.as_bytes()[..])
                .fetch_optional(&mut *tx)
                .await
                .map_err(crate::error::other)?;
                let Some(row) = row else {
                    return Ok(Rotation::Invalid);
                };
                let family = crate::oauth::family_from_row(&row).map_err(crate::error::other)?;
                let user = crate::queries::user_from_row(&row).map_err(crate::error::other)?;
                let expires_at: i64 = row.try_get("token_expires_at").map_err(crate::error::other)?;
                let used_at: Option<i64> = row.try_get("token_used_at").map_err(crate::error::other)?;
                if family.client_id.as_deref() != client || user.disabled {
                    return Ok(Rotation::Invalid);
                }
                let family_id = family.id.to_string();
                let spent_now = if used_at.is_none() {
                    sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE hash = $1 AND used_at IS NULL")
                        .bind(&hash.as_bytes()[..])
                        .bind(now.unix_timestamp())
                        .execute(&mut *tx)
                        .await
                        .map_err(crate::error::other)?
                        .rows_affected()
                        == 1
                } else {
                    false
                };
                if !spent_now {
                    // Presented again after it was spent: whoever holds the family's
                    // newest token may be a thief, so the whole family goes.
                    sqlx::query("DELETE FROM token_families WHERE id = $1")
                        .bind(&family_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(crate::error::other)?;
                    tx.commit().await.map_err(crate::error::other)?;
                    return Ok(Rotation::Reused { user_id: family.user_id, client_id: family.client_id });
                }
                if expires_at <= now.unix_timestamp() {
                    return Ok(Rotation::Invalid);
                }
                let conn = &mut *tx;
                insert_refresh!(conn, &family_id, next).map_err(crate::error::other)?;
                tx.commit().await.map_err(crate::error::other)?;
                Ok(Rotation::Rotated(family, user))
            }

            async fn find_refresh_family(
                &self,
                hash: portcullis_core::TokenHash,
            ) -> Result<
                Option<(portcullis_core::oauth::TokenFamily, time::OffsetDateTime, bool)>,
                portcullis_core::StoreError,
            > {
                use sqlx::Row as _;
                let row = sqlx::query(concat!(
                    "SELECT r.expires_at AS token_expires_at, r.used_at AS token_used_at, ",
                    family_columns!(),
                    " FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id WHERE r.hash = $1"
                ))
                .bind(&hash.as_bytes()[..])
                .fetch_optional(&self.pool)
                .await
                .map_err(crate::error::other)?;
                let Some(row) = row else { return Ok(None) };
                let family = crate::oauth::family_from_row(&row).map_err(crate::error::other)?;
                let expires_at = crate::queries::ts(row.try_get("token_expires_at").map_err(crate::error::other)?)
                    .map_err(crate::error::other)?;
                let used_at: Option<i64> = row.try_get("token_used_at").map_err(crate::error::other)?;
                Ok(Some((family, expires_at, used_at.is_some())))
            }

            async fn find_family(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<(portcullis_core::oauth::TokenFamily, portcullis_core::User)>, portcullis_core::StoreError>
            {
                let row = sqlx::query(concat!(
                    "SELECT ",
                    family_columns!(),
                    ", u.id, u.email, u.email_verified, u.is_admin, u.disabled, u.mfa_enabled, u.created_at
                     FROM token_families f JOIN users u ON u.id = f.user_id
                     WHERE f.id = $1 AND u.disabled = $2"
                ))
                .bind(id.to_string())
                .bind(false)
                .fetch_optional(&self.pool)
                .await
                .map_err(crate::error::other)?;
                let Some(row) = row else { return Ok(None) };
                let family = crate::oauth::family_from_row(&row).map_err(crate::error::other)?;
                let user = crate::queries::user_from_row(&row).map_err(crate::error::other)?;
                Ok(Some((family, user)))
            }

            async fn revoke_family(&self, id: uuid::Uuid) -> Result<bool, portcullis_core::StoreError> {
                sqlx::query("DELETE FROM token_families WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&self.pool)
                    .await
                    .map(|r| r.rows_affected() == 1)
                    .map_err(crate::error::other)
            }

            async fn list_families(
                &self,
                user: portcullis_core::UserId,
            ) -> Result<Vec<portcullis_core::oauth::TokenFamily>, portcullis_core::StoreError> {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    family_columns!(),
                    " FROM token_families f WHERE f.user_id = $1 ORDER BY f.created_at DESC"
                ))
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(crate::error::other)?;
                rows.iter().map(crate::oauth::family_from_row).collect::<Result<_, _>>().map_err(crate::error::other)
            }

            async fn purge_oauth(&self, before: time::OffsetDateTime) -> Result<u64, portcullis_core::StoreError> {
                let mut n = 0;
                for sql in [
                    "DELETE FROM oauth_codes WHERE expires_at < $1",
                    "DELETE FROM token_families WHERE expires_at < $1",
                ] {
                    n += sqlx::query(sql)
                        .bind(before.unix_timestamp())
                        .execute(&self.pool)
                        .await
                        .map_err(crate::error::other)?
                        .rows_affected();
                }
                Ok(n)
            }
        }
    };
}
