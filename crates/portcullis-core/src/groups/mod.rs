//! Groups: named sets of users, what authorization decisions are made of (SPEC §7).
//! The group `admin` always exists; membership in it is what "an administrator"
//! means everywhere.

pub(crate) mod service;
pub use service::PROTECTED;
pub mod store;

use std::fmt;

use time::OffsetDateTime;

/// A group with how many members it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: GroupName,
    pub description: String,
    pub created_at: OffsetDateTime,
    pub members: u64,
}

/// Who changed a group or a membership (the CLI is `cli`): one of the audit trail.
pub use crate::audit::{ActedBy, Actor};

/// Longest description kept.
pub const MAX_DESCRIPTION: usize = 256;

/// The group whose members are administrators.
pub const ADMIN: &str = "admin";

/// A valid group name: `[a-z0-9][a-z0-9_.-]{0,63}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupName(String);

impl GroupName {
    /// The name, if it is a valid group name (no normalisation: `Ops` is refused,
    /// not lowered, so a rule and a membership always spell a group the same way).
    pub fn parse(raw: &str) -> Option<Self> {
        is_valid(raw).then(|| Self(raw.to_owned()))
    }

    pub fn admin() -> Self {
        Self(ADMIN.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `raw` matches `[a-z0-9][a-z0-9_.-]{0,63}`.
pub fn is_valid(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let first_ok = bytes.first().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    first_ok
        && bytes.len() <= 64
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_follow_the_spec_pattern() {
        for ok in ["admin", "ops", "0", "a.b-c_d", &"a".repeat(64)] {
            assert!(GroupName::parse(ok).is_some(), "{ok} is a valid name");
        }
        for bad in ["", "Ops", "-ops", ".ops", "_ops", "op s", "ops,dev", "é", &"a".repeat(65), "ops*"] {
            assert!(GroupName::parse(bad).is_none(), "{bad:?} is not a valid name");
        }
    }
}
