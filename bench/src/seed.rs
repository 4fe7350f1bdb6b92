//! Seeding users and sessions straight into a migrated database, fast: rows made in
//! memory, secondary indexes dropped and rebuilt around the load (with the SQL the
//! migrations created them with), primary keys filled in key order, one transaction;
//! multi-row INSERTs on SQLite, COPY on PostgreSQL.
//!
//! User `i` is `user{i}@bench.example` with one precomputed Argon2id hash of
//! [`PASSWORD`] at the default cost, and owns session `i`, whose cookie value is a
//! fresh 256-bit token (43 base64url characters, stored as its SHA-256, exactly as
//! `portcullis_core::token` makes them). Every user is in the group [`GROUP`]
//! (what the forward-auth rules of the `/auth/verify` scenario ask for). A sample of
//! rows spread evenly over the whole table is kept for the load generator.

use std::fmt::Write as _;
use std::str::FromStr as _;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use uuid::Uuid;

/// The password of every seeded user.
pub const PASSWORD: &str = "bench-Passphrase-4d1c9e";

/// The group every seeded user is in.
pub const GROUP: &str = "bench";

/// Puts every user in [`GROUP`], and user 0 in `admin` too (`$1`: now).
const JOIN_GROUP: [&str; 3] = [
    "INSERT INTO access_groups (name, description, created_at) VALUES ('bench', 'benchmark users', $1)",
    "INSERT INTO group_members (group_name, user_id, added_at) SELECT 'bench', id, $1 FROM users",
    "INSERT INTO group_members (group_name, user_id, added_at)
     SELECT 'admin', id, $1 FROM users WHERE email_canonical = 'user0@bench.example'",
];

/// Rows per multi-row INSERT (SQLite) or per COPY (PostgreSQL).
const BATCH: usize = 2000;

/// Sessions and idle timeouts that outlive any run: ten years.
const LONG_SECS: i64 = 10 * 365 * 86_400;

/// Sessions were last seen an hour ago, so each sampled one is touched (its
/// `last_seen_at` written) on first use, in the warm-up of the first run, at every
/// scale alike, and not again for a minute.
const LAST_SEEN_AGO: i64 = 3600;

/// What the load generator needs from a seeded database.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Emails of sampled users (all with [`PASSWORD`]).
    pub emails: Vec<String>,
    /// Cookie values of sampled sessions; the first is user 0's, an administrator.
    pub tokens: Vec<String>,
    /// When the users were created (Unix seconds): all at once.
    pub created_at: i64,
}

/// User `index` and its session.
struct Row {
    index: u64,
    user_id: Uuid,
    session_id: Uuid,
    token_hash: [u8; 32],
}

impl Row {
    fn email(&self) -> String {
        format!("user{}@bench.example", self.index)
    }
}

/// Makes `count` rows and keeps every (`count / sample`)-th in the sample.
fn generate(count: u64, sample: u64) -> (Vec<Row>, Sample) {
    let stride = (count / sample.max(1)).max(1);
    let mut rows = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let mut kept = Sample::default();
    // 16 bytes per user id, 16 per session id, 32 per token.
    let mut random = vec![0u8; 64 * 4096];
    let mut index = 0;
    while index < count {
        getrandom::fill(&mut random).expect("the operating system's random number generator failed");
        for r in random.chunks_exact(64).take(usize::try_from(count - index).unwrap_or(usize::MAX)) {
            let uuid =
                |b: &[u8]| uuid::Builder::from_random_bytes(b.try_into().expect("16 bytes")).into_uuid();
            let token = URL_SAFE_NO_PAD.encode(&r[32..64]);
            let row = Row {
                index,
                user_id: uuid(&r[..16]),
                session_id: uuid(&r[16..32]),
                token_hash: Sha256::digest(token.as_bytes()).into(),
            };
            if index % stride == 0 {
                kept.emails.push(row.email());
                kept.tokens.push(token);
            }
            rows.push(row);
            index += 1;
        }
    }
    (rows, kept)
}

/// Seeds `count` users and sessions into the SQLite file at `path`.
pub async fn sqlite(
    path: &std::path::Path,
    count: u64,
    sample: u64,
    hash: &str,
    now: i64,
) -> anyhow::Result<Sample> {
    let (mut rows, kept) = generate(count, sample);
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Off)
        .foreign_keys(false)
        .pragma("cache_size", "-262144");
    let mut conn = SqliteConnection::connect_with(&options).await.context("cannot open the SQLite file")?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master
         WHERE type = 'index' AND tbl_name IN ('users', 'sessions') AND sql IS NOT NULL",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut tx = conn.begin().await?;
    for (name, _) in &indexes {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP INDEX \"{name}\""))).execute(&mut *tx).await?;
    }
    rows.sort_unstable_by_key(|r| r.user_id);
    for batch in rows.chunks(BATCH) {
        let mut sql = String::from(
            "INSERT INTO users (id, email, email_canonical, password_hash, created_at, updated_at, \
             password_changed_at) VALUES ",
        );
        for k in 0..batch.len() {
            let p = 3 + 2 * k;
            let sep = if k == 0 { "" } else { "," };
            write!(sql, "{sep}(${p}, ${}, ${}, $1, $2, $2, $2)", p + 1, p + 1)?;
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hash).bind(now);
        for row in batch {
            q = q.bind(row.user_id.to_string()).bind(row.email());
        }
        q.execute(&mut *tx).await.context("inserting users")?;
    }
    rows.sort_unstable_by_key(|r| r.token_hash);
    for batch in rows.chunks(BATCH) {
        let mut sql = String::from(
            "INSERT INTO sessions (token_hash, public_id, user_id, created_at, last_seen_at, expires_at, \
             idle_timeout_secs, remember, authenticated_at) VALUES ",
        );
        for k in 0..batch.len() {
            let p = 4 + 3 * k;
            let sep = if k == 0 { "" } else { "," };
            write!(sql, "{sep}(${p}, ${}, ${}, $1, $1, $2, $3, 1, $1)", p + 1, p + 2)?;
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now - LAST_SEEN_AGO)
            .bind(now + LONG_SECS)
            .bind(LONG_SECS);
        for row in batch {
            q = q
                .bind(row.token_hash.to_vec())
                .bind(row.session_id.to_string())
                .bind(row.user_id.to_string());
        }
        q.execute(&mut *tx).await.context("inserting sessions")?;
    }
    for statement in JOIN_GROUP {
        sqlx::query(statement).bind(now).execute(&mut *tx).await.context("joining the group")?;
    }
    for (_, sql) in indexes {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await.context("rebuilding an index")?;
    }
    tx.commit().await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await?;
    conn.close().await?;
    Ok(Sample { created_at: now, ..kept })
}

/// Seeds `count` users and sessions into the PostgreSQL database at `url` with COPY.
pub async fn postgres(url: &str, count: u64, sample: u64, hash: &str, now: i64) -> anyhow::Result<Sample> {
    let (mut rows, kept) = generate(count, sample);
    let mut conn = sqlx::PgConnection::connect(url).await.context("cannot connect to PostgreSQL")?;
    // Indexes that back no constraint (primary keys and UNIQUE constraints stay).
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.indexname::text, i.indexdef FROM pg_indexes i
         WHERE i.schemaname = current_schema() AND i.tablename IN ('users', 'sessions')
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut tx = conn.begin().await?;
    for (name, _) in &indexes {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP INDEX \"{name}\""))).execute(&mut *tx).await?;
    }
    let mut data = String::new();
    rows.sort_unstable_by_key(|r| r.user_id);
    for batch in rows.chunks(BATCH) {
        data.clear();
        for row in batch {
            let (id, email) = (row.user_id, row.email());
            writeln!(data, "{id}\t{email}\t{email}\t{hash}\t{now}\t{now}\t{now}")?;
        }
        copy(&mut tx, USERS_COPY, &data).await.context("copying users")?;
    }
    rows.sort_unstable_by_key(|r| r.token_hash);
    for batch in rows.chunks(BATCH) {
        data.clear();
        for row in batch {
            // bytea in hex, its backslash escaped for COPY's text format.
            data.push_str("\\\\x");
            for b in row.token_hash {
                write!(data, "{b:02x}")?;
            }
            let (sid, uid, seen, expires) =
                (row.session_id, row.user_id, now - LAST_SEEN_AGO, now + LONG_SECS);
            writeln!(data, "\t{sid}\t{uid}\t{seen}\t{seen}\t{expires}\t{LONG_SECS}\ttrue\t{seen}")?;
        }
        copy(&mut tx, SESSIONS_COPY, &data).await.context("copying sessions")?;
    }
    for statement in JOIN_GROUP {
        sqlx::query(statement).bind(now).execute(&mut *tx).await.context("joining the group")?;
    }
    for (_, sql) in indexes {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await.context("rebuilding an index")?;
    }
    tx.commit().await?;
    // What autovacuum would have done by the time a real table got this big, and a
    // checkpoint now rather than during a measurement.
    for statement in
        ["VACUUM ANALYZE users", "VACUUM ANALYZE sessions", "VACUUM ANALYZE group_members", "CHECKPOINT"]
    {
        sqlx::raw_sql(statement).execute(&mut conn).await.context(statement)?;
    }
    conn.close().await?;
    Ok(Sample { created_at: now, ..kept })
}

const USERS_COPY: &str = "COPY users (id, email, email_canonical, password_hash, created_at, updated_at, \
                          password_changed_at) FROM STDIN";
const SESSIONS_COPY: &str = "COPY sessions (token_hash, public_id, user_id, created_at, last_seen_at, \
                             expires_at, idle_timeout_secs, remember, authenticated_at) FROM STDIN";

async fn copy(conn: &mut sqlx::PgConnection, statement: &str, data: &str) -> anyhow::Result<()> {
    let mut copy = conn.copy_in_raw(statement).await?;
    copy.send(data.as_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// The Argon2id PHC string of [`PASSWORD`] at the default cost (m=19456 KiB, t=2, p=1).
pub fn password_hash() -> anyhow::Result<String> {
    use argon2::PasswordHasher as _;
    let hasher = crate::argon::hasher()?;
    let hash = hasher.hash_password(PASSWORD.as_bytes()).map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_tokens_have_the_shape_portcullis_makes_and_hash_to_the_stored_value() {
        let (rows, sample) = generate(10, 5);
        assert_eq!(
            sample.emails,
            [
                "user0@bench.example",
                "user2@bench.example",
                "user4@bench.example",
                "user6@bench.example",
                "user8@bench.example"
            ]
        );
        for (k, token) in sample.tokens.iter().enumerate() {
            assert_eq!(token.len(), 43);
            assert_eq!(URL_SAFE_NO_PAD.decode(token).unwrap().len(), 32);
            let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            assert_eq!(rows[2 * k].token_hash, digest);
        }
    }
}
