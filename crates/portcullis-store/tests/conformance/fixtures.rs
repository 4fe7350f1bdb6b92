//! A migrated store on a database of its own, and the values tests build rows from.

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::mail::NewMail;
use portcullis_core::store::{NewToken, NewUser};
use portcullis_core::{Email, OutgoingMail, SecretToken, Store, TokenHash, TokenKind, User, UserId};
use portcullis_store::{ConnectOptions, Database};
use time::OffsetDateTime;

/// The PostgreSQL server tests use (`PCTEST_POSTGRES_URL`, default the local one).
fn postgres_admin_url() -> String {
    std::env::var("PCTEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub struct TestStore {
    pub url: String,
    pub store: Arc<dyn Store>,
    pub database: Database,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl std::ops::Deref for TestStore {
    type Target = dyn Store;
    fn deref(&self) -> &Self::Target {
        &*self.store
    }
}

impl TestStore {
    async fn open(url: String, pg_name: Option<String>, dir: Option<tempfile::TempDir>) -> Self {
        let options = ConnectOptions {
            url: url.clone(),
            max_connections: 4,
            connect_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(10),
        };
        let database = Database::connect(&options).await.expect("connect");
        database.migrate().await.expect("migrate");
        Self { url, store: database.store(), database, pg_name, _dir: dir }
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        Self::open(url, None, Some(dir)).await
    }

    /// `None` (with the reason printed) when PostgreSQL is unreachable; a panic
    /// instead under `CI=true`.
    pub async fn postgres() -> Option<Self> {
        use sqlx::Connection as _;
        let admin = postgres_admin_url();
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI=true but PostgreSQL at {admin} is unreachable: {e}"
                );
                eprintln!(
                    "SKIPPED: PostgreSQL at {admin} is unreachable ({e}); set PCTEST_POSTGRES_URL to run these tests"
                );
                return None;
            }
        };
        let name = format!("pcstore_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let _ = conn.close().await;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_owned();
        Some(Self::open(format!("{base}/{name}"), Some(name), None).await)
    }

    pub async fn close(self) {
        self.database.close().await;
        if let Some(name) = &self.pg_name {
            use sqlx::Connection as _;
            let mut conn =
                sqlx::PgConnection::connect(&postgres_admin_url()).await.expect("connect to PostgreSQL");
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.expect("drop test database");
            let _ = conn.close().await;
        }
    }

    /// A new user with the address `email` (its lower case as the canonical key).
    pub async fn user(&self, email: &str) -> User {
        let canonical = email.to_lowercase();
        self.store.create_user(new_user(email, &canonical), None, None).await.expect("create user")
    }
}

/// A fixed instant, so that tests never read the clock.
pub fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("valid timestamp")
}

pub fn new_user<'a>(email: &'a str, canonical: &'a str) -> NewUser<'a> {
    NewUser {
        id: UserId::new(),
        email,
        email_canonical: canonical,
        password_hash: "$argon2id$fake",
        email_verified: false,
        groups: &[],
        created_at: t0(),
    }
}

pub fn mail(user: Option<UserId>, subject: &str, at: OffsetDateTime) -> NewMail {
    NewMail {
        user_id: user,
        mail: OutgoingMail {
            to: Email::parse("someone@example.com").expect("valid address"),
            subject: subject.into(),
            text: "text".into(),
            html: "<p>html</p>".into(),
        },
        at,
    }
}

/// A fresh random token and its hash.
pub fn secret() -> (SecretToken, TokenHash) {
    let token = SecretToken::generate();
    let hash = token.hash();
    (token, hash)
}

pub fn token(user: UserId, kind: TokenKind, hash: TokenHash, new_email: Option<&str>) -> NewToken {
    NewToken {
        hash,
        kind,
        user_id: user,
        new_email: new_email.map(str::to_owned),
        created_at: t0(),
        expires_at: t0() + time::Duration::hours(1),
    }
}
