//! What an import needs from storage: one write transaction that takes the file
//! batch by batch and is committed whole, or dropped (rolled back) whole.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::accounts::user::UserId;
use crate::groups::GroupName;
use crate::store::StoreError;

/// A valid line, ready to be a user.
pub struct ImportedUser {
    /// The line of the file, to name it in an error.
    pub line: u64,
    pub id: UserId,
    pub email: String,
    pub email_canonical: String,
    /// The hash as the old application stored it, or a marker
    /// ([`NO_PASSWORD_HASH`](crate::accounts::user::NO_PASSWORD_HASH)).
    pub password_hash: String,
    pub email_verified: bool,
    pub created_at: OffsetDateTime,
    pub groups: Vec<GroupName>,
    pub external_id: Option<String>,
}

impl std::fmt::Debug for ImportedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedUser")
            .field("line", &self.line)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// What the store found about a line's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressCheck {
    /// Neither in the database before the import nor earlier in the file.
    New,
    /// An earlier line of the file has the same (canonical) address.
    Duplicate { first_line: u64 },
    /// A user had the address before the import.
    Exists,
}

/// Starts imports.
#[async_trait]
pub trait ImportStore: Send + Sync + 'static {
    /// Opens the import's write transaction (on SQLite it holds the write lock
    /// until it ends).
    async fn begin_import(&self) -> Result<Box<dyn UserImport>, StoreError>;
}

/// An import in progress: everything it wrote is undone unless
/// [`commit`](UserImport::commit) is called; dropping it rolls back.
#[async_trait]
pub trait UserImport: Send {
    /// Creates the groups that do not exist yet; returns how many it created.
    async fn ensure_groups(&mut self, names: &[GroupName], now: OffsetDateTime) -> Result<u64, StoreError>;
    /// Checks each row's address against the file so far and the database (one
    /// answer per row, in order), and, with `insert`, inserts the `New` ones with
    /// their group memberships. Every row is remembered for the later batches'
    /// duplicate checks.
    async fn add(
        &mut self,
        rows: &[ImportedUser],
        insert: bool,
        now: OffsetDateTime,
    ) -> Result<Vec<AddressCheck>, StoreError>;
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}
