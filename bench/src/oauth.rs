//! The OAuth 2.0 / OpenID Connect scenarios: `POST /oauth2/token` exchanging an
//! authorization code, the same endpoint spending a refresh token, and
//! `POST /oauth2/introspect`, each for a confidential client authenticated with
//! HTTP Basic (what Keycloak's published sizing measures).
//!
//! Codes and refresh tokens are single-use, so the harness seeds as many as the
//! run can spend straight into the database (as `portcullis_core` stores them: the
//! SHA-256 of a 256-bit base64url token), each for a sampled user, and the load
//! generator hands each out once ([`Load::single_use`]).

use std::fmt::Write as _;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use sqlx::Connection as _;

use crate::Backend;
use crate::plan::{Ctx, portcullis_command};
use crate::wrk::{Load, Variant};

/// Where the seeded codes say the client redirected to.
const REDIRECT_URI: &str = "https://app.bench.example/callback";

/// Enough single-use credentials for `seconds` of the fastest plausible rate.
pub(crate) fn needed(seconds: u64) -> usize {
    const FASTEST_PER_SEC: u64 = 8000;
    usize::try_from((seconds.max(1) * FASTEST_PER_SEC).max(20_000)).unwrap_or(usize::MAX)
}

/// A registered confidential client and what it can spend.
pub(crate) struct OAuthSetup {
    basic: String,
    pub(crate) codes: Vec<String>,
    pub(crate) refresh_tokens: Vec<String>,
}

/// The same statements on either backend (both take `$n` parameters).
macro_rules! seed {
    ($conn:ident, $client:expr, $codes:expr, $refresh:expr, $now:expr) => {{
        let users: Vec<String> = sqlx::query_scalar("SELECT id FROM users ORDER BY email_canonical LIMIT 1000")
            .fetch_all(&mut $conn)
            .await?;
        anyhow::ensure!(!users.is_empty(), "no seeded users");
        let mut tx = $conn.begin().await?;
        for (batch, chunk) in $codes.chunks(500).enumerate() {
            let mut sql = String::from(
                "INSERT INTO oauth_codes (hash, client_id, user_id, redirect_uri, scope, auth_time, \
                 created_at, expires_at) VALUES ",
            );
            for k in 0..chunk.len() {
                let p = 5 + 2 * k;
                let sep = if k == 0 { "" } else { "," };
                write!(sql, "{sep}(${p}, $1, ${}, $2, 'openid email', $3, $3, $4)", p + 1)?;
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind($client).bind(REDIRECT_URI).bind($now).bind($now + 86_400);
            for (k, code) in chunk.iter().enumerate() {
                let user = &users[(batch * 500 + k) % users.len()];
                q = q.bind(hash(code)).bind(user.clone());
            }
            q.execute(&mut *tx).await.context("seeding authorization codes")?;
        }
        for (batch, chunk) in $refresh.chunks(500).enumerate() {
            let family_ids: Vec<String> = chunk.iter().map(|_| uuid::Uuid::new_v4().to_string()).collect();
            let mut sql = String::from(
                "INSERT INTO token_families (id, user_id, client_id, scope, auth_time, created_at, expires_at) VALUES ",
            );
            for k in 0..chunk.len() {
                let p = 4 + 2 * k;
                let sep = if k == 0 { "" } else { "," };
                write!(sql, "{sep}(${p}, ${}, $1, 'openid email', $2, $2, $3)", p + 1)?;
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind($client).bind($now).bind($now + 86_400);
            for (k, family) in family_ids.iter().enumerate() {
                q = q.bind(family.clone()).bind(users[(batch * 500 + k) % users.len()].clone());
            }
            q.execute(&mut *tx).await.context("seeding token families")?;
            let mut sql =
                String::from("INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) VALUES ");
            for k in 0..chunk.len() {
                let p = 3 + 2 * k;
                let sep = if k == 0 { "" } else { "," };
                write!(sql, "{sep}(${p}, ${}, $1, $2)", p + 1)?;
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind($now).bind($now + 86_400);
            for (token, family) in chunk.iter().zip(&family_ids) {
                q = q.bind(hash(token)).bind(family.clone());
            }
            q.execute(&mut *tx).await.context("seeding refresh tokens")?;
        }
        tx.commit().await?;
    }};
}

/// Registers the client with `portcullis client create` and seeds `count` codes
/// and `count` refresh-token families for the first sampled users.
pub(crate) async fn prepare(
    ctx: &Ctx,
    backend: Backend,
    url: &str,
    count: usize,
) -> anyhow::Result<OAuthSetup> {
    let out = portcullis_command(ctx, url, "client")
        .args(["create", "--name", "bench", "--redirect-uri", REDIRECT_URI])
        .args(["--first-party", "--resource-server", "--json"])
        .output()
        .await?;
    if !out.status.success() {
        bail!("portcullis client create failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("portcullis client create --json: not JSON")?;
    let id = json["client_id"].as_str().context("no client_id")?.to_owned();
    let secret = json["client_secret"].as_str().context("no client_secret")?.to_owned();
    let codes: Vec<String> = (0..count).map(|_| crate::wrk::fake_token()).collect();
    let refresh_tokens: Vec<String> = (0..count).map(|_| crate::wrk::fake_token()).collect();
    let now = crate::machine::unix_now();
    match backend {
        Backend::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{path}")).await?;
            seed!(conn, &id, &codes, &refresh_tokens, now);
            conn.close().await?;
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            seed!(conn, &id, &codes, &refresh_tokens, now);
            sqlx::raw_sql("VACUUM ANALYZE oauth_codes, token_families, refresh_tokens")
                .execute(&mut conn)
                .await?;
            conn.close().await?;
        }
    }
    let basic = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    Ok(OAuthSetup { basic, codes, refresh_tokens })
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

impl OAuthSetup {
    fn form(&self, body: String) -> Variant {
        Variant {
            headers: vec![
                ("Authorization".into(), self.basic.clone()),
                ("Content-Type".into(), "application/x-www-form-urlencoded".into()),
                ("Accept".into(), "application/json".into()),
            ],
            body: Some(body),
        }
    }

    /// `grant_type=authorization_code`, each code once.
    pub(crate) fn code_load(&self) -> Load {
        let redirect = form_encode(REDIRECT_URI);
        let variants = self
            .codes
            .iter()
            .map(|c| self.form(format!("grant_type=authorization_code&code={c}&redirect_uri={redirect}")))
            .collect();
        Load { method: "POST", path: "/oauth2/token".into(), variants, single_use: true }
    }

    /// `grant_type=refresh_token`, each refresh token once.
    pub(crate) fn refresh_load(&self) -> Load {
        let variants = self
            .refresh_tokens
            .iter()
            .map(|t| self.form(format!("grant_type=refresh_token&refresh_token={t}")))
            .collect();
        Load { method: "POST", path: "/oauth2/token".into(), variants, single_use: true }
    }

    /// `/oauth2/introspect` of the users' access tokens, by the resource server.
    pub(crate) fn introspect_load(&self, access_tokens: &[String]) -> Load {
        let variants = access_tokens.iter().map(|t| self.form(format!("token={t}"))).collect();
        Load { method: "POST", path: "/oauth2/introspect".into(), variants, single_use: false }
    }
}

fn form_encode(raw: &str) -> String {
    raw.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    #[test]
    fn seeded_credentials_are_256_bit_base64url_tokens_and_the_form_is_encoded() {
        let token = crate::wrk::fake_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        assert_eq!(form_encode("https://a.example/cb"), "https%3A%2F%2Fa.example%2Fcb");
        assert!(needed(12) >= 12 * 8000);
    }
}
