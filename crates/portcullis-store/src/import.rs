//! Importing users (SPEC §9): one write transaction for the whole file, fed
//! batch by batch. The addresses seen so far live in a temporary table of that
//! transaction (`import_addresses`: canonical address → first line), so a
//! duplicate is found by the database, in bounded memory, with the line it
//! repeats; the table is dropped before the commit, and a rollback undoes it
//! with everything else.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use portcullis_core::groups::GroupName;
use portcullis_core::store::{AddressCheck, ImportStore, ImportedUser, UserImport};
use sqlx::{AssertSqlSafe, Row as _, Transaction};
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::circuit::Circuit;
use crate::error::{Conflict as _, R, Result};

/// An import's transaction, and the circuit that bounds each of its steps.
pub(crate) struct SqlImport<DB: sqlx::Database> {
    tx: Transaction<'static, DB>,
    circuit: Arc<Circuit>,
}

#[async_trait]
#[generic_sql]
impl<DB> ImportStore for SqlStore<DB> {
    async fn begin_import(&self) -> R<Box<dyn UserImport>> {
        let tx = self
            .run(async {
                let mut tx = DB::begin_write(&self.pool).await?;
                sqlx::query(
                    "CREATE TEMPORARY TABLE import_addresses (email_canonical TEXT PRIMARY KEY, line BIGINT NOT NULL)",
                )
                .execute(&mut *tx)
                .await?;
                Ok(tx)
            })
            .await?;
        Ok(Box::new(SqlImport { tx, circuit: Arc::clone(&self.circuit) }))
    }
}

#[async_trait]
#[generic_sql]
impl<DB> UserImport for SqlImport<DB> {
    async fn ensure_groups(&mut self, names: &[GroupName], now: OffsetDateTime) -> R<u64> {
        let tx = &mut self.tx;
        self.circuit
            .run(async {
                let mut created = 0;
                for name in names {
                    created += sqlx::query(
                        "INSERT INTO access_groups (name, description, created_at) VALUES ($1, '', $2)
                         ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(name.as_str())
                    .bind(now.unix_timestamp())
                    .execute(&mut **tx)
                    .await?
                    .rows_affected();
                }
                Ok(created)
            })
            .await
    }

    async fn add(
        &mut self,
        rows: &[ImportedUser],
        insert: bool,
        now: OffsetDateTime,
    ) -> R<Vec<AddressCheck>> {
        let tx = &mut self.tx;
        self.circuit
            .run(async {
                let mut checks = check_in_file::<DB>(tx, rows).await?;
                check_existing::<DB>(tx, rows, &mut checks).await?;
                if insert {
                    let new: Vec<&ImportedUser> = rows
                        .iter()
                        .zip(&checks)
                        .filter(|(_, c)| **c == AddressCheck::New)
                        .map(|(r, _)| r)
                        .collect();
                    insert_users::<DB>(tx, &new, now).await?;
                }
                Ok(checks)
            })
            .await
    }

    /// Not bounded by the statement deadline: committing a large import writes
    /// what is left of it, and a commit must not be abandoned half-way.
    async fn commit(self: Box<Self>) -> R<()> {
        let mut tx = self.tx;
        let done: Result<()> = async {
            sqlx::query("DROP TABLE import_addresses").execute(&mut *tx).await?;
            tx.commit().await.conflict_on("email")?;
            Ok(())
        }
        .await;
        Ok(done?)
    }
}

/// `$1, $2, ...` in groups of `width`: `($1, $2), ($3, $4)` for two rows of two.
fn placeholders(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn list(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Records each row's address with its line; an address already recorded (by an
/// earlier batch or an earlier row of this one) is a duplicate of that line.
#[generic_sql]
async fn check_in_file<DB>(
    tx: &mut Transaction<'static, DB>,
    rows: &[ImportedUser],
) -> Result<Vec<AddressCheck>> {
    let mut checks = vec![AddressCheck::New; rows.len()];
    let mut first_here: HashMap<&str, u64> = HashMap::new();
    let mut fresh: Vec<&ImportedUser> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if let Some(&first_line) = first_here.get(row.email_canonical.as_str()) {
            checks[i] = AddressCheck::Duplicate { first_line };
        } else {
            first_here.insert(&row.email_canonical, row.line);
            fresh.push(row);
        }
    }
    if fresh.is_empty() {
        return Ok(checks);
    }
    let sql = format!(
        "SELECT email_canonical, line FROM import_addresses WHERE email_canonical IN ({})",
        list(fresh.len())
    );
    let mut seen = sqlx::query(AssertSqlSafe(sql));
    for row in &fresh {
        seen = seen.bind(row.email_canonical.as_str());
    }
    let mut earlier: HashMap<String, u64> = HashMap::new();
    for found in seen.fetch_all(&mut **tx).await? {
        let line: i64 = found.try_get("line")?;
        earlier.insert(found.try_get("email_canonical")?, u64::try_from(line).unwrap_or(0));
    }
    let record: Vec<&ImportedUser> =
        fresh.into_iter().filter(|r| !earlier.contains_key(&r.email_canonical)).collect();
    for (i, row) in rows.iter().enumerate() {
        if let Some(&first_line) = earlier.get(&row.email_canonical)
            && checks[i] == AddressCheck::New
        {
            checks[i] = AddressCheck::Duplicate { first_line };
        }
    }
    if !record.is_empty() {
        let sql = format!(
            "INSERT INTO import_addresses (email_canonical, line) VALUES {}",
            placeholders(record.len(), 2)
        );
        let mut insert = sqlx::query(AssertSqlSafe(sql));
        for row in &record {
            insert =
                insert.bind(row.email_canonical.as_str()).bind(i64::try_from(row.line).unwrap_or(i64::MAX));
        }
        insert.execute(&mut **tx).await?;
    }
    Ok(checks)
}

/// Marks `Exists` the rows still `New` whose address has an account: since the
/// duplicates of the file are already marked, such an account predates the import.
#[generic_sql]
async fn check_existing<DB>(
    tx: &mut Transaction<'static, DB>,
    rows: &[ImportedUser],
    checks: &mut [AddressCheck],
) -> Result<()> {
    let candidates: Vec<&ImportedUser> =
        rows.iter().zip(checks.iter()).filter(|(_, c)| **c == AddressCheck::New).map(|(r, _)| r).collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let sql =
        format!("SELECT email_canonical FROM users WHERE email_canonical IN ({})", list(candidates.len()));
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for row in &candidates {
        query = query.bind(row.email_canonical.as_str());
    }
    let mut taken = std::collections::HashSet::new();
    for found in query.fetch_all(&mut **tx).await? {
        taken.insert(found.try_get::<String, _>("email_canonical")?);
    }
    for (row, check) in rows.iter().zip(checks.iter_mut()) {
        if *check == AddressCheck::New && taken.contains(&row.email_canonical) {
            *check = AddressCheck::Exists;
        }
    }
    Ok(())
}

/// One multi-row INSERT for the users, one for their memberships.
#[generic_sql]
async fn insert_users<DB>(
    tx: &mut Transaction<'static, DB>,
    users: &[&ImportedUser],
    now: OffsetDateTime,
) -> Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO users (id, email, email_canonical, password_hash, email_verified, created_at, updated_at,
             password_changed_at, external_id)
         VALUES {}",
        placeholders(users.len(), 9)
    );
    let mut insert = sqlx::query(AssertSqlSafe(sql));
    for u in users {
        insert = insert
            .bind(u.id.to_string())
            .bind(u.email.as_str())
            .bind(u.email_canonical.as_str())
            .bind(u.password_hash.as_str())
            .bind(u.email_verified)
            .bind(u.created_at.unix_timestamp())
            .bind(now.unix_timestamp())
            .bind(now.unix_timestamp())
            .bind(u.external_id.as_deref());
    }
    insert.execute(&mut **tx).await.conflict_on("email")?;
    let members: Vec<(&ImportedUser, &GroupName)> =
        users.iter().flat_map(|u| u.groups.iter().map(move |g| (*u, g))).collect();
    for chunk in members.chunks(MEMBERS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO group_members (group_name, user_id, added_at) VALUES {}",
            placeholders(chunk.len(), 3)
        );
        let mut insert = sqlx::query(AssertSqlSafe(sql));
        for (user, group) in chunk {
            insert = insert.bind(group.as_str()).bind(user.id.to_string()).bind(now.unix_timestamp());
        }
        insert.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Memberships per INSERT (3 values each).
const MEMBERS_PER_STATEMENT: usize = 2_000;
