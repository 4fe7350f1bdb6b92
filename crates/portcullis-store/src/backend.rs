//! What differs between SQLite and PostgreSQL, in one place: the `Backend` trait.
//! Every query elsewhere in this crate is written once, generic over it.

use std::future::Future;

use sqlx::{Pool, Postgres, Sqlite, Transaction};

use crate::migrations::{self, Migration};

/// A database the store runs on. Its methods and constants are the only places
/// where the SQL of the two backends differs.
///
/// The sqlx bounds that generic queries need (encoding `i64`, `bool`, text and
/// bytes, executing on a connection) cannot be gathered here: Rust implies only a
/// trait's bounds on `Self`. Each block that runs SQL gets them from the
/// `#[generic_sql]` attribute of `portcullis-store-macros`, which writes them once.
pub trait Backend: sqlx::Database<QueryResult: RowsAffected> {
    /// The embedded migrations of this backend.
    const MIGRATIONS: &'static [Migration];

    /// Run first in each migration's transaction so nodes starting together take
    /// turns; `None` where `begin_write` already serialises writers.
    const MIGRATION_LOCK: Option<&'static str>;

    /// Run first in each migration's transaction where statements have a time
    /// limit: a migration may wait for another node's, and may take long.
    const MIGRATION_UNLIMITED: Option<&'static str>;

    /// Run first in a throttle transaction with the bucket name as `$1`, so that
    /// attempts on one bucket take turns; `None` where `begin_write` already
    /// serialises writers.
    const LOCK_BUCKET: Option<&'static str>;

    /// Run first in a transaction that may take an administrator away (disabling,
    /// deleting, removing from `admin`), before it counts the enabled
    /// administrators left, so two such changes take turns and cannot both see
    /// the other's administrator still there; `None` where `begin_write` already
    /// serialises writers.
    const LOCK_ADMINS: Option<&'static str>;

    /// Run first in a transaction that decides on what a user has left (a
    /// sign-in method), with the user's id as `$1`, so two such changes to one
    /// user take turns; `None` where `begin_write` already serialises writers.
    const LOCK_USER: Option<&'static str>;

    /// Claims due, unclaimed mails: `$1` now, `$2` lease end, `$3` limit. Returns
    /// the columns `outbox::queued_from_row` reads.
    const CLAIM_MAILS: &'static str;
    /// Leases due webhook deliveries (see `webhooks.rs`): `$1` now, `$2` the lease's
    /// end, `$3` how many.
    const CLAIM_WEBHOOKS: &'static str;

    /// Whether one query may hold several statements, their `$n` parameters
    /// numbered across all of them, and run in one round trip with each
    /// statement's rows followed by its result (SQLite: one command to the
    /// connection's thread; PostgreSQL's extended protocol takes one statement
    /// per query).
    const BATCHES_STATEMENTS: bool;

    /// Opens a transaction that will write.
    fn begin_write(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send;
}

/// SQLite has one writer at a time: `BEGIN IMMEDIATE` takes the write lock up
/// front (waiting up to the busy timeout), so a transaction never fails half-way
/// on upgrading a read lock, and no other lock is needed.
impl Backend for Sqlite {
    const MIGRATIONS: &'static [Migration] = migrations::SQLITE;
    const MIGRATION_LOCK: Option<&'static str> = None;
    const MIGRATION_UNLIMITED: Option<&'static str> = None;
    const LOCK_BUCKET: Option<&'static str> = None;
    const LOCK_ADMINS: Option<&'static str> = None;
    const LOCK_USER: Option<&'static str> = None;
    const BATCHES_STATEMENTS: bool = true;
    const CLAIM_MAILS: &'static str = "UPDATE outbox SET locked_until = $2
         WHERE id IN (SELECT id FROM outbox
                      WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $1
                        AND (locked_until IS NULL OR locked_until <= $1)
                      ORDER BY id LIMIT $3)
         RETURNING id, recipient, subject, body_text, body_html, created_at, attempts";
    const CLAIM_WEBHOOKS: &'static str = "UPDATE webhook_deliveries SET locked_until = $2
         WHERE id IN (SELECT d.id FROM webhook_deliveries d
                      WHERE d.delivered_at IS NULL AND d.gave_up_at IS NULL AND d.next_attempt_at <= $1
                        AND (d.locked_until IS NULL OR d.locked_until <= $1)
                        AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                                        WHERE e.endpoint_id = d.endpoint_id AND e.user_id = d.user_id
                                          AND e.id < d.id AND e.delivered_at IS NULL AND e.gave_up_at IS NULL)
                      ORDER BY d.id LIMIT $3)
         RETURNING id, endpoint_id, event_id, event_type, payload, created_at, attempts";

    fn begin_write(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send {
        pool.begin_with("BEGIN IMMEDIATE")
    }
}

/// PostgreSQL serves many nodes: advisory locks serialise migrations and throttle
/// buckets, and claiming mails skips rows another node has locked.
impl Backend for Postgres {
    const MIGRATIONS: &'static [Migration] = migrations::POSTGRES;
    /// Key of the advisory lock taken while migrating ("portcul" in ASCII).
    const MIGRATION_LOCK: Option<&'static str> = Some("SELECT pg_advisory_xact_lock(7021786279601516)");
    /// Connections carry `database.statement_timeout`; a migration lifts it for
    /// its own transaction.
    const MIGRATION_UNLIMITED: Option<&'static str> = Some("SET LOCAL statement_timeout = 0");
    const LOCK_BUCKET: Option<&'static str> = Some("SELECT pg_advisory_xact_lock(hashtext($1))");
    /// A key of its own, next to the migrations' ("portcul" + 1).
    const LOCK_ADMINS: Option<&'static str> = Some("SELECT pg_advisory_xact_lock(7021786279601517)");
    const LOCK_USER: Option<&'static str> = Some("SELECT 1 FROM users WHERE id = $1 FOR UPDATE");
    const BATCHES_STATEMENTS: bool = false;
    const CLAIM_MAILS: &'static str = "UPDATE outbox SET locked_until = $2
         WHERE id IN (SELECT id FROM outbox
                      WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $1
                        AND (locked_until IS NULL OR locked_until <= $1)
                      ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING id, recipient, subject, body_text, body_html, created_at, attempts";
    const CLAIM_WEBHOOKS: &'static str = "UPDATE webhook_deliveries SET locked_until = $2
         WHERE id IN (SELECT d.id FROM webhook_deliveries d
                      WHERE d.delivered_at IS NULL AND d.gave_up_at IS NULL AND d.next_attempt_at <= $1
                        AND (d.locked_until IS NULL OR d.locked_until <= $1)
                        AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                                        WHERE e.endpoint_id = d.endpoint_id AND e.user_id = d.user_id
                                          AND e.id < d.id AND e.delivered_at IS NULL AND e.gave_up_at IS NULL)
                      ORDER BY d.id LIMIT $3 FOR UPDATE OF d SKIP LOCKED)
         RETURNING id, endpoint_id, event_id, event_type, payload, created_at, attempts";

    /// Begins a transaction on its own task, so that it cannot be cancelled half-way.
    ///
    /// sqlx 0.9's `Pool::begin` is not cancel-safe on PostgreSQL
    /// (<https://github.com/transact-rs/sqlx/issues/4393>): dropped while `BEGIN` is on
    /// the wire (a client that went away, a request timeout), it returns the
    /// connection to the pool inside a transaction nothing will end, and the next
    /// borrower's writes run in it, uncommitted. On a task of its own the begin
    /// always completes; if nobody waits for it any more, the transaction is dropped
    /// there, which rolls it back.
    async fn begin_write(pool: &Pool<Self>) -> Result<Transaction<'static, Self>, sqlx::Error> {
        let pool = pool.clone();
        tokio::spawn(async move { pool.begin().await })
            .await
            .map_err(|e| sqlx::Error::Io(std::io::Error::other(format!("beginning a transaction: {e}"))))?
    }
}

/// How many rows a statement changed. sqlx 0.9 has this as an inherent method of
/// each backend's result type only; as a bound on `Backend` it is implied wherever
/// `DB: Backend` is.
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}
