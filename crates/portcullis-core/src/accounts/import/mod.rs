//! Importing users with the password hashes of their old application (SPEC §9):
//! the file is read on a thread of its own, in batches, while the store checks
//! and inserts each batch inside one write transaction; any error, anywhere,
//! and the transaction is rolled back, so nothing is written. Memory stays
//! bounded by a few batches (the duplicate check is the database's).

pub(crate) mod parse;
pub mod store;

use std::collections::HashSet;
use std::fmt;
use std::io::Read;

use time::OffsetDateTime;

use crate::accounts::import::parse::{Parsed, Reader, Record};
use crate::accounts::import::store::{AddressCheck, ImportedUser, UserImport};
use crate::accounts::user::{NO_PASSWORD_HASH, UserId};
use crate::audit::{ActedBy, EventKind};
use crate::service::Auth;
use crate::store::StoreError;

pub use parse::{FIELDS, MAX_EXTERNAL_ID};

/// Lines per batch: one multi-row statement each (9 values a row, within
/// SQLite's 32,766 and PostgreSQL's 65,535 parameters).
pub const BATCH: usize = 500;

/// Batches read ahead of the database.
const READ_AHEAD: usize = 4;

/// How the file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Csv,
    Jsonl,
}

impl ImportFormat {
    /// From the file's extension: `.jsonl` and `.ndjson` are JSON Lines, anything
    /// else (stdin too) CSV.
    pub fn from_path(path: &str) -> Self {
        let extension = std::path::Path::new(path).extension().and_then(|e| e.to_str()).unwrap_or_default();
        if extension.eq_ignore_ascii_case("jsonl") || extension.eq_ignore_ascii_case("ndjson") {
            Self::Jsonl
        } else {
            Self::Csv
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    pub format: ImportFormat,
    /// Check everything, write nothing.
    pub dry_run: bool,
    /// An address that already has an account is skipped instead of an error.
    pub skip_existing: bool,
}

/// What is wrong with a line: `line N: FIELD: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub field: String,
    pub reason: String,
}

impl LineError {
    pub(crate) fn new(line: u64, field: &str, reason: impl Into<String>) -> Self {
        Self { line, field: field.to_owned(), reason: reason.into() }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.reason)
    }
}

/// What an import did, or (with errors, or a dry run) would have done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub imported: u64,
    pub skipped: u64,
    pub groups_created: u64,
    /// Lines with errors listed; when not zero nothing was written.
    pub errors: u64,
    /// The last line read.
    pub lines: u64,
    /// Whether the users were written (no error, not a dry run).
    pub committed: bool,
}

/// Told about each error (in line order) and about progress, as the import goes.
pub trait ImportReport: Send {
    fn error(&mut self, error: &LineError);
    /// `lines` read and checked so far.
    fn progress(&mut self, lines: u64);
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read the file: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Batch = Result<Vec<Parsed>, std::io::Error>;

impl Auth {
    /// Imports the users of `source` (SPEC §9), all or nothing: errors go to
    /// `report` as they are found, and any error leaves the database as it was.
    /// A committed import is audited as one `users_imported` event by the CLI.
    pub async fn import_users(
        &self,
        source: Box<dyn Read + Send>,
        options: ImportOptions,
        report: &mut dyn ImportReport,
    ) -> Result<ImportSummary, ImportError> {
        let now = self.clock.now();
        let (batches, mut incoming) = tokio::sync::mpsc::channel::<Batch>(READ_AHEAD);
        let reading =
            tokio::task::spawn_blocking(move || read_batches(source, options.format, now, &batches));
        let mut import = self.store.begin_import().await?;
        let mut summary = ImportSummary::default();
        let mut groups = HashSet::new();
        while let Some(batch) = incoming.recv().await {
            let batch = batch?;
            let mut errors = Vec::new();
            let rows = split(batch, &mut summary, &mut errors, now);
            add_batch(&mut *import, &rows, options, now, &mut groups, &mut summary, &mut errors).await?;
            errors.sort_by_key(|e| e.line);
            summary.errors += errors.len() as u64;
            for e in &errors {
                report.error(e);
            }
            report.progress(summary.lines);
        }
        drop(incoming);
        let _ = reading.await;
        if summary.errors == 0 && !options.dry_run {
            import.commit().await?;
            summary.committed = true;
            let detail = format!(
                "imported={},skipped={},groups_created={}",
                summary.imported, summary.skipped, summary.groups_created
            );
            self.audit_by(&ActedBy::cli(), EventKind::UsersImported, None, Some(&detail)).await;
        }
        Ok(summary)
    }
}

/// The valid lines of a batch as users to insert; the others' errors to `errors`.
fn split(
    batch: Vec<Parsed>,
    summary: &mut ImportSummary,
    errors: &mut Vec<LineError>,
    now: OffsetDateTime,
) -> Vec<ImportedUser> {
    let mut rows = Vec::with_capacity(batch.len());
    for parsed in batch {
        summary.lines = summary.lines.max(parsed.line);
        match parsed.record {
            Ok(record) => rows.push(to_user(record, now)),
            Err(found) => errors.extend(found),
        }
    }
    rows
}

fn to_user(r: Record, now: OffsetDateTime) -> ImportedUser {
    ImportedUser {
        line: r.line,
        id: UserId::new(),
        email: r.email.as_str().to_owned(),
        email_canonical: r.email.canonical().to_owned(),
        password_hash: r.password_hash.unwrap_or_else(|| NO_PASSWORD_HASH.to_owned()),
        email_verified: r.email_verified,
        created_at: r.created_at.unwrap_or(now),
        groups: r.groups,
        external_id: r.external_id,
    }
}

/// Creates the batch's new groups, checks its addresses, and inserts its users
/// while the file has had no error (after one, nothing will be committed: the
/// rest is only checked).
async fn add_batch(
    import: &mut dyn UserImport,
    rows: &[ImportedUser],
    options: ImportOptions,
    now: OffsetDateTime,
    known_groups: &mut HashSet<String>,
    summary: &mut ImportSummary,
    errors: &mut Vec<LineError>,
) -> Result<(), StoreError> {
    let mut new_groups = Vec::new();
    for group in rows.iter().flat_map(|r| &r.groups) {
        if known_groups.insert(group.as_str().to_owned()) {
            new_groups.push(group.clone());
        }
    }
    if !new_groups.is_empty() {
        summary.groups_created += import.ensure_groups(&new_groups, now).await?;
    }
    let insert = summary.errors == 0 && errors.is_empty();
    let checks = import.add(rows, insert, now).await?;
    for (row, check) in rows.iter().zip(checks) {
        match check {
            AddressCheck::New => summary.imported += 1,
            AddressCheck::Duplicate { first_line } => {
                errors.push(LineError::new(
                    row.line,
                    "email",
                    format!("the same address as line {first_line}"),
                ));
            }
            AddressCheck::Exists if options.skip_existing => summary.skipped += 1,
            AddressCheck::Exists => errors.push(LineError::new(
                row.line,
                "email",
                "a user with this address already exists (--skip-existing skips it)",
            )),
        }
    }
    Ok(())
}

/// Reads the whole source into batches for the channel; stops early if nobody
/// listens any more (the import failed).
fn read_batches(
    source: Box<dyn Read + Send>,
    format: ImportFormat,
    now: OffsetDateTime,
    out: &tokio::sync::mpsc::Sender<Batch>,
) {
    let mut reader = match Reader::new(source, format) {
        Ok(reader) => reader,
        Err(errors) => {
            let _ = out.blocking_send(Ok(vec![Parsed { line: 1, record: Err(errors) }]));
            return;
        }
    };
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(next) = reader.next_parsed(now) {
        match next {
            Ok(parsed) => batch.push(parsed),
            Err(e) => {
                let _ = out.blocking_send(Err(e));
                return;
            }
        }
        if batch.len() == BATCH
            && out.blocking_send(Ok(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))).is_err()
        {
            return;
        }
    }
    if !batch.is_empty() {
        let _ = out.blocking_send(Ok(batch));
    }
}
