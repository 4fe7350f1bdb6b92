//! User accounts as the rest of the system sees them (never with a password hash).

use std::fmt;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(Uuid);

impl UserId {
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Uuid::parse_str(raw).ok().map(Self)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for UserId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(clippy::struct_excessive_bools, reason = "independent flags of an account, as stored")]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub email_verified: bool,
    pub disabled: bool,
    pub mfa_enabled: bool,
    pub created_at: OffsetDateTime,
    /// The names of the user's groups, sorted by byte order, as of the moment the
    /// user was read.
    pub groups: Vec<String>,
    /// Invited and not yet accepted (SPEC §8): the stored hash is
    /// [`INVITED_PASSWORD_HASH`], so no password signs in until the invitation
    /// link sets one. Read from the hash by the store, not stored on its own.
    pub invited: bool,
}

impl User {
    /// Whether the user is in the group `admin` (SPEC §7: what "an administrator"
    /// means everywhere).
    pub fn is_admin(&self) -> bool {
        self.in_group(crate::groups::ADMIN)
    }

    pub fn in_group(&self, name: &str) -> bool {
        self.groups.binary_search_by(|g| g.as_str().cmp(name)).is_ok()
    }
}

/// The stored "password hash" of an invited account that has not accepted its
/// invitation (SPEC §8): not a PHC string, so no password ever verifies against it,
/// and the account shows as `invited` until the invitation is accepted.
pub const INVITED_PASSWORD_HASH: &str = "!invited";

/// The stored "password hash" of an account imported without one (SPEC §9) or
/// made through an upstream identity provider (§10): no password verifies against
/// it; a reset or an invitation sets one.
pub const NO_PASSWORD_HASH: &str = "!none";

/// Whether a stored hash is a marker ([`INVITED_PASSWORD_HASH`],
/// [`NO_PASSWORD_HASH`]) rather than a hash: every marker starts with `!`, which
/// no hash format does.
pub fn has_no_password(stored: &str) -> bool {
    stored.starts_with('!')
}

/// A user together with the stored password hash, for the login use case only.
#[derive(Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).field("password_hash", &"[redacted]").finish()
    }
}
