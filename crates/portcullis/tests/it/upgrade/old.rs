//! The database as the binaries of the past built and filled it: their migrations
//! applied one at a time, and their store's SQL writing each table right after the
//! migration that created it.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis::{Clock as _, SystemClock};
use ring::rand::SecureRandom as _;
use sha2::{Digest as _, Sha256};
use sqlx::Connection as _;
use uuid::Uuid;

use super::authenticator::Authenticator;
use crate::helpers::{Backend, PASSWORD};

pub const MAIL_SUBJECT: &str = "Queued before the upgrade";

/// One file of `crates/portcullis-store/migrations/<backend>/`.
pub struct MigrationFile {
    pub version: i64,
    name: String,
    sql: String,
}

/// The backend's migrations, in order, read from the source tree.
pub fn migration_files(backend: Backend) -> Vec<MigrationFile> {
    let folder = if backend == Backend::Sqlite { "sqlite" } else { "postgres" };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../portcullis-store/migrations").join(folder);
    let mut files: Vec<MigrationFile> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let name = path.file_stem().expect("a file name").to_string_lossy().into_owned();
            let version = name.split('_').next().and_then(|v| v.parse().ok()).expect("NNNN_name.sql");
            let sql = std::fs::read_to_string(&path).expect("read a migration");
            MigrationFile { version, name, sql }
        })
        .collect();
    files.sort_by_key(|m| m.version);
    files
}

/// A value bound to old SQL.
enum Val {
    Text(String),
    Int(i64),
    Bool(bool),
    Bytes(Vec<u8>),
    NullText,
}

/// A connection as an old binary held it.
pub enum OldDb {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

macro_rules! bind_all {
    ($sql:expr, $args:expr) => {{
        let mut q = sqlx::query($sql);
        for arg in $args {
            q = match arg {
                Val::Text(s) => q.bind(s),
                Val::Int(i) => q.bind(i),
                Val::Bool(b) => q.bind(b),
                Val::Bytes(b) => q.bind(b),
                Val::NullText => q.bind(None::<String>),
            };
        }
        q
    }};
}

impl OldDb {
    pub async fn open(backend: Backend, url: &str) -> Self {
        match backend {
            Backend::Sqlite => {
                use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
                let path = url.strip_prefix("sqlite://").expect("an sqlite:// URL");
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .foreign_keys(true);
                Self::Sqlite(sqlx::SqliteConnection::connect_with(&options).await.expect("open SQLite"))
            }
            Backend::Postgres => Self::Postgres(sqlx::PgConnection::connect(url).await.expect("connect")),
        }
    }

    async fn run(&mut self, sql: &'static str, args: Vec<Val>) {
        let done = match self {
            Self::Sqlite(c) => bind_all!(sql, args).execute(&mut *c).await.map(drop),
            Self::Postgres(c) => bind_all!(sql, args).execute(&mut *c).await.map(drop),
        };
        done.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn raw(&mut self, sql: String) {
        let done = match self {
            Self::Sqlite(c) => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone())).execute(&mut *c).await.map(drop)
            }
            Self::Postgres(c) => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone())).execute(&mut *c).await.map(drop)
            }
        };
        done.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Applies one migration as every version so far has: in a write transaction,
    /// recorded in `portcullis_migrations`.
    pub async fn apply(&mut self, m: &MigrationFile) {
        let begin = if matches!(self, Self::Sqlite(_)) { "BEGIN IMMEDIATE" } else { "BEGIN" };
        self.raw(begin.into()).await;
        self.raw(
            "CREATE TABLE IF NOT EXISTS portcullis_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)"
                .into(),
        )
        .await;
        self.raw(m.sql.clone()).await;
        let record = "INSERT INTO portcullis_migrations (version, name) VALUES ($1, $2)";
        self.run(record, vec![Val::Int(m.version), Val::Text(m.name.clone())]).await;
        self.raw("COMMIT".into()).await;
    }

    pub async fn recorded_versions(&mut self) -> Vec<i64> {
        let sql = "SELECT version FROM portcullis_migrations ORDER BY version";
        match self {
            Self::Sqlite(c) => sqlx::query_scalar(sql).fetch_all(&mut *c).await.unwrap(),
            Self::Postgres(c) => sqlx::query_scalar(sql).fetch_all(&mut *c).await.unwrap(),
        }
    }

    pub async fn close(self) {
        match self {
            Self::Sqlite(c) => c.close().await.unwrap(),
            Self::Postgres(c) => c.close().await.unwrap(),
        }
    }
}

/// 256 random bits as the 43 base64url characters every token has been.
fn secret_token() -> String {
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut bytes).expect("random bytes");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a token: the SHA-256 of its text.
fn token_hash(token: &str) -> Val {
    Val::Bytes(Sha256::digest(token.as_bytes()).to_vec())
}

/// What the old versions wrote, and the secrets a user kept from then.
pub struct OldData {
    now: i64,
    pub alice: Uuid,
    pub bob: Uuid,
    pub session: String,
    pub reset: String,
    pub refresh: String,
    pub passkey: Authenticator,
}

pub fn email(user: &str) -> String {
    format!("{user}@example.com")
}

impl OldData {
    pub fn new() -> Self {
        Self {
            now: SystemClock.now().unix_timestamp(),
            alice: Uuid::new_v4(),
            bob: Uuid::new_v4(),
            session: secret_token(),
            reset: secret_token(),
            refresh: secret_token(),
            passkey: Authenticator::new(),
        }
    }

    /// Writes, right after migration `version`, the rows of the tables it created.
    pub async fn fill(&self, version: i64, db: &mut OldDb) {
        match version {
            1 => self.fill_0001(db).await,
            5 => self.fill_0005(db).await,
            6 => self.fill_0006(db).await,
            7 => self.fill_0007(db).await,
            _ => {}
        }
    }

    /// Users (password hashed at the default cost of the day, an hour ago), a
    /// session, and the CSRF secret (`49b7e6a`'s `create_user`, `create_session`,
    /// `get_or_create_secret`).
    async fn fill_0001(&self, db: &mut OldDb) {
        use argon2::PasswordHasher as _;
        let hash = argon2::Argon2::default().hash_password(PASSWORD.as_bytes()).expect("hash").to_string();
        for (id, name) in [(self.alice, "alice"), (self.bob, "bob")] {
            db.run(
                "INSERT INTO users (id, email, email_canonical, password_hash, email_verified, is_admin,
                     created_at, updated_at, password_changed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7)",
                vec![
                    Val::Text(id.to_string()),
                    Val::Text(email(name)),
                    Val::Text(email(name)),
                    Val::Text(hash.clone()),
                    Val::Bool(true),
                    // Alice was an administrator: 0009 moves her into the group admin.
                    Val::Bool(name == "alice"),
                    Val::Int(self.now - 3600),
                ],
            )
            .await;
        }
        db.run(
            "INSERT INTO sessions (token_hash, public_id, user_id, created_at, last_seen_at, expires_at,
                 idle_timeout_secs, remember, authenticated_at, ip, user_agent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            vec![
                token_hash(&self.session),
                Val::Text(Uuid::new_v4().to_string()),
                Val::Text(self.alice.to_string()),
                Val::Int(self.now - 60),
                Val::Int(self.now - 60),
                Val::Int(self.now + 86_400),
                Val::Int(7200),
                Val::Bool(false),
                Val::Int(self.now - 60),
                Val::Text("127.0.0.1".into()),
                Val::Text("upgrade test".into()),
            ],
        )
        .await;
        let mut key = [0u8; 32];
        ring::rand::SystemRandom::new().fill(&mut key).expect("random bytes");
        db.run(
            "INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            vec![Val::Text("csrf_key".into()), Val::Bytes(key.to_vec()), Val::Int(self.now - 3600)],
        )
        .await;
    }

    /// A reset link for Bob and a mail waiting for Alice (`5224093`'s `insert_token`
    /// and `insert_mail`).
    async fn fill_0005(&self, db: &mut OldDb) {
        db.run(
            "INSERT INTO tokens (hash, kind, user_id, new_email, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                token_hash(&self.reset),
                Val::Text("reset_password".into()),
                Val::Text(self.bob.to_string()),
                Val::NullText,
                Val::Int(self.now),
                Val::Int(self.now + 3600),
            ],
        )
        .await;
        db.run(
            "INSERT INTO outbox (user_id, recipient, subject, body_text, body_html, created_at, attempts,
                 next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, 0, $6)",
            vec![
                Val::Text(self.alice.to_string()),
                Val::Text(email("alice")),
                Val::Text(MAIL_SUBJECT.into()),
                Val::Text("Written by an old version.".into()),
                Val::Text("<p>Written by an old version.</p>".into()),
                Val::Int(self.now - 60),
            ],
        )
        .await;
    }

    /// A `/api/v1/tokens` family of Alice's with its refresh token (`becd39e`'s
    /// `create_family` and `insert_refresh`).
    async fn fill_0006(&self, db: &mut OldDb) {
        let family = Uuid::new_v4().to_string();
        db.run(
            "INSERT INTO token_families (id, user_id, client_id, scope, auth_time, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
            vec![
                Val::Text(family.clone()),
                Val::Text(self.alice.to_string()),
                Val::NullText,
                Val::Text(String::new()),
                Val::Int(self.now - 60),
                Val::Int(self.now - 60),
            ],
        )
        .await;
        db.run(
            "INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            vec![
                token_hash(&self.refresh),
                Val::Text(family.clone()),
                Val::Int(self.now - 60),
                Val::Int(self.now + 30 * 86_400),
            ],
        )
        .await;
        db.run(
            "UPDATE token_families SET expires_at = $1 WHERE id = $2",
            vec![Val::Int(self.now + 30 * 86_400), Val::Text(family)],
        )
        .await;
    }

    /// Alice's passkey (`77c0e23`'s `add_passkey`).
    async fn fill_0007(&self, db: &mut OldDb) {
        db.run(
            "INSERT INTO passkeys (id, user_id, credential_id, name, sign_count, credential, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            vec![
                Val::Text(Uuid::new_v4().to_string()),
                Val::Text(self.alice.to_string()),
                Val::Bytes(self.passkey.credential_id.clone()),
                Val::Text("Old laptop".into()),
                Val::Int(0),
                Val::Text(self.passkey.stored_passkey()),
                Val::Int(self.now - 60),
            ],
        )
        .await;
    }
}
